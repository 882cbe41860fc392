"""Precision and recall of the duplicate decisions on real photos, per kind of transformation.

Builds a labelled set from the photos shipped with scikit-image (``pip install scikit-image``):
each photo plus variants of it (JPEG qualities, resized, a small crop, a brightness change,
WebP, an exact copy). Every pair of images is a true duplicate when both come from the same
photo; the decision is the project's: Hamming distance of ``imaging.hash_image`` hashes <= the
threshold. Prints per-kind recall and precision, then one JSON line with every figure.

    .venv/bin/python scripts/dedup_quality.py [--threshold 8]
"""
import argparse
import io
import itertools
import json

import numpy as np
import skimage.data
from PIL import Image, ImageEnhance

from pipeline.imaging import hamming, hash_image
from pipeline.schemas import load_schema

# The images scikit-image ships inside its wheel (no download); "cat" is left out, being chelsea.
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field",
          "immunohistochemistry", "retina", "horse", "moon", "clock", "coins", "brick", "grass",
          "gravel", "page", "colorwheel", "text", "logo", "microaneurysms", "cell")


def _encoded(img: Image.Image, fmt="JPEG", **options) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def _crop(img: Image.Image, share: float) -> Image.Image:
    dx, dy = round(img.width * share), round(img.height * share)
    return img.crop((dx, dy, img.width - dx, img.height - dy))


VARIANTS = {
    "jpeg_q90": lambda img: _encoded(img, quality=90),
    "jpeg_q60": lambda img: _encoded(img, quality=60),
    "jpeg_q30": lambda img: _encoded(img, quality=30),
    "jpeg_q10": lambda img: _encoded(img, quality=10),
    "resized_50pct": lambda img: _encoded(img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS), quality=90),
    "crop_5pct": lambda img: _encoded(_crop(img, 0.05), quality=90),
    "crop_10pct": lambda img: _encoded(_crop(img, 0.10), quality=90),
    "brighter_20pct": lambda img: _encoded(ImageEnhance.Brightness(img).enhance(1.2), quality=90),
    "webp": lambda img: _encoded(img, "WEBP", quality=80),
}


def labelled_set():
    """(photo name, kind, bytes) for each original (kind "original"), exact copy and variant."""
    items = []
    for name in PHOTOS:
        img = Image.fromarray(np.asarray(getattr(skimage.data, name)())).convert("RGB")
        original = _encoded(img, quality=95)
        items += [(name, "original", original), (name, "exact_copy", original)]
        items += [(name, kind, make(img)) for kind, make in VARIANTS.items()]
    return items


def main():
    default = load_schema("manifest")["properties"]["dedup"]["properties"]["threshold"]["default"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=int, default=default)
    args = parser.parse_args()
    items = labelled_set()
    hashes = [hash_image(data, max_pixels=10**8, min_side=1).phash for _, _, data in items]
    figures = {}
    for kind in ["exact_copy", *VARIANTS]:
        rows = [i for i, item in enumerate(items) if item[1] == kind]
        # Recall: the variant is found as a duplicate of its own original.
        found = [hamming(hashes[i], hashes[_original(items, i)]) <= args.threshold for i in rows]
        # Precision: of every pair the variant is declared a duplicate in, how many are true.
        declared = [(i, j) for i in rows for j in range(len(items))
                    if j != i and hamming(hashes[i], hashes[j]) <= args.threshold]
        true = [items[i][0] == items[j][0] for i, j in declared]
        figures[kind] = {"recall": round(sum(found) / len(found), 3),
                         "precision": round(sum(true) / len(true), 3) if true else 1.0}
    pairs = list(itertools.combinations(range(len(items)), 2))
    declared = [(i, j) for i, j in pairs if hamming(hashes[i], hashes[j]) <= args.threshold]
    truth = [(i, j) for i, j in pairs if items[i][0] == items[j][0]]
    hits = len(set(declared) & set(truth))
    overall = {"precision": round(hits / len(declared), 3) if declared else 1.0,
               "recall": round(hits / len(truth), 3), "pairs": len(pairs),
               "photos": len(PHOTOS), "images": len(items), "threshold": args.threshold}
    for kind, f in figures.items():
        print(f"{kind:15s} recall {f['recall']:.3f}  precision {f['precision']:.3f}")
    print(f"all pairs       recall {overall['recall']:.3f}  precision {overall['precision']:.3f} "
          f"({len(items)} images of {len(PHOTOS)} photos, threshold {args.threshold})")
    print(json.dumps({"overall": overall, "by_kind": figures}))


def _original(items, i):
    return next(j for j, item in enumerate(items) if item[0] == items[i][0] and item[1] == "original")


if __name__ == "__main__":
    main()
