"""location_relationship: where objects sit in their own frames, compared across images."""
from .base import (Question, Task, caption_of, image_list, link, mentions, one_region_each, region_name, region_ref, regions,
                   text2region)

POSITION_WORDS = ("left", "right", "top", "bottom", "upper", "lower")  # labels with these give the answer away
MARGIN = 0.05  # the winner must beat the runner-up by this much of the frame, or no question

# direction -> (coordinate of the bbox centre to compare, smaller wins?, phrase)
DIRECTIONS = {
    "leftmost": (0, True, "closest to the left edge"),
    "rightmost": (0, False, "closest to the right edge"),
    "highest": (1, True, "closest to the top edge"),
    "lowest": (1, False, "closest to the bottom edge"),
}


def _centre(region, axis: int) -> float:
    return (region["bbox"][axis] + region["bbox"][axis + 2]) / 2


def _extreme(direction: str):
    axis, smaller_wins, phrase = DIRECTIONS[direction]

    def template(ctx, rng):
        picks = one_region_each(ctx, rng, keep=lambda r: not mentions(r["label"], POSITION_WORDS))
        if len(picks) < 3:
            return None
        ranked = sorted(picks, key=lambda p: _centre(p[1], axis), reverse=not smaller_wins)
        if abs(_centre(ranked[0][1], axis) - _centre(ranked[1][1], axis)) < MARGIN:
            return None  # too close to call from the boxes: no grounded answer
        best_image, best = ranked[0]
        names = ", ".join(region_name(i, r) for i, r in picks)
        return Question(
            template=f"{direction}_object",
            text=f"{image_list(len(ctx))} Consider {names}. Relative to its own image, which of these "
                 f"objects lies {phrase}?",
            answer=region_name(best_image, best),
            distractors=[region_name(i, r) for i, r in ranked[1:]],
            summary=f"The question names one object in each of {len(picks)} images and asks which sits "
                    f"{phrase} of its own frame.",
            captions=[caption_of(m) for m in ctx.metadata],
            text2region=[text2region(region_name(i, r), i, r) for i, r in picks],
            region2region=[link(region_ref(best_image, best), region_ref(i, r),
                                f"{phrase.replace('closest', 'closer')} than",
                                f"The centre of {region_name(best_image, best)} is at {_centre(best, axis):.2f} of "
                                f"the frame, that of {region_name(i, r)} at {_centre(r, axis):.2f}.")
                           for i, r in ranked[1:]],
            rationale=f"Comparing the positions within each frame, {region_name(best_image, best)} lies {phrase}.",
            verified_by="metadata:bbox")

    template.__name__ = f"{direction}_object"
    return template


TASK = Task(id="location_relationship", category="spatial", grouping="group",
            needs=lambda metadata: bool(regions(metadata)),
            templates=tuple(_extreme(d) for d in DIRECTIONS))
