"""speed_comparison: frames of one clip with timestamps; which tracked object moves faster."""
import math

from .base import (Question, Task, attribute, caption_of, displacement, image_list, link, region_ref, regions,
                   sentence, text2region, tracks)

RATIO = 1.3                                      # the fastest must beat the runner-up by this factor
MULTIPLES = (1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)     # answer options of the "how many times" template
SAME_SPEED = "They move at about the same speed"


def _speeds(ctx) -> list:
    """(pixels per second, track id, [(image, region)]) per track, fastest first."""
    times = [m.get("timestamp") for m in ctx.metadata]
    out = []
    for track, seen in tracks(ctx).items():
        elapsed = times[seen[-1][0] - 1] - times[seen[0][0] - 1]
        if elapsed > 0:
            out.append((math.hypot(*displacement(ctx, seen)) / elapsed, track, seen))
    return sorted(out, key=lambda s: s[0], reverse=True)


def _label(seen) -> str:
    return f"the {seen[0][1]['label']}"


def _frames_text(ctx) -> str:
    stamps = ", ".join(f"{m['timestamp']:g}" for m in ctx.metadata)
    return f"{image_list(len(ctx))} The images are frames of one clip, in time order, taken at {stamps} seconds."


def _grounding(ctx, ranked) -> tuple:
    """Text2Region on each track's first and last box; Region2Region from each first box to its last."""
    t2r, r2r = [], []
    for speed, _, seen in ranked:
        (a, first), (b, last) = seen[0], seen[-1]
        distance = math.hypot(*displacement(ctx, seen))
        t2r += [text2region(_label(seen), a, first), text2region(_label(seen), b, last)]
        r2r.append(link(region_ref(a, first), region_ref(b, last), "moves to",
                        f"{sentence(_label(seen))} travels {distance:.0f} px from Image {a} to Image {b}: "
                        f"{speed:.0f} px/s."))
    return t2r, r2r


def _usable(ctx) -> list:
    ranked = _speeds(ctx)
    labels = [_label(seen) for _, _, seen in ranked]
    return ranked if len(ranked) >= 2 and len(set(labels)) == len(labels) else []


def fastest_object(ctx, rng):
    ranked = _usable(ctx)
    if not ranked or ranked[0][0] < RATIO * ranked[1][0]:
        return None
    t2r, r2r = _grounding(ctx, ranked)
    winner = _label(ranked[0][2])
    return Question(
        template="fastest_object",
        text=f"{_frames_text(ctx)} Which object moves fastest across these frames?",
        answer=winner,
        distractors=[_label(seen) for _, _, seen in ranked[1:]] + ([SAME_SPEED] if len(ranked) == 2 else []),
        summary=f"The frames follow {len(ranked)} moving objects; comparing how far each travels in the same time "
                "gives the fastest.",
        captions=[caption_of(m) for m in ctx.metadata], text2region=t2r, region2region=r2r,
        rationale=f"Over the same time {winner} covers the longest distance ({ranked[0][0]:.0f} px/s).",
        verified_by="metadata:track_boxes+timestamps")


def speed_ratio(ctx, rng):
    ranked = _usable(ctx)
    if not ranked or ranked[1][0] <= 0:
        return None
    fast, slow = ranked[rng.randrange(len(ranked) - 1)], ranked[-1]
    ratio = fast[0] / slow[0]
    nearest = min(MULTIPLES, key=lambda m: abs(math.log(ratio / m)))
    if abs(math.log(ratio / nearest)) > math.log(1.12):
        return None   # not close enough to any offered multiple to be a fair answer
    options = sorted(MULTIPLES, key=lambda m: abs(math.log(m / nearest)))[1:4]
    t2r, r2r = _grounding(ctx, [fast, slow])
    phrase = "about {:g} times as fast"
    return Question(
        template="speed_ratio",
        text=f"{_frames_text(ctx)} How does the speed of {_label(fast[2])} compare with that of {_label(slow[2])}?",
        answer=f"It moves {phrase.format(nearest)}",
        distractors=[f"It moves {phrase.format(m)}" for m in options],
        summary="The frames follow two moving objects; the distances they travel over the same time give the "
                "ratio of their speeds.",
        captions=[caption_of(m) for m in ctx.metadata], text2region=t2r, region2region=r2r,
        rationale=f"{sentence(_label(fast[2]))} moves at {fast[0]:.0f} px/s and {_label(slow[2])} at "
                  f"{slow[0]:.0f} px/s, a ratio of {ratio:.2f}, about {nearest:g}.",
        verified_by="metadata:track_boxes+timestamps")


TASK = Task(id="speed_comparison", category="sequential", grouping="sequence",
            needs=lambda metadata: "timestamp" in metadata and any(attribute(r, "track_id") for r in regions(metadata)),
            templates=(fastest_object, speed_ratio))
