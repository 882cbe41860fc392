"""location_relationship: where objects sit in their own frames, compared across images.

The text lists the objects to look at, one per image, in no stated order ("Four of the images show,
one each and in no particular order, the saucer, the tripod, ..."), so the reader must find every
listed object in the pictures, and with it its image; the question then asks which image shows the
object that sits furthest toward an edge, or that sits higher (lower) and further left (right) in
its frame than a reference object named at its own image. The options are image numbers: knowing
where a tripod usually stands in a photo points at no image.
"""
from .base import (Question, Task, called, candidate_texts, captions_of, findable, interleaved, link,
                   mentions, named, reference_question, region_ref, regions, sentence, text2region)

POSITION_WORDS = ("left", "right", "top", "bottom", "upper", "lower", "high", "centre", "center", "middle")
MARGIN = 0.05        # an extreme must beat the runner-up by this much of the frame, or no question
PAIR_MARGIN = 0.1    # two objects compared along both axes must differ by this much on each

MEASURE = "Judging by where the centre of each object sits within its own image"

# direction -> (coordinate of the box centre to compare, smaller wins?, phrase)
DIRECTIONS = {
    "leftmost": (0, True, "closest to the left edge"),
    "rightmost": (0, False, "closest to the right edge"),
    "highest": (1, True, "closest to the top edge"),
    "lowest": (1, False, "closest to the bottom edge"),
}

LIMIT = 4   # objects an extreme question compares (its options): the others' images show none of them

# Where a centre lies along an axis, in words (no coordinates: the reader sees the picture, not the box).
BANDS = {0: ("near the left edge", "left of centre", "around the middle", "right of centre", "near the right edge"),
         1: ("near the top edge", "in the upper part", "around the middle", "in the lower part", "near the bottom edge")}


def _usable(region) -> bool:
    return not mentions(region["label"], POSITION_WORDS)


def _centre(region, axis: int) -> float:
    return (region["bbox"][axis] + region["bbox"][axis + 2]) / 2


def _band(region, axis: int) -> str:
    return BANDS[axis][min(4, int(_centre(region, axis) * 5))]


def _listed(ctx, rng, limit) -> dict:
    """image number -> the one region the text lists for it (drawn among its usable, findable
    regions), for up to ``limit`` images drawn among those that have one."""
    picks = {}
    for i, metadata in enumerate(ctx.metadata, start=1):
        usable = [r for r in regions(metadata) if _usable(r) and findable(ctx, i, r)]
        if usable:
            picks[i] = rng.choice(usable)
    if len(picks) > limit:
        picks = {i: picks[i] for i in sorted(rng.sample(sorted(picks), limit))}
    return picks


def _object(i: int, region) -> str:
    return f"{called(region)} in Image {i}"


def _extreme(direction: str):
    axis, smaller_wins, phrase = DIRECTIONS[direction]
    closer = phrase.replace("closest", "closer")

    def template(ctx, rng):
        listed = _listed(ctx, rng, LIMIT)
        if len(listed) < 3:
            return None
        ranked = sorted(listed.items(), key=lambda p: _centre(p[1], axis), reverse=not smaller_wins)
        if abs(_centre(ranked[0][1], axis) - _centre(ranked[1][1], axis)) < MARGIN:
            return None  # too close to call: no grounded answer
        best_image, best = ranked[0]
        others = ranked[1:]
        text = interleaved(candidate_texts(ctx, listed),
                           f"{MEASURE}, which image shows the listed object that lies {phrase} of its own image?")
        return Question(
            template=f"{direction}_object",
            text=text,
            answer=f"Image {best_image}",
            distractors=[f"Image {i}" for i, _ in others],
            summary=f"The text lists objects the images show, one each, without saying which shows which; the task "
                    f"is to find each in its picture and tell which sits {phrase} of its own frame.",
            captions=captions_of(ctx),
            text2region=[text2region(named(r["label"]), i, r) for i, r in sorted(listed.items())],
            region2region=[link(region_ref(best_image, best), region_ref(i, r), f"{closer} than",
                                f"{sentence(_object(best_image, best))} has its centre {_band(best, axis)} of its "
                                f"frame; {_object(i, r)} has its centre {_band(r, axis)} of its own, less far "
                                f"toward that edge.")
                           for i, r in others],
            rationale=f"Finding each listed object in its picture and comparing where its centre sits within the "
                      f"frame, {_object(best_image, best)} lies {phrase}.",
            verified_by="metadata:bbox")

    template.__name__ = f"{direction}_object"
    return template


# (vertical, horizontal) -> how the question says it: -1 is higher (further left), +1 lower (further right).
QUADRANTS = {(-1, -1): "higher and further left", (-1, 1): "higher and further right",
             (1, -1): "lower and further left", (1, 1): "lower and further right"}


def _quadrant_verdict(quadrant: tuple):
    """reference_question's judge: does the pick sit in ``quadrant`` of the reference (each in its
    own frame), clearly on both axes (True), clearly not on either (False), or too close (None)?"""
    def judge(reference, pick):
        moves = [(_centre(pick[1], axis) - _centre(reference[1], axis)) * sign
                 for axis, sign in ((1, quadrant[0]), (0, quadrant[1]))]
        if all(m >= PAIR_MARGIN for m in moves):
            return True
        return False if any(m <= -PAIR_MARGIN for m in moves) else None
    return judge


def relative_position(ctx, rng):
    """A reference object named at its image, objects listed for the others in no stated order: which
    image shows the one that sits higher (lower) and further left (right) in its own frame than the
    reference sits in its own?"""
    for quadrant in rng.sample(sorted(QUADRANTS), len(QUADRANTS)):
        question = _relative_to(ctx, rng, quadrant)
        if question is not None:
            return question
    return None


def _relative_to(ctx, rng, quadrant: tuple):
    """relative_position for one quadrant, or None."""
    where = QUADRANTS[quadrant]

    def explain(pick, reference, meets):
        return (f"{sentence(_object(*pick))} has its centre {_band(pick[1], 1)} and {_band(pick[1], 0)} of its "
                f"frame; {_object(*reference)} has its centre {_band(reference[1], 1)} and "
                f"{_band(reference[1], 0)} of its own.")

    return reference_question(
        ctx, rng, template="relative_position", usable=_usable, judge=_quadrant_verdict(quadrant),
        stated=lambda ref: f"In <image>, find {called(ref)}, the object the others are compared with.",
        ask=lambda image, ref: (f"{MEASURE}, which image shows the listed object that sits {where} in its "
                                f"own image than {called(ref)} sits in Image {image}?"),
        relation=lambda meets: f"{where if meets else 'not ' + where} (each in its own frame) than",
        explain=explain,
        rationale=lambda answer, ref: (f"Within their own frames, of the listed objects only {_object(*answer)} "
                                       f"sits {where} than {_object(*ref)}."),
        summary=f"One image's text names the object the others are compared with; the text lists the objects the "
                f"other images show without saying which shows which. The task is to find each in its picture "
                f"and tell which one sits {where} in its frame than the reference does in its own.",
        verified_by="metadata:bbox", singled_out=True)


TASK = Task(id="location_relationship", category="spatial", grouping="group",
            needs=lambda metadata: bool(regions(metadata)),
            templates=(*(_extreme(d) for d in DIRECTIONS), relative_position))
