"""motion_detection: frames of one clip in time order, each with the time it was taken; what moved,
and which way, between two frames the question names by their times.

The text binds each frame's time to it ("<image> was taken at 1.5 s."; frames without a time get
their place, "<image> is the third frame."); the question names two frames that way only, so a
reader has to find them through the text and compare the boxes in the pictures. Reasoning steps
describe moves in words (a share of the frame's width or height), never in pixels.
"""
import math

from .base import (Question, Task, apart_by, attribute, displacement, frame_texts, interleaved, link, listed,
                   move_in_words, region_ref, regions, sentence, shown_in_frame, tell_apart, text2region, tracks)

STILL_PX = 4           # a track whose centre moves less than this many pixels did not move
VISIBLE = 0.05         # a move under this share of the frame's width (and not still) is too small to judge
DIAGONAL = 0.4         # both components above this share of the distance: a diagonal move
NEAR_EDGE = (0.3, 0.55)  # minor component's share of the distance where a diagonal and a straight move blur
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


def _moves(ctx, a: int, b: int) -> list:
    """Per track seen in both image ``a`` and image ``b`` (labels distinct): a dict with its label, its
    boxes there, its direction, the directions a reader could defend and whether the move is clear
    (still, or large enough to judge); none when labels repeat."""
    out = []
    for seen in tracks(ctx).values():
        at = dict(seen)
        if a not in at or b not in at:
            continue
        dx, dy = displacement(ctx, [(a, at[a]), (b, at[b])])
        clear = not STILL_PX <= math.hypot(dx, dy) < VISIBLE * ctx.sizes[a - 1][0]
        out.append({"label": f"the {at[a]['label']}", "a": a, "b": b, "first": at[a], "last": at[b], "clear": clear,
                    "direction": direction(dx, dy), "defensible": defensible(dx, dy), "extent": move_in_words(ctx, a, dx, dy)})
    labels = [m["label"] for m in out]
    return out if len(set(labels)) == len(labels) else []


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


def object_moving_between_times(ctx, rng):
    """Which object moves in a drawn direction between two frames named by their times: one that
    exactly one object takes and that no other object's move could be read as. The objects are
    listed by name in no order, and the options tell them apart by what the earlier frame shows,
    in words that share none with the direction asked about."""
    choices = []
    for a, b in _pairs(ctx):
        moves = _moves(ctx, a, b)
        if len(moves) < 2 or not all(m["clear"] for m in moves):
            continue
        for move in moves:
            wanted = move["direction"]
            if wanted != STILL and not any(wanted in other["defensible"] for other in moves if other is not move):
                choices.append((moves, move))
    rng.shuffle(choices)
    for moves, winner in choices:
        others = [m for m in moves if m is not winner]
        # Up to two other objects: three options at most, the objects in track order.
        picked = rng.sample(others, min(2, len(others)))
        shown = [m for m in moves if m is winner or any(m is p for p in picked)]
        apart = tell_apart([m["first"] for m in shown], avoid=winner["direction"])
        if apart is not None:
            return _object_moving(ctx, winner, shown, *apart)
    return None


def _object_moving(ctx, winner, shown, way, words):
    wanted = winner["direction"]
    called = {id(m): words[k] for k, m in enumerate(shown)}
    t2r, r2r = _grounding(ctx, shown)
    listing = listed([m["label"] for m in shown])
    return Question(
        template="object_moving_between_times",
        text=interleaved(_frame_texts(ctx),
                         f"{_between(ctx, winner['a'], winner['b'])}, which of {listing}, told apart by "
                         f"{apart_by(way, _frame(ctx, winner['a']))}, moves {wanted}, judging by its centre?"),
        answer=called[id(winner)],
        distractors=[called[id(m)] for m in shown if m is not winner],
        summary=f"The text says {_told(ctx)}; in the two frames it names, the listed objects' "
                "positions show which way each goes.",
        captions=_captions(ctx), text2region=t2r, region2region=r2r,
        rationale=f"{_between(ctx, winner['a'], winner['b'])}, " + "; ".join(_said(ctx, m) for m in shown)
                  + f". Only {winner['label']}, {called[id(winner)]}, moves {wanted}.",
        verified_by="metadata:track_boxes")


TASK = Task(id="motion_detection", category="sequential", grouping="sequence",
            needs=lambda metadata: any(attribute(r, "track_id") for r in regions(metadata)),
            templates=(direction_between_times, object_moving_between_times))
