"""speed_comparison: frames of one clip, each with the time it was taken; which tracked object is faster.

The text binds each frame's time to it ("<image> was taken at 0.5 s."), so a reader has to
combine the times the text states with the distances the pictures show. The objects are listed by
name in no order and the options tell them apart by what a frame shows ("the one further left in
the frame taken at 0 s"): a name would let knowledge answer (a motorcycle outruns a cat). Reasoning
steps describe distances in words (a share of the frame's width or height), never in pixels.
"""
import math

from .base import (Question, apart_by, attribute, displacement, frame_texts, interleaved, link, listed,
                   move_in_words, region_ref, regions, sentence, shown_in_frame, text2region, told_apart_in, tracks)
from .motion_detection import TrackTask, crowds, pick, too_little_motion

RATIO = 1.3                 # the faster speed must beat the slower by this factor
MISLEADS = 1.25             # "longer run" questions: the slower object covers this much more ground
LONGER = 1.5                # the two runs of a question last at least this many times as long as each other
VISIBLE = 0.04              # a run shorter than this share of the frame's width is too small to judge


def _seconds(t) -> str:
    return f"{t:g} s"


def _time(ctx, image: int) -> float:
    return ctx.metadata[image - 1]["timestamp"]


def _frame_texts(ctx) -> list:
    """Per frame, in time order, the time it was taken (the facts the question's arithmetic uses)."""
    return frame_texts(ctx, "These frames come from one clip.", lambda i, m: f"was taken at {_seconds(m['timestamp'])}")


def frame_caption(metadata: dict) -> str:
    """What the frame shows, with the time the text gives for it (so captions of similar frames differ)."""
    return f"The frame taken at {_seconds(metadata['timestamp'])}: {shown_in_frame(metadata)}"


def _label(seen) -> str:
    return f"the {seen[0][1]['label']}"


def _run(ctx, seen, a: int, b: int) -> dict:
    """The run of one track from image ``a`` to image ``b``: distance (px), time, speed (px/s)."""
    at = dict(seen)
    dx, dy = displacement(ctx, [(a, at[a]), (b, at[b])])
    distance, elapsed = math.hypot(dx, dy), _time(ctx, b) - _time(ctx, a)
    return {"label": _label(seen), "seen": seen, "a": a, "b": b, "first": at[a], "last": at[b], "distance": distance,
            "extent": move_in_words(ctx, a, dx, dy), "elapsed": elapsed, "speed": distance / elapsed if elapsed > 0 else 0.0}


def _timed_in_order(ctx) -> bool:
    """Does every frame have its own time, later frames later (the text names frames by time)?"""
    times = [m.get("timestamp") for m in ctx.metadata]
    return all(isinstance(t, (int, float)) for t in times) and all(b > a for a, b in zip(times, times[1:]))


def _tracks(ctx) -> list:
    """Tracks (each [(image, region)] in time order) with distinct labels, or none; none either
    unless the frames are timed in order (``_timed_in_order``)."""
    if not _timed_in_order(ctx):
        return []
    found = list(tracks(ctx).values())
    labels = [_label(seen) for seen in found]
    return found if len(found) >= 2 and len(set(labels)) == len(labels) else []


def _grounding(ctx, runs) -> tuple:
    """Text2Region on each run's first and last box; Region2Region from each first box to its last."""
    t2r, r2r = [], []
    for run in runs:
        t2r += [text2region(run["label"], run["a"], run["first"]), text2region(run["label"], run["b"], run["last"])]
        r2r.append(link(region_ref(run["a"], run["first"]), region_ref(run["b"], run["last"]), "moves to",
                        f"From the frame taken at {_seconds(_time(ctx, run['a']))} to the one taken at "
                        f"{_seconds(_time(ctx, run['b']))}, {run['label']} moves "
                        f"{run['extent']}."))
    return t2r, r2r


def _told_apart(ctx, runs):
    """(the frame the runs' objects are told apart in, the way, words per run), or None."""
    return told_apart_in(ctx, [r["seen"] for r in runs])


def _following(ctx, runs, frame: int, way: str, which: str = "") -> str:
    """How the text introduces the objects it follows (``which``: a crowd's words, else their names)."""
    listing = which or listed([r["label"] for r in runs])
    return (f"The clip follows {listing}; tell them apart by "
            f"{apart_by(way, f'the frame taken at {_seconds(_time(ctx, frame))}')}.")


def _crowd_runs(ctx):
    """(a crowd's runs from the first frame to the last, the crowd) when the objects share a kind and
    a crowd of them (``motion_detection.crowds``) moves between those frames; None otherwise. Each
    run is named by where the frame its objects are told apart in shows it ("the pedestrian further
    left"), since its kind names several."""
    found = tracks(ctx)
    for crowd in crowds(ctx, 1, len(ctx)):
        runs = [_run(ctx, found[m["track"]], 1, len(ctx)) for m in crowd["moves"]]
        apart = _told_apart(ctx, runs)
        if apart is not None:
            frame, way, words = apart
            named = [dict(r, label=w.replace("one", crowd["kind"], 1)) for r, w in zip(runs, words)]
            return named, crowd, (frame, way, words)
    return None


def fastest_object(ctx, rng):
    """Which object covers the most ground per second, each over the frames it appears in; the objects
    are listed by name in no order and the options tell them apart by what the frames show. Objects
    of one kind are a crowd (``motion_detection.crowds``), each followed from the first frame to the
    last and named only by where it is or how large it looks."""
    runs, crowd, apart = _tracks(ctx), None, None
    if runs:
        runs = [_run(ctx, seen, seen[0][0], seen[-1][0]) for seen in runs]
    elif _timed_in_order(ctx) and (found := _crowd_runs(ctx)):
        runs, crowd, apart = found
    ranked = sorted(runs, key=lambda r: r["speed"], reverse=True)
    if not 2 <= len(ranked) <= 3 or any(r["elapsed"] <= 0 for r in ranked) or ranked[0]["speed"] < RATIO * ranked[1]["speed"]:
        return None
    if ranked[0]["distance"] < VISIBLE * ctx.sizes[0][0]:
        return None   # even the fastest hardly moves: nothing to see
    apart = apart or _told_apart(ctx, runs)
    if apart is None:
        return None
    frame, way, words = apart
    called = {id(r): w for r, w in zip(runs, words)}
    winner = ranked[0]
    same_span = len({(r["a"], r["b"]) for r in runs}) == 1
    t2r, r2r = _grounding(ctx, runs)
    opening = crowd["setting"] if crowd else ""
    return Question(
        template="fastest_object",
        text=interleaved(_frame_texts(ctx),
                         f"{opening}{_following(ctx, runs, frame, way, crowd['which'] if crowd else '')} Judging by "
                         "the centre of each object, which one covers the most ground per second between the first "
                         "and the last frame it appears in?"),
        answer=called[id(winner)],
        distractors=[called[id(r)] for r in ranked[1:]],
        summary="The frames follow the listed objects and the text gives the time of each frame; how far "
                "each object travels, set against the time between its frames, gives the fastest.",
        captions=[frame_caption(m) for m in ctx.metadata], text2region=t2r, region2region=r2r,
        rationale=(f"Every object is followed over the same frames, from {_seconds(_time(ctx, winner['a']))} to "
                   f"{_seconds(_time(ctx, winner['b']))}, and {winner['label']}, {called[id(winner)]} in the frame "
                   f"taken at {_seconds(_time(ctx, frame))}, covers clearly the most ground in that time "
                   f"({winner['extent']}), so it is the fastest."
                   if same_span else
                   f"Setting each object's distance against the time between its own first and last frame, "
                   f"{winner['label']}, {called[id(winner)]} in the frame taken at {_seconds(_time(ctx, frame))}, "
                   "covers clearly the most ground per second."),
        verified_by="metadata:track_boxes+timestamps")


def faster_over_intervals(ctx, rng):
    """Two objects, each followed between two frames named by their times (runs of different
    lengths): which is faster? About half the questions give the faster object the shorter run,
    over which it covers less ground than the slower one covers in its longer run, so neither
    "the one that moved farther" nor "the one timed over less" answers them; the times the text
    gives and the distances the frames show must be combined."""
    found = _tracks(ctx)
    kinds = {True: [], False: []}   # faster object on the shorter run, or on the longer one
    for fast_seen in found:
        for slow_seen in found:
            if fast_seen is slow_seen:
                continue
            fast_runs = [_run(ctx, fast_seen, a, b) for a, _ in fast_seen for b, _ in fast_seen if a < b]
            slow_runs = [_run(ctx, slow_seen, a, b) for a, _ in slow_seen for b, _ in slow_seen if a < b]
            for fast in fast_runs:
                for slow in slow_runs:
                    if min(fast["distance"], slow["distance"]) < VISIBLE * ctx.sizes[0][0]:
                        continue
                    if fast["elapsed"] <= 0 or slow["elapsed"] <= 0 or fast["speed"] < RATIO * slow["speed"]:
                        continue
                    longer = max(fast["elapsed"], slow["elapsed"]) / min(fast["elapsed"], slow["elapsed"])
                    if longer < LONGER:
                        continue
                    if fast["elapsed"] < slow["elapsed"] and slow["distance"] >= MISLEADS * fast["distance"]:
                        kinds[True].append((fast, slow))
                    elif fast["elapsed"] > slow["elapsed"]:
                        kinds[False].append((fast, slow))
    kind = pick(ctx, [k for k in (True, False) if kinds[k]], "kind")
    if kind is None:
        return None
    fast, slow = pick(ctx, kinds[kind], "runs")
    first, second = sorted([fast, slow], key=lambda r: (r["a"], r["b"], r["label"]))
    apart = _told_apart(ctx, [first, second])
    if apart is None:
        return None
    frame, way, words = apart
    called = {id(first): words[0], id(second): words[1]}
    t2r, r2r = _grounding(ctx, [first, second])

    def span(run):
        return (f"from the frame taken at {_seconds(_time(ctx, run['a']))} to the one taken at "
                f"{_seconds(_time(ctx, run['b']))}")

    moved = "; ".join(f"{span(run)}, {run['label']} ({called[id(run)]}) moves {run['extent']}"
                      for run in (first, second))
    comparison = (f"{slow['label']} covers more ground, but over a much longer time, so per second "
                  f"{fast['label']} covers more" if kind else
                  f"{fast['label']} covers so much more ground that, even over its longer time, it "
                  "covers more per second")
    return Question(
        template="faster_over_intervals",
        text=interleaved(_frame_texts(ctx),
                         f"{_following(ctx, [first, second], frame, way)} Follow {words[0]} {span(first)}, and "
                         f"{words[1]} {span(second)}. Judging by how far the centre of each travels per second, "
                         "which of the two moves faster?"),
        answer=called[id(fast)],
        distractors=[called[id(slow)]],
        summary="The text gives each frame's time and lists two objects, each followed between two frames; "
                "each object's distance in the frames divided by the time between its frames gives its speed.",
        captions=[frame_caption(m) for m in ctx.metadata], text2region=t2r, region2region=r2r,
        rationale=f"{sentence(moved)}. {sentence(comparison)}: {fast['label']}, {called[id(fast)]}, is the faster.",
        verified_by="metadata:track_boxes+timestamps")


TASK = TrackTask(id="speed_comparison", category="sequential", grouping="sequence",
                 needs=lambda metadata: "timestamp" in metadata and any(attribute(r, "track_id") for r in regions(metadata)),
                 templates=(fastest_object, faster_over_intervals),
                 unfit=lambda ctx: too_little_motion(ctx, VISIBLE))
