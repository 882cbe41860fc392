"""Reading a context's images again, and deriving the ones the pipeline makes (tiles, zooms).

A derivation names its output ``size`` and normalised ``box``, so the source is decoded only
as large as the views need (JPEG DCT scaling)."""
import dataclasses
import math

import numpy as np

from ..records import sha256_hex
from ..sources import MAX_REREAD_BYTES, read_unchanged_image
from .decode import decode_pixels
from .derive import apply_transform, describe_transform, encode_jpeg
from .phash import pixels_phash


def _source_entry(image, data) -> dict:
    return {"bytes": data, "uri": image.uri, "width": image.width, "height": image.height,
            "sha256": image.id, "file_size": image.file_size, "phash": image.phash, "derived_from": None, "transform": None}


def _derived_entry(image, pixels: np.ndarray, transform: dict) -> dict:
    derived = apply_transform(pixels, transform)
    data = encode_jpeg(derived)
    digest = sha256_hex(data)
    height, width = derived.shape[:2]
    return {"bytes": data, "uri": f"derived:{digest}", "width": width, "height": height,
            "sha256": digest, "file_size": len(data), "phash": pixels_phash(derived), "derived_from": image.id,
            "transform": describe_transform(transform)}


def _resolution_needed(context, uri: str):
    """(width, height) of the source that every view derived from ``uri`` needs to be made at
    its output size without upscaling the source (each view's size over its box's share), or
    None when a view keeps the source's own pixels."""
    views = [slot.transform for slot in context.images if slot.image.uri == uri and slot.transform]
    if any("size" not in t or "box" not in t for t in views):
        return None
    needs = [(t["size"][0] / (t["box"][2] - t["box"][0]), t["size"][1] / (t["box"][3] - t["box"][1])) for t in views]
    return tuple(math.ceil(max(n[axis] for n in needs)) for axis in (0, 1))


def materialize(context, max_pixels: int, min_side: int, source_bytes: bool = True,
                max_bytes: int = MAX_REREAD_BYTES) -> list:
    """sample.schema.json image entries for the context's slots, in order. Derived images always
    get their bytes; source images only with ``source_bytes`` (a drafter that reads no pixels
    spares the read: WriteShards reads them when it writes). Each source file is read and
    decoded once however many slots derive from it."""
    data, decoded = {}, {}
    entries = []
    for slot in context.images:
        image = slot.image
        if slot.transform is None and not source_bytes:
            entries.append(_source_entry(image, None))
            continue
        if image.uri not in data:
            data[image.uri] = read_unchanged_image(image.uri, image.id, max_bytes)
        if slot.transform is None:
            entries.append(_source_entry(image, data[image.uri]))
            continue
        if image.uri not in decoded:
            decoded[image.uri] = decode_pixels(data[image.uri], max_pixels=max_pixels, min_side=min_side,
                                               at_least=_resolution_needed(context, image.uri))
        entries.append(_derived_entry(image, decoded[image.uri], slot.transform))
    return entries


def marked(context, marks: dict):
    """``context`` with boxes drawn onto copies of some of its images: ``marks`` maps an image
    number (1-based) to its marks (``{"box", "colour", "rgb"}``, the words a question uses and
    the colour drawn). Only whole images are marked, so a mark's box is its source's."""
    if not marks:
        return context
    slots = list(context.images)
    for number, image_marks in marks.items():
        slot = slots[number - 1]
        if slot.transform is not None:
            raise ValueError(f"image {number} of context {context.id} is derived already and cannot be marked")
        slots[number - 1] = dataclasses.replace(slot, transform={"marks": [dict(m) for m in image_marks]})
    return dataclasses.replace(context, images=tuple(slots))
