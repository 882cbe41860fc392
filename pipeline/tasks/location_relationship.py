"""location_relationship: where objects sit in their own frames, compared across images."""
from .base import Question, Task, caption_of, image_list, region_ref, regions, text2region

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


def _candidates(ctx, rng) -> list:
    """One region per image that has any: (image number, region), at most four, drawn at random."""
    picks = [(i, rng.choice(regions(m))) for i, m in enumerate(ctx.metadata, start=1) if regions(m)]
    rng.shuffle(picks)
    return picks[:4]


def _name(image: int, region: dict) -> str:
    return f"the {region['label']} in Image {image}"


def _extreme(direction: str):
    axis, smaller_wins, phrase = DIRECTIONS[direction]

    def template(ctx, rng):
        picks = _candidates(ctx, rng)
        if len(picks) < 3:
            return None
        ranked = sorted(picks, key=lambda p: _centre(p[1], axis), reverse=not smaller_wins)
        if abs(_centre(ranked[0][1], axis) - _centre(ranked[1][1], axis)) < MARGIN:
            return None  # too close to call from the boxes: no grounded answer
        best_image, best = ranked[0]
        names = ", ".join(_name(i, r) for i, r in picks)
        return Question(
            template=f"{direction}_object",
            text=f"{image_list(len(ctx))} Consider {names}. Relative to its own image, which of these "
                 f"objects lies {phrase}?",
            answer=_name(best_image, best),
            distractors=[_name(i, r) for i, r in ranked[1:]],
            summary=f"The question names one object in each of {len(picks)} images and asks which sits "
                    f"{phrase} of its own frame.",
            captions=[caption_of(m) for m in ctx.metadata],
            text2region=[text2region(_name(i, r), i, r) for i, r in picks],
            region2region=[{
                "from": region_ref(best_image, best), "to": region_ref(i, r),
                "relation": f"{phrase.replace('closest', 'closer')} than",
                "explanation": f"The centre of {_name(best_image, best)} is at {_centre(best, axis):.2f} of "
                               f"the frame, that of {_name(i, r)} at {_centre(r, axis):.2f}."}
                for i, r in ranked[1:]],
            rationale=f"Comparing the positions within each frame, {_name(best_image, best)} lies {phrase}.",
            verified_by="metadata:bbox")

    template.__name__ = f"{direction}_object"
    return template


TASK = Task(id="location_relationship", category="spatial", grouping="group",
            needs=lambda metadata: bool(regions(metadata)),
            templates=tuple(_extreme(d) for d in DIRECTIONS))
