"""scale_blur: nested zooms of one picture, each with its own blur. The text places some views (the
whole picture, a stated magnification); the question asks about the others, or which view is the
most blurred once the stated magnifications are allowed for."""
from .base import (MAX_DERIVE_ASPECT, Question, Task, described_as, interleaved, balanced_orderings, regions, sequence_text,
                   whole_image, whole_ref)

ZOOMS = (1.0, 1.3, 1.7, 2.2, 2.9, 3.8)          # magnification of each view (crop side = 1 / zoom)
BLURS = (0.0, 0.5, 1.0, 1.6, 2.3, 3.2)          # Gaussian sigmas, dealt to the views at random
# What each blur looks like: captions of zoom questions describe it (never the zoom).
BLUR_LOOKS = {0.0: "sharp", 0.5: "very slightly soft", 1.0: "slightly blurred", 1.6: "blurred",
              2.3: "strongly blurred", 3.2: "very strongly blurred"}
OUTPUT_SIDE = 384
NESTED = "All crops close in on the same spot, each closer crop lying inside every wider one."


def _focus(image, rng):
    """The point the zooms close in on: the centre of a region when the picture has one."""
    found = regions(image.metadata)
    if found:
        x0, y0, x1, y1 = rng.choice(found)["bbox"]
        return (x0 + x1) / 2, (y0 + y1) / 2
    return 0.5 + rng.uniform(-0.15, 0.15), 0.5 + rng.uniform(-0.15, 0.15)


def _box(cx, cy, scale):
    """A box of side ``scale`` around (cx, cy), shifted to stay inside the picture (so a smaller box
    around the same point always lies inside a larger one)."""
    x0 = min(max(cx - scale / 2, 0.0), 1.0 - scale)
    y0 = min(max(cy - scale / 2, 0.0), 1.0 - scale)
    return [round(x0, 4), round(y0, 4), round(x0 + scale, 4), round(y0 + scale, 4)]


def derive(image, rng) -> list:
    cx, cy = _focus(image, rng)
    ratio = min(image.height / image.width, MAX_DERIVE_ASPECT)   # GroupContexts uses no more elongated image
    size = [OUTPUT_SIDE, max(1, round(OUTPUT_SIDE * ratio))]
    blurs = list(BLURS)
    rng.shuffle(blurs)
    views = [{"box": _box(cx, cy, 1 / z), "size": size, "blur": b, "zoom": z} for z, b in zip(ZOOMS, blurs)]
    rng.shuffle(views)
    return views


def _zoom(ctx, image: int) -> float:
    return ctx.transforms[image - 1]["zoom"]


def _blur(ctx, image: int) -> float:
    return ctx.transforms[image - 1]["blur"]


def _photo(ctx) -> str:
    """What describes the picture, in brackets after "the picture" (nothing when nothing does)."""
    picture = (described_as(ctx.metadata[0]) or "").strip().rstrip(".")
    return f" ({picture[:1].lower() + picture[1:]})" if picture else ""


def _looks(blur: float) -> str:
    return BLUR_LOOKS.get(blur) or ("sharp" if blur == 0 else "blurred")


def _blur_captions(ctx) -> list:
    """What each view looks like, without its extent: for questions about magnification."""
    return [f"A {_looks(t['blur'])} view of the picture{_photo(ctx)}." for t in ctx.transforms]


def _extent_captions(ctx) -> list:
    """Each view's extent, as the text states it, without its blur: for the blur question."""
    return [f"The whole picture{_photo(ctx)}." if t["zoom"] == 1 else
            f"A crop of the picture{_photo(ctx)}, magnified {t['zoom']:g} times." for t in ctx.transforms]


def _widest(ctx) -> int:
    return min(range(1, len(ctx) + 1), key=lambda i: _zoom(ctx, i))


def _area_in_widest(ctx, image: int, text: str) -> dict:
    """A Text2Region entry: where view ``image`` lies in the whole picture."""
    return {"text": text, "image": _widest(ctx), "bbox": list(ctx.transforms[image - 1]["box"]),
            "label": f"area shown by Image {image}"}


def _contains(ctx, outer: int, inner: int, explanation: str) -> dict:
    return {"from": whole_ref(outer, "wider view"), "to": whole_ref(inner, "closer view"),
            "relation": "contains", "explanation": explanation}


def _magnified(zoom: float) -> str:
    return f"magnified {zoom:g} times"


def zoom_of_view(ctx, rng):
    """The whole picture and one crop's magnification are stated; how much is another crop magnified?"""
    widest = _widest(ctx)
    crops = [i for i in range(1, len(ctx) + 1) if i != widest]
    anchor = rng.choice(crops)
    unknown = [i for i in crops if i != anchor]
    asked = rng.choice(unknown)
    per_image = ["<image> is the whole picture." if i == widest else
                 f"<image> is a crop of the picture {_magnified(_zoom(ctx, i))}." if i == anchor else
                 "<image> is another crop of the picture." for i in range(1, len(ctx) + 1)]
    answer = f"about {_zoom(ctx, asked):g} times"
    others = rng.sample([i for i in unknown if i != asked], min(3, len(unknown) - 1))
    wider = _zoom(ctx, asked) < _zoom(ctx, anchor)
    return Question(
        template="zoom_of_view",
        text=interleaved(per_image, f"{NESTED} By about how much is Image {asked} magnified, compared with the "
                                    f"whole picture?"),
        answer=answer,
        distractors=[f"about {_zoom(ctx, i):g} times" for i in others],
        summary=f"The views are nested crops of one picture; the text gives the whole picture and one crop "
                f"{_magnified(_zoom(ctx, anchor))}, and asks how much Image {asked} is magnified.",
        captions=_blur_captions(ctx),
        text2region=[_area_in_widest(ctx, asked, f"Image {asked}"),
                     _area_in_widest(ctx, anchor, _magnified(_zoom(ctx, anchor))),
                     whole_image(f"Image {asked}", asked, "asked view")],
        region2region=[_contains(ctx, widest, asked, f"The whole picture in Image {widest} contains the area shown "
                                                     f"in Image {asked}."),
                       _contains(ctx, *((asked, anchor) if wider else (anchor, asked)),
                                 f"Image {asked} shows {'more' if wider else 'less'} of the scene than the crop "
                                 f"{_magnified(_zoom(ctx, anchor))} in Image {anchor}, so it is magnified "
                                 f"{'less' if wider else 'more'}.")],
        rationale=f"Comparing how much of the whole picture Image {asked} covers with the stated crop, Image {asked} is "
                  f"{_magnified(_zoom(ctx, asked))}.",
        verified_by="derivation:crop_scale")


def order_by_zoom(ctx, rng):
    """The whole picture and the closest crop are stated; order the crops in between."""
    order = sorted(range(1, len(ctx) + 1), key=lambda i: _zoom(ctx, i))
    widest, closest, middle = order[0], order[-1], order[1:-1]
    per_image = ["<image> is the whole picture." if i == widest else
                 f"<image> is the closest crop of the picture, {_magnified(_zoom(ctx, i))}." if i == closest else
                 "<image> is a crop of the picture in between." for i in range(1, len(ctx) + 1)]
    return Question(
        template="order_by_zoom",
        text=interleaved(per_image, f"{NESTED} Order the {len(middle)} crops in between from the least to the most "
                                    f"magnified."),
        answer=sequence_text(middle),
        distractors=[sequence_text(p) for p in balanced_orderings(middle, rng)],
        summary="The views are nested crops of one picture; the text names the whole picture and the closest crop, and "
                "asks for the order of the crops in between.",
        captions=_blur_captions(ctx),
        text2region=[_area_in_widest(ctx, i, f"Image {i}") for i in middle]
                    + [whole_image("the closest crop", closest, "closest crop")],
        region2region=[_contains(ctx, outer, inner, f"Image {outer} shows all of the scene in Image {inner} and more "
                                                    "around it.")
                       for outer, inner in zip(order, order[1:])],
        rationale=f"Each crop lies inside the wider ones, so from the least to the most magnified the crops in "
                  f"between are Images {sequence_text(middle)}.",
        verified_by="derivation:crop_scale")


def most_blurred(ctx, rng):
    """Every view's magnification is stated, in no order; which was blurred the most?"""
    by_blur = sorted(range(1, len(ctx) + 1), key=lambda i: _blur(ctx, i), reverse=True)
    answer, others = by_blur[0], by_blur[1:4]
    phrase = {i: "the whole picture" if _zoom(ctx, i) == 1 else _magnified(_zoom(ctx, i)) for i in range(1, len(ctx) + 1)}
    # The magnifications are listed in no order: which view is which is seen from how much of the
    # scene each shows, so no stated fact sets an option image apart.
    zooms = sorted(_zoom(ctx, i) for i in range(1, len(ctx) + 1) if _zoom(ctx, i) != 1)
    listing = (f"The views are the whole picture and crops of it magnified {', '.join(f'{z:g}' for z in zooms[:-1])} "
               f"and {zooms[-1]:g} times, one each and in no particular order.")
    per_image = [f"{listing} <image> is one of them." if i == 1 else "<image> is another of them."
                 for i in range(1, len(ctx) + 1)]
    return Question(
        template="most_blurred",
        text=interleaved(per_image, "Each view was also blurred by its own amount after it was made. Magnifying "
                                    "softens detail a little by itself, so allow for each view's stated "
                                    "magnification. Which view was blurred the most?"),
        answer=f"Image {answer}",
        distractors=[f"Image {i}" for i in others],
        summary="The views are crops of one picture at stated magnifications, each blurred by a different amount; the "
                "task is to find the blurriest one, allowing for how much each is magnified.",
        captions=_extent_captions(ctx),
        text2region=[whole_image(phrase[i], i, "view") for i in [answer, *others]],
        region2region=[{"from": whole_ref(answer, "blurriest view"), "to": whole_ref(i, "view"),
                        "relation": "more blurred than",
                        "explanation": f"Image {answer} ({phrase[answer]}) looks softer than Image {i} ({phrase[i]}), "
                                       "even allowing for how much each is magnified."}
                       for i in others],
        rationale=f"Allowing for magnification, Image {answer} has the softest edges of all views.",
        verified_by="derivation:blur_sigma")


TASK = Task(id="scale_blur", category="analytical", grouping="single", needs=lambda metadata: True,
            templates=(zoom_of_view, order_by_zoom, most_blurred), derive=derive)
