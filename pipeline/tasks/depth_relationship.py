"""depth_relationship: which region is nearer the camera, inside one photo or across photos."""
from .base import (Question, Task, attribute, caption_of, image_list, link, mentions, region_name, region_ref,
                   regions, sentence, superlative_question, text2region)

DEPTH_WORDS = ("near", "far", "close", "distant", "foreground", "background", "behind", "front")
RATIO = 1.15   # the nearer region must be this much nearer than the next one, or no question


def _depth(region):
    """Metres when given, else the rank (0 = nearest); both order regions the same way."""
    metres = attribute(region, "depth_m")
    return metres if metres is not None else attribute(region, "depth_rank")


def _usable(region) -> bool:
    return _depth(region) is not None and not mentions(region["label"], DEPTH_WORDS)


def _clearly_nearer(a, b) -> bool:
    if attribute(a, "depth_m") is not None and attribute(b, "depth_m") is not None:
        return attribute(b, "depth_m") >= RATIO * attribute(a, "depth_m")
    return _depth(a) < _depth(b) and attribute(a, "depth_m") is None and attribute(b, "depth_m") is None


def nearest_within_image(ctx, rng):
    """In one drawn image, which of its regions is nearest the camera."""
    candidates = []
    for i, metadata in enumerate(ctx.metadata, start=1):
        usable = sorted((r for r in regions(metadata) if _usable(r)), key=_depth)[:4]
        labels = [r["label"] for r in usable]
        if len(usable) >= 2 and len(set(labels)) == len(labels) and _clearly_nearer(usable[0], usable[1]):
            candidates.append((i, usable))
    if not candidates:
        return None
    image, ranked = rng.choice(candidates)
    shown = sorted(ranked, key=lambda r: r["label"])
    nearest = ranked[0]
    return Question(
        template="nearest_within_image",
        text=f"{image_list(len(ctx))} Look at Image {image}. Which of these is nearest to the camera: "
             f"{', '.join('the ' + r['label'] for r in shown)}?",
        answer=f"the {nearest['label']}",
        distractors=[f"the {r['label']}" for r in ranked[1:]],
        summary=f"The question names {len(ranked)} objects in Image {image} and asks which is nearest the camera.",
        captions=[caption_of(m) for m in ctx.metadata],
        text2region=[text2region(f"the {r['label']}", image, r) for r in shown],
        region2region=[link(region_ref(image, nearest), region_ref(image, r), "nearer to the camera than",
                            f"{sentence(region_name(image, nearest))} is at depth {_depth(nearest):g}, "
                            f"{region_name(image, r)} at {_depth(r):g}.") for r in ranked[1:]],
        rationale=f"By occlusion, size and perspective, the {nearest['label']} is the nearest to the camera in "
                  f"Image {image}.",
        verified_by="metadata:depth")


def nearest_across_images(ctx, rng):
    """Across photos: which listed object stands nearest to the camera that took it."""
    return superlative_question(ctx, rng, template="nearest_across_images", key="depth_m", largest=False,
                                quality="nearest to its camera", relation="nearer to its camera than", unit="m",
                                avoid_words=DEPTH_WORDS, ratio=1.5, verified_by="metadata:depth_m")


TASK = Task(id="depth_relationship", category="spatial", grouping="group",
            needs=lambda metadata: sum(_usable(r) for r in regions(metadata)) >= 1,
            templates=(nearest_within_image, nearest_across_images))
