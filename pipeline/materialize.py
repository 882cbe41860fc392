"""Reading a context's images again, and deriving the ones the pipeline makes (tiles, zooms)."""
from .imaging import apply_transform, decode_image, describe_transform, encode_jpeg, phash_hex, sha256_hex
from .sources import read_image_bytes


def _source_entry(image, data: bytes) -> dict:
    return {"bytes": data, "uri": image.uri, "width": image.width, "height": image.height,
            "sha256": image.id, "phash": image.phash, "derived_from": None, "transform": None}


def _derived_entry(image, picture, transform: dict) -> dict:
    derived = apply_transform(picture, transform)
    data = encode_jpeg(derived)
    digest = sha256_hex(data)
    return {"bytes": data, "uri": f"derived:{digest}", "width": derived.width, "height": derived.height,
            "sha256": digest, "phash": phash_hex(derived), "derived_from": image.id,
            "transform": describe_transform(transform)}


def materialize(context, max_pixels: int, min_side: int) -> list:
    """sample.schema.json image entries (with bytes) for the context's slots, in order.
    Each source file is read and decoded once however many slots derive from it."""
    data, pictures = {}, {}
    entries = []
    for slot in context.images:
        image = slot.image
        if image.uri not in data:
            data[image.uri] = read_image_bytes(image.uri)
        if slot.transform is None:
            entries.append(_source_entry(image, data[image.uri]))
            continue
        if image.uri not in pictures:
            pictures[image.uri] = decode_image(data[image.uri], max_pixels=max_pixels, min_side=min_side)
        entries.append(_derived_entry(image, pictures[image.uri], slot.transform))
    return entries
