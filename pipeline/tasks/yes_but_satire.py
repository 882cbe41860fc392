"""yes_but_satire: two-panel images, YES (how it looks) on one side, BUT (how it is) on the other;
what the contrast shows. Each image's text says which panel is which; what the panels show, and
so which contrast belongs to which image, is left to the pictures (any description of a panel in
the text would match its contrast word for word)."""
from .base import Question, Task, captions_of, image_options, interleaved

LEFT = [0.0, 0.0, 0.5, 1.0]
RIGHT = [0.5, 0.0, 1.0, 1.0]


def _swapped(metadata) -> bool:
    """Does the sidecar say the YES panel is on the right?"""
    layout = str(metadata.get("attributes", {}).get("layout", "")).upper()
    return "YES RIGHT" in layout or "BUT LEFT" in layout


def _sides(metadata) -> tuple:
    """((YES side, box), (BUT side, box))."""
    return (("right", RIGHT), ("left", LEFT)) if _swapped(metadata) else (("left", LEFT), ("right", RIGHT))


def _layout_texts(ctx) -> list:
    """Per image, which side is its YES panel and which its BUT panel, in the same words whichever
    the side (so the words set no image apart)."""
    texts = []
    for metadata in ctx.metadata:
        (yes, _), (but, _) = _sides(metadata)
        texts.append(f"In <image>, the {yes} panel is the YES panel and the {but} panel the BUT panel.")
    return texts


def _captions(ctx) -> list:
    """The images' captions; one that nothing describes says what the text says of it, its layout."""
    roles = []
    for metadata in ctx.metadata:
        (yes, _), (but, _) = _sides(metadata)
        roles.append(f"A picture of two panels, the YES panel on the {yes} and the BUT panel on the {but}.")
    return captions_of(ctx, roles)


def _panel(ctx, image: int, which: str) -> dict:
    (yes, yes_box), (but, but_box) = _sides(ctx.metadata[image - 1])
    side, box = (yes, yes_box) if which == "YES" else (but, but_box)
    return {"text": f"the {side} panel", "image": image, "bbox": list(box), "label": f"{which} panel"}


def _contrast_link(ctx, image: int, relation: str, explanation: str) -> dict:
    yes, but = _panel(ctx, image, "YES"), _panel(ctx, image, "BUT")
    return {"from": {"image": image, "label": "YES panel", "bbox": yes["bbox"]},
            "to": {"image": image, "label": "BUT panel", "bbox": but["bbox"]},
            "relation": relation, "explanation": explanation}


def _contrast(ctx, image: int) -> str:
    return ctx.metadata[image - 1]["contrast"]


def _satire(ctx) -> list:
    """Images whose contrast statement is unique in the context."""
    contrasts = [m["contrast"] for m in ctx.metadata]
    return [i for i, c in enumerate(contrasts, start=1) if contrasts.count(c) == 1]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def image_of_contrast(ctx, rng):
    candidates = _satire(ctx)
    if len(candidates) < 3:
        return None
    image = rng.choice(candidates)
    contrast = _contrast(ctx, image).rstrip(".")
    distractors = image_options(image, len(ctx), rng, among=candidates)
    others = [int(d.split()[-1]) for d in distractors]
    return Question(
        template="image_of_contrast",
        text=interleaved(_layout_texts(ctx),
                         f"In which image does the BUT panel undercut the YES panel in this way: \"{contrast}\"?"),
        answer=f"Image {image}",
        distractors=distractors,
        summary="Each image sets an appealing YES panel against a BUT panel that undercuts it, the text saying which "
                "side is which; the task is to find the image whose contrast matches the statement.",
        captions=_captions(ctx),
        text2region=[_panel(ctx, image, "YES"), _panel(ctx, image, "BUT")] + [_panel(ctx, i, "BUT") for i in others],
        region2region=[_contrast_link(ctx, image, "is contradicted by", _contrast(ctx, image))]
                      + [_contrast_link(ctx, i, "is undercut in another way by",
                                        f"Here the point is a different one: {_lower_first(_contrast(ctx, i))}")
                         for i in others],
        rationale=f"In Image {image} the BUT panel undercuts the YES panel exactly as the statement says; the BUT "
                  f"panels of the other images make other points.",
        verified_by="metadata:contrast")


def contrast_of_image(ctx, rng):
    candidates = _satire(ctx)
    if len(candidates) < 2:
        return None
    image = rng.choice(candidates)
    others = rng.sample([i for i in candidates if i != image], min(3, len(candidates) - 1))
    return Question(
        template="contrast_of_image",
        text=interleaved(_layout_texts(ctx),
                         f"What does the contrast between the two panels of Image {image} show?"),
        answer=_contrast(ctx, image),
        distractors=[_contrast(ctx, i) for i in others],
        summary=f"Image {image} sets an appealing YES panel against a BUT panel, the text saying which side is which; "
                f"the task is to state what their contrast shows, the other options being the points of other "
                f"images.",
        captions=_captions(ctx),
        text2region=[_panel(ctx, image, "YES"), _panel(ctx, image, "BUT")] + [_panel(ctx, i, "BUT") for i in others],
        region2region=[_contrast_link(ctx, image, "is contradicted by", _contrast(ctx, image))]
                      + [_contrast_link(ctx, i, "makes another point than the panels of the asked image",
                                        f"This contrast belongs to Image {i}: {_lower_first(_contrast(ctx, i))}")
                         for i in others],
        rationale=f"The BUT panel of Image {image} undercuts its YES panel: {_lower_first(_contrast(ctx, image))}",
        verified_by="metadata:contrast")


TASK = Task(id="yes_but_satire", category="analytical", grouping="group",
            needs=lambda metadata: bool(metadata.get("contrast")), templates=(image_of_contrast, contrast_of_image))
