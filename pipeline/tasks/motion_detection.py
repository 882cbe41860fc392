"""motion_detection: frames of one clip in time order, each with the time it was taken; what moved,
and which way, between two frames the question names by their times.

The text binds each frame's time to it ("<image> was taken at 1.5 s."; frames without a time get
their place, "<image> is the third frame."); the question names two frames that way only, so a
reader has to find them through the text and compare the boxes in the pictures. Reasoning steps
describe moves in words (a share of the frame's width or height), never in pixels.
"""
import dataclasses
import hashlib
import itertools
import math
from collections.abc import Callable

from .base import (Question, Task, apart_by, attribute, colour_marks, count_word, displacement, frame_texts,
                   interleaved, joined, link, listed, marks_drawn, move_in_words, plural, region_ref, regions,
                   sentence, shown_in_frame, tell_apart, text2region, tracks, visible)

STILL_PX = 4           # a track whose centre moves less than this many pixels did not move
VISIBLE = 0.05         # a move under this share of the frame's width (and not still) is too small to judge
DIAGONAL = 0.4         # both components above this share of the distance: a diagonal move
NEAR_EDGE = (0.3, 0.55)  # minor component's share of the distance where a diagonal and a straight move blur
# Members of a crowd the text says "stay where they are" move less than this share of the frame's
# width (ground-truth boxes of people standing still jitter by a few pixels).
STAYS = 0.015
LEAD = 1.5             # "covers the most ground": at least this many times as far as any other
STILL = "it does not move"
DIRECTIONS = ("to the left", "to the right", "upwards", "downwards", "up and to the left", "up and to the right",
              "down and to the left", "down and to the right", STILL)


def direction(dx: float, dy: float) -> str:
    """The direction of a move in image coordinates (y grows downwards), in words."""
    distance = math.hypot(dx, dy)
    if distance < STILL_PX:
        return STILL
    vertical = "up" if dy < 0 else "down"
    horizontal = "to the left" if dx < 0 else "to the right"
    if abs(dx) > DIAGONAL * distance and abs(dy) > DIAGONAL * distance:
        return f"{vertical} and {horizontal}"
    return horizontal if abs(dx) >= abs(dy) else f"{vertical}wards"


def defensible(dx: float, dy: float) -> set:
    """Every direction a reader could defend for a move: its own, and, when the move runs close to
    the line between a diagonal and a straight direction, the neighbour across that line."""
    moved = direction(dx, dy)
    distance = math.hypot(dx, dy)
    if moved == STILL or not NEAR_EDGE[0] < min(abs(dx), abs(dy)) / distance < NEAR_EDGE[1]:
        return {moved}
    vertical = "up" if dy < 0 else "down"
    horizontal = "to the left" if dx < 0 else "to the right"
    straight = horizontal if abs(dx) >= abs(dy) else f"{vertical}wards"
    return {moved, straight, f"{vertical} and {horizontal}"}


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth")


def _seconds(t) -> str:
    return f"{t:g} s"


def _timed(ctx) -> bool:
    """Can the text name every frame by its time (each frame has one, and no two share it)?"""
    times = [m.get("timestamp") for m in ctx.metadata]
    return all(isinstance(t, (int, float)) for t in times) and len(set(times)) == len(times)


def _frame(ctx, image: int) -> str:
    """How the text names a frame: by the time it was taken, or (frames without times) by its place."""
    if _timed(ctx):
        return f"the frame taken at {_seconds(ctx.metadata[image - 1]['timestamp'])}"
    return f"the {_ORDINALS[image - 1]} frame"


def _told(ctx) -> str:
    return "when each frame was taken" if _timed(ctx) else "where each frame comes in the clip"


def _frame_texts(ctx) -> list:
    """Per frame, in time order, the time it was taken (or its place): how the question's frames are found."""
    timed = _timed(ctx)
    return frame_texts(ctx, "These frames come from one clip, in time order.",
                       lambda i, m: f"was taken at {_seconds(m['timestamp'])}" if timed else f"is the {_ORDINALS[i - 1]} frame")


def _captions(ctx) -> list:
    """What each frame shows, opened by how the text names it (so captions of similar frames differ)."""
    return [f"{sentence(_frame(ctx, i))}: {shown_in_frame(m)}"
            for i, m in enumerate(ctx.metadata, start=1)]


def _all_moves(ctx, a: int, b: int) -> list:
    """Per track seen in both image ``a`` and image ``b``: a dict with its name ("the car"), its
    boxes there, how far its centre moves (px), its direction, the directions a reader could defend
    and whether the move is clear (still, or large enough to judge)."""
    out = []
    for track, seen in tracks(ctx).items():
        at = dict(seen)
        if a not in at or b not in at:
            continue
        dx, dy = displacement(ctx, [(a, at[a]), (b, at[b])])
        clear = not STILL_PX <= math.hypot(dx, dy) < VISIBLE * ctx.sizes[a - 1][0]
        out.append({"label": f"the {at[a]['label']}", "kind": at[a]["label"], "track": track, "seen": seen,
                    "a": a, "b": b, "first": at[a], "last": at[b], "distance": math.hypot(dx, dy), "clear": clear,
                    "direction": direction(dx, dy), "defensible": defensible(dx, dy),
                    "extent": move_in_words(ctx, a, dx, dy)})
    return out


def _kin(ctx, image: int, kind: str) -> list:
    return [r for r in regions(ctx.metadata[image - 1]) if r["label"] == kind]


def _moves(ctx, a: int, b: int) -> list:
    """The moves (``_all_moves``) of objects the text can name by their kind: no other region of
    image ``a`` or ``b`` shares it, and a viewer can find the object in both."""
    return [m for m in _all_moves(ctx, a, b)
            if len(_kin(ctx, a, m["kind"])) == len(_kin(ctx, b, m["kind"])) == 1
            and visible(ctx, a, m["first"]) and visible(ctx, b, m["last"])]


def crowds(ctx, a: int, b: int) -> list:
    """Sets of two or three objects of one kind a text can name as a set between image ``a`` and
    image ``b``, where their kind is shared, so never by its name alone: all of that kind ("the two
    pedestrians"), or, of more, the ones that visibly move while each of the others moves less than
    STAYS of the frame's width ("two of the pedestrians move ...; the other pedestrians stay where
    they are"). Every region of the kind in either frame must belong to a track seen in both and be
    findable, so the set is what the text says it is. Each set is {"moves" (``_all_moves``),
    "kind", "which" (how the text names it), "setting" (a sentence the text opens with, or "")}."""
    width = ctx.sizes[a - 1][0]
    found = []
    by_kind = {}
    for move in _all_moves(ctx, a, b):
        by_kind.setdefault(move["kind"], []).append(move)
    for kind, moves in sorted(by_kind.items()):
        if not (len(moves) >= 2 and len(_kin(ctx, a, kind)) == len(_kin(ctx, b, kind)) == len(moves)):
            continue
        if not all(visible(ctx, a, m["first"]) and visible(ctx, b, m["last"]) for m in moves):
            continue
        many = plural(kind)
        if len(moves) <= 3:
            found.append({"moves": moves, "kind": kind, "which": f"the {count_word(len(moves)).lower()} {many}",
                          "setting": ""})
            continue
        moving = [m for m in moves if m["distance"] >= VISIBLE * width]
        if 2 <= len(moving) <= 3 and all(m["distance"] < STAYS * width for m in moves if m not in moving):
            count = count_word(len(moving))
            found.append({"moves": moving, "kind": kind, "which": f"the {count.lower()} that move",
                          "setting": f"{count} of the {many} move between {_frame(ctx, a)} and {_frame(ctx, b)}; "
                                     f"the other {many} stay where they are. "})
        elif marks_drawn(ctx, a):
            # Any two or three of the crowd, each pointed at by a box of its own colour in frame a.
            found.append({"moves": moves, "kind": kind, "which": "", "setting": "", "marked": True})
    return found


def casts(ctx, a: int, b: int) -> list:
    """Every set of objects a question about image ``a`` and image ``b`` can ask about, shaped as
    ``crowds``' sets: the objects named by their kind (two or more, their "kind" None; a question
    lists those it asks about, "the bicycle and the car"), then each crowd."""
    named = _moves(ctx, a, b)
    by_name = {"moves": named, "kind": None, "which": "", "setting": ""}   # listed by the names of those asked about
    return ([by_name] if len(named) >= 2 else []) + crowds(ctx, a, b)


def told(ctx, cast: dict, moves: list, avoid: str = ""):
    """How a question tells ``moves`` (two or three) apart, as (way, ``members_called``, marks): by
    what the earlier frame shows (``tell_apart``), or, where no words can and the build draws marks,
    by a box of its own colour around each in that frame (way "marks"); None when neither can."""
    if not cast.get("marked"):
        apart = tell_apart([m["first"] for m in moves], avoid=avoid)
        if apart is not None:
            way, words = apart
            return way, members_called(cast, moves, [words[k] for k in range(len(moves))]), {}
    if not marks_drawn(ctx, moves[0]["a"]):
        return None
    words, marks = colour_marks(moves[0]["a"], [m["first"] for m in moves])
    return "marks", members_called(cast, moves, words), marks


def which_named(cast: dict, shown: list, marks: dict) -> str:
    """How a question names the objects it asks about: a crowd's words, its marked members by their
    boxes ("the two pedestrians in the red and blue boxes"), or the names of those it lists."""
    if cast.get("marked"):
        colours = joined([mark["colour"] for drawn in marks.values() for mark in drawn])
        return f"the {count_word(len(shown)).lower()} {plural(cast['kind'])} in the {colours} boxes"
    return cast["which"] if cast["kind"] else listed([m["label"] for m in shown])


def members_called(cast: dict, moves: list, words: list) -> list:
    """``moves`` with the words that tell them apart ("the one further left"); in a crowd, each
    named by them ("the pedestrian further left"), since its kind alone names several."""
    if cast["kind"] is None:
        return [dict(m, words=w) for m, w in zip(moves, words)]
    return [dict(m, words=w, label=w.replace("one", cast["kind"], 1)) for m, w in zip(moves, words)]


def pick(ctx, candidates: list, salt: str):
    """One candidate, the same whichever rng the template is given (the question's subject is fixed by
    the context), drawn by a hash of the context's labels, boxes and times; None when there are none."""
    key = repr((salt, [(r["label"], r["bbox"]) for m in ctx.metadata for r in regions(m)],
                [m.get("timestamp") for m in ctx.metadata]))
    digest = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    return candidates[digest % len(candidates)] if candidates else None


def too_little_motion(ctx, share: float):
    """("too_little_motion", why) when no tracked object's centre moves ``share`` of the frame's width
    between any two frames of the context (a 30 fps clip's consecutive frames): no motion question can
    be seen there; None otherwise."""
    moved = [math.hypot(*displacement(ctx, [first, last])) / ctx.sizes[first[0] - 1][0]
             for seen in tracks(ctx).values() for k, first in enumerate(seen) for last in seen[k + 1:]]
    if not moved or max(moved) >= share:
        return None
    times = [m.get("timestamp") for m in ctx.metadata]
    span = f" over {times[-1] - times[0]:g} s" if _timed(ctx) and times[-1] > times[0] else ""
    return ("too_little_motion",
            f"too little motion: no tracked object moves more than {max(moved):.1%} of the frame's width between "
            f"these {len(ctx)} frames{span} ({share:.0%} is needed to see it); a mot source's frame_step spaces "
            "its frames further apart")


@dataclasses.dataclass(frozen=True)
class TrackTask(Task):
    """A task over tracked objects; ``unfit(ctx)`` says why a context gives none of its questions
    ((reason, detail)), or None when it cannot tell: the grounded drafter's reject then says so."""
    unfit: Callable | None = None


def _said(ctx, move) -> str:
    if move["direction"] == STILL:
        return f"{move['label']} stays where it is"
    return f"{move['label']} moves {move['direction']}, by {move['extent']}"


def _grounding(ctx, moves) -> tuple:
    t2r, r2r = [], []
    for move in moves:
        a, b = move["a"], move["b"]
        t2r += [text2region(move["label"], a, move["first"]), text2region(move["label"], b, move["last"])]
        r2r.append(link(region_ref(a, move["first"]), region_ref(b, move["last"]),
                        "stays at" if move["direction"] == STILL else "moves to",
                        f"From {_frame(ctx, a)} to {_frame(ctx, b)}, {_said(ctx, move)}."))
    return t2r, r2r


def _between(ctx, a: int, b: int) -> str:
    return f"Between {_frame(ctx, a)} and {_frame(ctx, b)}"


def _pairs(ctx) -> list:
    """Frame pairs (earlier, later) the text can name."""
    if not _timed(ctx) and len(ctx) > len(_ORDINALS):
        return []
    return [(a, b) for a in range(1, len(ctx) + 1) for b in range(a + 1, len(ctx) + 1)]


def direction_between_times(ctx, rng):
    """Which way one moving object goes between two frames named by their times. The direction asked
    about is drawn first, evenly among those some object takes, so a clip where most things move
    one way does not make that way the usual answer."""
    choices = {}
    for a, b in _pairs(ctx):
        for m in _moves(ctx, a, b):
            if m["clear"] and m["direction"] != STILL:
                choices.setdefault(m["direction"], []).append(m)
    if not choices:
        return None
    move = rng.choice(choices[rng.choice(sorted(choices))])
    moved = move["direction"]
    t2r, r2r = _grounding(ctx, [move])
    # The options are the four directions of the answer's family, straight or diagonal: always the
    # same set, so none stands out as unlike the rest. A straight move near a diagonal (or the other
    # way) has no defensible neighbour among them.
    plausible = [d for d in DIRECTIONS if d != STILL and (" and " in d) == (" and " in moved) and d != moved]
    return Question(
        template="direction_between_times",
        text=interleaved(_frame_texts(ctx),
                         f"{_between(ctx, move['a'], move['b'])}, in which direction does "
                         f"{move['label']} travel, judging by its centre?"),
        answer=moved,
        distractors=rng.sample(plausible, 3),
        summary=f"The text says {_told(ctx)}; the two frames it names are found that way, and "
                f"the position of {move['label']} in them gives its direction.",
        captions=_captions(ctx), text2region=t2r, region2region=r2r,
        rationale=f"{_between(ctx, move['a'], move['b'])}, {_said(ctx, move)}.",
        verified_by="metadata:track_boxes")


def _which_of(ctx, cast, move, which: str) -> str:
    """The opening of a question about ``which`` objects: a crowd's setting already names the two
    frames ("Two of the pedestrians move between ...; ... Which of the two that move")."""
    if cast["setting"]:
        return f"{cast['setting']}Which of {which}"
    return f"{_between(ctx, move['a'], move['b'])}, which of {which}"


def object_moving_between_times(ctx, rng):
    """Which object moves in a drawn direction between two frames named by their times: one that
    exactly one object of a set (``casts``) takes and that no other object's move could be read as.
    Objects named by their kind are listed in no order (up to three of them, the winner and up to
    two others); a crowd's set is asked about whole. The options tell the objects apart by what the
    earlier frame shows, in words that share none with the direction asked about."""
    choices = []
    for a, b in _pairs(ctx):
        for cast in casts(ctx, a, b):
            moves = cast["moves"]
            if not all(m["clear"] for m in moves):
                continue
            for move in moves:
                wanted = move["direction"]
                if wanted != STILL and not any(wanted in other["defensible"] for other in moves if other is not move):
                    choices.append((cast, move))
    rng.shuffle(choices)
    for cast, winner in choices:
        moves = cast["moves"]
        if cast["kind"] is None or cast.get("marked"):
            # Up to two other objects: three options at most, the objects in track order.
            picked = rng.sample([m for m in moves if m is not winner], min(2, len(moves) - 1))
            moves = [m for m in moves if m is winner or any(m is p for p in picked)]
        found = told(ctx, cast, moves, avoid=winner["direction"])
        if found is not None:
            way, shown, marks = found
            return _object_moving(ctx, cast, shown[moves.index(winner)], shown, way, marks)
    return None


def _object_moving(ctx, cast, winner, shown, way, marks):
    wanted = winner["direction"]
    return _set_question(ctx, "object_moving_between_times", cast, winner, shown, way, marks,
                         asks=f"moves {wanted}",
                         shows="the listed objects' positions show which way each goes",
                         verdict=f"Only {winner['label']}, {winner['words']}, moves {wanted}.")


def _set_question(ctx, template: str, cast, winner, shown, way, marks, *, asks: str, shows: str, verdict: str):
    """A question about which of a set of objects (``shown``, told apart ``way``) ``asks`` ("moves
    left") between the two frames the winner's move spans; ``shows`` what the frames show, for the
    summary, and ``verdict`` the rationale's last sentence."""
    t2r, r2r = _grounding(ctx, shown)
    return Question(
        template=template,
        text=interleaved(_frame_texts(ctx),
                         f"{_which_of(ctx, cast, winner, which_named(cast, shown, marks))}, told apart by "
                         f"{apart_by(way, _frame(ctx, winner['a']))}, {asks}, judging by its centre?"),
        answer=winner["words"],
        distractors=[m["words"] for m in shown if m is not winner],
        summary=f"The text says {_told(ctx)}; in the two frames it names, {shows}.",
        captions=_captions(ctx), text2region=t2r, region2region=r2r,
        rationale=f"{_between(ctx, winner['a'], winner['b'])}, " + "; ".join(_said(ctx, m) for m in shown)
                  + f". {verdict}",
        verified_by="metadata:track_boxes", marks=marks)


def _asked_sets(cast) -> list:
    """The sets of objects of a cast a question may list (two or three, in track order): a crowd's whole
    set (the text names no part of it), or any two or three of the objects named by their kind."""
    if cast["kind"] is not None and not cast.get("marked"):
        return [cast["moves"]]
    return [list(s) for size in (3, 2) for s in itertools.combinations(cast["moves"], size)]


def farthest_between_times(ctx, rng):
    """Which object of a set (``casts``: up to three) covers the most ground between two frames named
    by their times: one that visibly moves and covers at least LEAD times as much as any other.
    Objects going the same way at different speeds (two walkers among people standing) give this
    question where "which one moves right" has two answers. The options tell the objects apart by
    what the earlier frame shows. The frames and the set are fixed by the context (``pick``), not
    drawn by ``rng``: what the question asks about is decided by the clip."""
    candidates = []
    for a, b in _pairs(ctx):
        for cast, moves in ((c, asked) for c in casts(ctx, a, b) for asked in _asked_sets(c)):
            ranked = sorted(moves, key=lambda m: m["distance"], reverse=True)
            if ranked[0]["distance"] < VISIBLE * ctx.sizes[a - 1][0] or ranked[0]["distance"] < LEAD * ranked[1]["distance"]:
                continue
            found = told(ctx, cast, moves)
            if found is not None:
                way, shown, marks = found
                candidates.append((cast, shown, shown[moves.index(ranked[0])], way, marks))
    chosen = pick(ctx, candidates, "farthest")
    if chosen is None:
        return None
    cast, shown, winner, way, marks = chosen
    return _set_question(ctx, "farthest_between_times", cast, winner, shown, way, marks,
                         asks="covers the most ground",
                         shows="how far each listed object's position shifts shows which covers the most ground",
                         verdict=f"{sentence(winner['label'])}, {winner['words']}, clearly covers the most ground.")


TASK = TrackTask(id="motion_detection", category="sequential", grouping="sequence",
                 needs=lambda metadata: any(attribute(r, "track_id") for r in regions(metadata)),
                 templates=(direction_between_times, object_moving_between_times, farthest_between_times),
                 unfit=lambda ctx: too_little_motion(ctx, VISIBLE))
