"""location_relationship: where objects sit in their own frames, compared across images.

Each image's text names the object to look at in that image ("<image> shows the tripod."), so the
reader must find every named object in its own picture; the question then compares where those
objects sit in their frames, judged by the centre of each object within its own image. The
options are image numbers or directions, never object names: an option that repeats a label of
the text would let the text alone favour the longest label.
"""
import re

from .base import (Question, Task, caption_of, interleaved, link, mentions, region_ref, regions, sentence,
                   text2region)

POSITION_WORDS = ("left", "right", "top", "bottom", "upper", "lower", "high", "centre", "center", "middle")
MARGIN = 0.05        # an extreme must beat the runner-up by this much of the frame, or no question
PAIR_MARGIN = 0.1    # two objects compared along both axes must differ by this much on each

MEASURE = "Judging by where the centre of each named object sits within its own image"

# direction -> (coordinate of the box centre to compare, smaller wins?, phrase)
DIRECTIONS = {
    "leftmost": (0, True, "closest to the left edge"),
    "rightmost": (0, False, "closest to the right edge"),
    "highest": (1, True, "closest to the top edge"),
    "lowest": (1, False, "closest to the bottom edge"),
}

# How an image's text names its object ({name}: "the tripod", or "Grace Hopper" for a name). Each names
# it after the placeholder, so the text between two images is the first one's own
# (interleaving.is_interleaved).
NAMING = ("<image> shows {name}.", "In <image> we look at {name}.", "In <image>, find {name}.", "<image> contains {name}.")
UNNAMED = "<image> is another picture of the set, with no object named in it."
LIMIT = 4   # objects an extreme question compares (its options): the others' images name nothing

# Where a centre lies along an axis, in words (no coordinates: the reader sees the picture, not the box).
BANDS = {0: ("near the left edge", "left of centre", "around the middle", "right of centre", "near the right edge"),
         1: ("near the top edge", "in the upper part", "around the middle", "in the lower part", "near the bottom edge")}
NUMBER = re.compile(r"\s*(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def _name(region) -> str:
    """A region's label as a noun phrase: "the tripod", but "Grace Hopper" (a proper name) bare."""
    words = region["label"].split()
    proper = len(words) >= 2 and all(w[:1].isupper() for w in words[:2])
    return region["label"] if proper else f"the {region['label']}"


def _usable(region) -> bool:
    return not mentions(region["label"], POSITION_WORDS)


def _centre(region, axis: int) -> float:
    return (region["bbox"][axis] + region["bbox"][axis + 2]) / 2


def _band(region, axis: int) -> str:
    return BANDS[axis][min(4, int(_centre(region, axis) * 5))]


def _named(ctx, rng, limit=None) -> dict:
    """image number -> the one region its text names (drawn among its usable regions), for up to
    ``limit`` images drawn among those that have one."""
    picks = {}
    for i, metadata in enumerate(ctx.metadata, start=1):
        usable = [r for r in regions(metadata) if _usable(r)]
        if usable:
            picks[i] = rng.choice(usable)
    if limit is not None and len(picks) > limit:
        picks = {i: picks[i] for i in sorted(rng.sample(sorted(picks), limit))}
    return picks


def _per_image(ctx, named: dict, rng) -> list:
    return [rng.choice(NAMING).format(name=_name(named[i])) if i in named else UNNAMED
            for i in range(1, len(ctx) + 1)]


def _captions(ctx, text: str) -> list:
    """The sidecar captions; one that repeats an earlier one is told apart by the labels it shows. A
    number the question's text does not state (the "9" of a Falcon 9 in an image whose object is not
    named) is left out: the reasoning cites only numbers the reader is given."""
    stated = {n.strip() for n in NUMBER.findall(text)}

    def unstated_left_out(caption):
        return NUMBER.sub(lambda m: m.group(0) if m.group(0).strip() in stated else "", caption)

    out = []
    for metadata in ctx.metadata:
        caption = unstated_left_out(caption_of(metadata))
        if caption in out:
            labels = ", ".join(r["label"] for r in regions(metadata))
            caption = unstated_left_out(f"{caption} (another picture, showing {labels})" if labels
                                        else f"{caption} (another picture)")
        while caption in out:
            caption += " (again)"
        out.append(caption)
    return out


def _object(i: int, region) -> str:
    return f"{_name(region)} in Image {i}"


def _extreme(direction: str):
    axis, smaller_wins, phrase = DIRECTIONS[direction]
    closer = phrase.replace("closest", "closer")

    def template(ctx, rng):
        named = _named(ctx, rng, LIMIT)
        if len(named) < 3:
            return None
        ranked = sorted(named.items(), key=lambda p: _centre(p[1], axis), reverse=not smaller_wins)
        if abs(_centre(ranked[0][1], axis) - _centre(ranked[1][1], axis)) < MARGIN:
            return None  # too close to call: no grounded answer
        best_image, best = ranked[0]
        others = ranked[1:]
        text = interleaved(_per_image(ctx, named, rng), f"{MEASURE}, in which image does the named object lie {phrase}?")
        return Question(
            template=f"{direction}_object",
            text=text,
            answer=f"Image {best_image}",
            distractors=[f"Image {i}" for i, _ in others],
            summary=f"Each image's text names one object in it; the task is to find "
                    f"each in its picture and tell which sits {phrase} of its own frame.",
            captions=_captions(ctx, text),
            text2region=[text2region(_name(r), i, r) for i, r in sorted(named.items())],
            region2region=[link(region_ref(best_image, best), region_ref(i, r), f"{closer} than",
                                f"{sentence(_object(best_image, best))} has its centre {_band(best, axis)} of its "
                                f"frame; {_object(i, r)} has its centre {_band(r, axis)} of its own, less far "
                                f"toward that edge.")
                           for i, r in others],
            rationale=f"Finding each named object in its picture and comparing where its centre sits within the "
                      f"frame, {_object(best_image, best)} lies {phrase}.",
            verified_by="metadata:bbox")

    template.__name__ = f"{direction}_object"
    return template


def _quadrant(a, b) -> str:
    """Where a's centre sits in its frame compared with b's in its own."""
    vertical = "higher" if _centre(a, 1) < _centre(b, 1) else "lower"
    horizontal = "further left" if _centre(a, 0) < _centre(b, 0) else "further right"
    return f"{vertical} and {horizontal}"


QUADRANTS = ("higher and further left", "higher and further right", "lower and further left",
             "lower and further right")


def relative_position(ctx, rng):
    """Two objects, each named in its own image's text: where does one sit in its frame compared with
    where the other sits in its own (up/down and left/right at once)?"""
    named = _named(ctx, rng)
    labels = [r["label"] for r in named.values()]
    unique = [(i, r) for i, r in named.items() if labels.count(r["label"]) == 1]
    pairs = [(a, b) for a in unique for b in unique if a[0] != b[0]
             and abs(_centre(a[1], 0) - _centre(b[1], 0)) >= PAIR_MARGIN
             and abs(_centre(a[1], 1) - _centre(b[1], 1)) >= PAIR_MARGIN]
    if not pairs:
        return None
    (i, a), (j, b) = rng.choice(pairs)
    answer = _quadrant(a, b)
    text = interleaved(_per_image(ctx, named, rng),
                       f"{MEASURE}, where does {_name(a)} sit in its picture compared with where {_name(b)} "
                       "sits in its own?")
    return Question(
        template="relative_position",
        text=text,
        answer=answer,
        distractors=[q for q in QUADRANTS if q != answer],
        summary=f"Each image's text names one object in it; the task is to find {_name(a)} and {_name(b)} in "
                f"their pictures and compare where each sits within its own frame.",
        captions=_captions(ctx, text),
        text2region=[text2region(_name(a), i, a), text2region(_name(b), j, b)],
        region2region=[link(region_ref(i, a), region_ref(j, b), f"{answer} (each in its own frame) than",
                            f"{sentence(_object(i, a))} has its centre {_band(a, 1)} and {_band(a, 0)} of its frame; "
                            f"{_object(j, b)} has its centre {_band(b, 1)} and {_band(b, 0)} of its own.")],
        rationale=f"Within their own frames, {_object(i, a)} sits {answer} than {_object(j, b)}.",
        verified_by="metadata:bbox")


TASK = Task(id="location_relationship", category="spatial", grouping="group",
            needs=lambda metadata: bool(regions(metadata)),
            templates=(*(_extreme(d) for d in DIRECTIONS), relative_position))
