"""Precision and recall of the duplicate decisions on real photos, per kind of transformation.

Builds a labelled set from the photos shipped with scikit-image (``pip install scikit-image``):
each photo plus variants of it (JPEG qualities, resized, central crops, crops from one side or
a corner, a brightness change, WebP, an exact copy). Every pair of images is a true duplicate
when both come from the same photo; the decision is the project's: the
``near_duplicates.closest_match`` distance of ``images.phash.hash_image`` hashes (full hash of one
against the full and crop hashes of the other) <= the threshold. Prints per-kind recall and
precision, the figures over all pairs, and over the clusters the search and union-find make
(two images of one cluster count as declared duplicates); then one JSON line with every figure.

    .venv/bin/python scripts/dedup_quality.py [--threshold 8]
"""
import argparse
import io
import itertools
import json

import numpy as np
import skimage.data
from PIL import Image, ImageEnhance

from pipeline.images.near_duplicates import (Copy, HashTable, Row, closest_match, cluster_keepers, hash_values,
                                             near_duplicate_pairs)
from pipeline.images.phash import hash_image
from pipeline.schemas import load_schema

# The images scikit-image ships inside its wheel (no download); "cat" is left out, being chelsea.
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field",
          "immunohistochemistry", "retina", "horse", "moon", "clock", "coins", "brick", "grass",
          "gravel", "page", "colorwheel", "text", "logo", "microaneurysms", "cell")


def _encoded(img: Image.Image, fmt="JPEG", **options) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def _crop(img: Image.Image, share: float, sides: str = "lrtb") -> Image.Image:
    """``share`` of the width (height) cut from each of the ``sides`` named (left, right, top, bottom)."""
    dx, dy = round(img.width * share), round(img.height * share)
    return img.crop((dx * ("l" in sides), dy * ("t" in sides),
                     img.width - dx * ("r" in sides), img.height - dy * ("b" in sides)))


VARIANTS = {
    "jpeg_q90": lambda img: _encoded(img, quality=90),
    "jpeg_q60": lambda img: _encoded(img, quality=60),
    "jpeg_q30": lambda img: _encoded(img, quality=30),
    "jpeg_q10": lambda img: _encoded(img, quality=10),
    "resized_50pct": lambda img: _encoded(img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS), quality=90),
    "crop_5pct": lambda img: _encoded(_crop(img, 0.05), quality=90),
    "crop_10pct": lambda img: _encoded(_crop(img, 0.10), quality=90),
    "crop_15pct": lambda img: _encoded(_crop(img, 0.15), quality=90),
    "crop_left_5pct": lambda img: _encoded(_crop(img, 0.05, "l"), quality=90),
    "crop_left_10pct": lambda img: _encoded(_crop(img, 0.10, "l"), quality=90),
    "crop_right_10pct": lambda img: _encoded(_crop(img, 0.10, "r"), quality=90),
    "crop_top_10pct": lambda img: _encoded(_crop(img, 0.10, "t"), quality=90),
    "crop_bottom_10pct": lambda img: _encoded(_crop(img, 0.10, "b"), quality=90),
    "crop_left_20pct": lambda img: _encoded(_crop(img, 0.20, "l"), quality=90),
    "crop_corner_10pct": lambda img: _encoded(_crop(img, 0.10, "lt"), quality=90),
    "crop_sides_10pct": lambda img: _encoded(_crop(img, 0.10, "lr"), quality=90),
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


def _precision_recall(declared: set, truth: set) -> dict:
    hits = len(declared & truth)
    return {"precision": round(hits / len(declared), 3) if declared else 1.0,
            "recall": round(hits / len(truth), 3)}


def _clustered_pairs(items, hashes, threshold) -> set:
    """Pairs of images the Deduplicate stage puts in one cluster (all in one scope)."""
    table = HashTable.build(Row(i, hash_values(h), "global", str(i), Copy(i)) for i, h in enumerate(hashes))
    keepers = cluster_keepers(table, near_duplicate_pairs(table, threshold, 0, len(table)))
    return {(int(table.keys[a]), int(table.keys[b])) for a, b in itertools.combinations(range(len(table)), 2)
            if a in keepers and keepers.get(b) == keepers[a]}


def main():
    default = load_schema("manifest")["properties"]["dedup"]["properties"]["threshold"]["default"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=int, default=default)
    args = parser.parse_args()
    items = labelled_set()
    facts = [hash_image(data, max_pixels=10**8, min_side=1) for _, _, data in items]
    hashes = [(f.phash, *f.crop_hashes) for f in facts]

    def duplicate(i, j):
        return closest_match(hashes[i], hashes[j])[0] <= args.threshold

    figures = {}
    for kind in ["exact_copy", *VARIANTS]:
        rows = [i for i, item in enumerate(items) if item[1] == kind]
        # Recall: the variant is found as a duplicate of its own original.
        found = [duplicate(i, _original(items, i)) for i in rows]
        # Precision: of every pair the variant is declared a duplicate in, how many are true.
        declared = [(i, j) for i in rows for j in range(len(items)) if j != i and duplicate(i, j)]
        true = [items[i][0] == items[j][0] for i, j in declared]
        figures[kind] = {"recall": round(sum(found) / len(found), 3),
                         "precision": round(sum(true) / len(true), 3) if true else 1.0}
    pairs = list(itertools.combinations(range(len(items)), 2))
    truth = {(i, j) for i, j in pairs if items[i][0] == items[j][0]}
    overall = {**_precision_recall({(i, j) for i, j in pairs if duplicate(i, j)}, truth),
               "pairs": len(pairs), "photos": len(PHOTOS), "images": len(items), "threshold": args.threshold}
    clusters = _precision_recall(_clustered_pairs(items, hashes, args.threshold), truth)
    for kind, f in figures.items():
        print(f"{kind:18s} recall {f['recall']:.3f}  precision {f['precision']:.3f}")
    print(f"all pairs          recall {overall['recall']:.3f}  precision {overall['precision']:.3f} "
          f"({len(items)} images of {len(PHOTOS)} photos, threshold {args.threshold})")
    print(f"clusters           recall {clusters['recall']:.3f}  precision {clusters['precision']:.3f} "
          f"(pairs of images in one cluster)")
    print(json.dumps({"overall": overall, "clusters": clusters, "by_kind": figures}))


def _original(items, i):
    return next(j for j, item in enumerate(items) if item[0] == items[i][0] and item[1] == "original")


if __name__ == "__main__":
    main()
