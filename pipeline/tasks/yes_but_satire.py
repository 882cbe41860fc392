"""yes_but_satire: two-panel images, YES (how it looks) on the left, BUT (how it is) on the right;
what the contrast shows."""
from .base import Question, Task, caption_of, image_list, image_options, link

YES_PANEL = [0.0, 0.0, 0.5, 1.0]
BUT_PANEL = [0.5, 0.0, 1.0, 1.0]


def _panels(image: int) -> list:
    return [{"text": "the YES panel", "image": image, "bbox": list(YES_PANEL), "label": "YES panel"},
            {"text": "the BUT panel", "image": image, "bbox": list(BUT_PANEL), "label": "BUT panel"}]


def _contrast_link(ctx, image: int) -> dict:
    return link({"image": image, "label": "YES panel", "bbox": list(YES_PANEL)},
                {"image": image, "label": "BUT panel", "bbox": list(BUT_PANEL)},
                "is contradicted by", ctx.metadata[image - 1]["contrast"])


def _satire(ctx) -> list:
    """Images whose contrast statement is unique in the context."""
    contrasts = [m["contrast"] for m in ctx.metadata]
    return [i for i, c in enumerate(contrasts, start=1) if contrasts.count(c) == 1]


def image_of_contrast(ctx, rng):
    candidates = _satire(ctx)
    if len(candidates) < 3:
        return None
    image = rng.choice(candidates)
    contrast = ctx.metadata[image - 1]["contrast"].rstrip(".")
    return Question(
        template="image_of_contrast",
        text=f"{image_list(len(ctx))} Each image has two panels: YES on the left, BUT on the right. In which "
             f"image does the contrast between the panels show this: \"{contrast}\"?",
        answer=f"Image {image}",
        distractors=image_options(image, len(ctx), rng, among=candidates),
        summary="Each image sets an appealing YES panel against a BUT panel that undercuts it; the task is to "
                "find the image whose contrast matches the statement.",
        captions=[caption_of(m) for m in ctx.metadata],
        text2region=_panels(image),
        region2region=[_contrast_link(ctx, image)],
        rationale=f"In Image {image} the BUT panel undercuts the YES panel exactly as the statement says.",
        verified_by="metadata:contrast")


def contrast_of_image(ctx, rng):
    candidates = _satire(ctx)
    if len(candidates) < 2:
        return None
    image = rng.choice(candidates)
    others = [ctx.metadata[i - 1]["contrast"] for i in candidates if i != image]
    return Question(
        template="contrast_of_image",
        text=f"{image_list(len(ctx))} Each image has two panels: YES on the left, BUT on the right. What does "
             f"the contrast between the two panels of Image {image} show?",
        answer=ctx.metadata[image - 1]["contrast"],
        distractors=rng.sample(others, min(3, len(others))),
        summary=f"Image {image} sets an appealing YES panel against a BUT panel; the task is to state what their "
                "contrast shows.",
        captions=[caption_of(m) for m in ctx.metadata],
        text2region=_panels(image),
        region2region=[_contrast_link(ctx, image)],
        rationale=f"The BUT panel of Image {image} undercuts its YES panel: "
                  f"{ctx.metadata[image - 1]['contrast'][0].lower() + ctx.metadata[image - 1]['contrast'][1:]}",
        verified_by="metadata:contrast")


TASK = Task(id="yes_but_satire", category="analytical", grouping="group",
            needs=lambda metadata: bool(metadata.get("contrast")), templates=(image_of_contrast, contrast_of_image))
