"""scale_blur: nested zooms of one photo, each with its own blur; which view is which."""
from .base import (Question, Task, caption_of, image_distractors, image_list, permutation_distractors,
                   regions, sequence_text)

SCALES = (1.0, 0.8, 0.62, 0.48, 0.36, 0.27)   # crop side as a share of the photo's side
BLURS = (0.0, 0.0, 0.6, 1.2, 2.0, 3.0)          # Gaussian sigmas, dealt to the views at random
OUTPUT_SIDE = 384


def _focus(image, rng):
    """The point the zooms close in on: the centre of a region when the photo has one."""
    found = regions(image.metadata)
    if found:
        x0, y0, x1, y1 = rng.choice(found)["bbox"]
        return (x0 + x1) / 2, (y0 + y1) / 2
    return 0.5 + rng.uniform(-0.15, 0.15), 0.5 + rng.uniform(-0.15, 0.15)


def _box(cx, cy, scale):
    """A box of side ``scale`` around (cx, cy), shifted to stay inside the photo."""
    x0 = min(max(cx - scale / 2, 0.0), 1.0 - scale)
    y0 = min(max(cy - scale / 2, 0.0), 1.0 - scale)
    return [round(x0, 4), round(y0, 4), round(x0 + scale, 4), round(y0 + scale, 4)]


def derive(image, rng) -> list:
    cx, cy = _focus(image, rng)
    ratio = image.height / image.width
    size = [OUTPUT_SIDE, max(1, round(OUTPUT_SIDE * ratio))]
    blurs = list(BLURS)
    rng.shuffle(blurs)
    views = [{"box": _box(cx, cy, s), "size": size, "blur": b, "zoom": round(1 / s, 3)}
             for s, b in zip(SCALES, blurs)]
    rng.shuffle(views)
    return views


def _captions(ctx) -> list:
    photo = caption_of(ctx.metadata[0]).rstrip(".")
    photo = photo[0].lower() + photo[1:]
    return [f"A view of a photo ({photo}) zoomed {t['zoom']:g}x"
            + (f" and blurred (sigma {t['blur']:g})." if t["blur"] else ", sharp.") for t in ctx.transforms]


def _widest(ctx) -> int:
    return min(range(len(ctx)), key=lambda i: ctx.transforms[i]["zoom"]) + 1


def _views_text2region(ctx) -> list:
    """Where each view lies in the widest view (the uncropped photo)."""
    return [{"text": "zoomed view", "image": _widest(ctx), "bbox": t["box"], "label": f"area shown by image {i}"}
            for i, t in enumerate(ctx.transforms, start=1) if i != _widest(ctx)]


def _zoom_chain(ctx, order) -> list:
    links = []
    for outer, inner in zip(order, order[1:]):
        t_out, t_in = ctx.transforms[outer - 1], ctx.transforms[inner - 1]
        links.append({
            "from": {"image": outer, "label": "wider view", "bbox": [0.0, 0.0, 1.0, 1.0]},
            "to": {"image": inner, "label": "closer view", "bbox": [0.0, 0.0, 1.0, 1.0]},
            "relation": "contains",
            "explanation": f"Image {outer} (zoom {t_out['zoom']:g}x) contains the whole area of image "
                           f"{inner} (zoom {t_in['zoom']:g}x)."})
    return links


def order_by_zoom(ctx, rng):
    order = sorted(range(1, len(ctx) + 1), key=lambda i: ctx.transforms[i - 1]["zoom"])
    return Question(
        template="order_by_zoom",
        text=f"{image_list(len(ctx))} All images show the same photo at different zoom levels. Which order "
             "of the images goes from the widest view to the closest zoom?",
        answer=sequence_text(order),
        distractors=[sequence_text(p) for p in permutation_distractors(order, rng)],
        summary="The images are nested zooms of one photo; each closer view shows a part of every wider one.",
        captions=_captions(ctx), text2region=_views_text2region(ctx), region2region=_zoom_chain(ctx, order),
        rationale=f"Each view contains the next, so from widest to closest the order is {sequence_text(order)}.",
        verified_by="derivation:crop_scale")


def most_blurred(ctx, rng):
    answer = max(range(1, len(ctx) + 1), key=lambda i: ctx.transforms[i - 1]["blur"])
    sigma = ctx.transforms[answer - 1]["blur"]
    order = sorted(range(1, len(ctx) + 1), key=lambda i: ctx.transforms[i - 1]["zoom"])
    return Question(
        template="most_blurred",
        text=f"{image_list(len(ctx))} The images are views of one photo at different zoom levels, some of "
             "them blurred. Which image is the most blurred?",
        answer=f"Image {answer}",
        distractors=[f"Image {i}" for i in image_distractors(answer, len(ctx), rng)],
        summary="The images are zoomed views of one photo with different amounts of blur; the task is to "
                "find the blurriest one, whatever its zoom.",
        captions=_captions(ctx), text2region=_views_text2region(ctx), region2region=_zoom_chain(ctx, order),
        rationale=f"Image {answer} has the softest edges of all (blur sigma {sigma:g}).",
        verified_by="derivation:blur_sigma")


TASK = Task(id="scale_blur", category="analytical", grouping="single", needs=lambda metadata: True,
            templates=(order_by_zoom, most_blurred), derive=derive)
