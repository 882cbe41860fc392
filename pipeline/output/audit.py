"""Rows of ``OUT/images.parquet`` (shape: schemas/image_row.schema.json): one per listed file."""
from ..images.phash import CROP_BOXES
from ..schemas import load_schema

_COLUMNS = tuple(load_schema("image_row")["required"])


def _row(**values) -> dict:
    return {column: values.get(column) for column in _COLUMNS}


def _hashed(image) -> dict:
    return dict(uri=image.uri, source=image.source, sha256=image.id, phash=image.phash,
                crop_hashes=list(image.crop_hashes), width=image.width, height=image.height,
                hash_algorithm=image.hash_algorithm, format=image.format, colour=image.colour,
                file_size=image.file_size)


def kept_row(image) -> dict:
    return _row(status="kept", cluster=image.uri, **_hashed(image))


def _matched(slot_of_image: int, slot_of_keeper: int) -> str:
    """Which compared hashes were closest (slots: 0 the full hash, then CROP_BOXES in order)."""
    crops = list(CROP_BOXES)
    if slot_of_keeper:
        return f"the kept image's {crops[slot_of_keeper - 1]}"
    return f"this image's {crops[slot_of_image - 1]}" if slot_of_image else "full images"


def _near_detail(distance: int, matched: str, threshold: int) -> str:
    if distance <= threshold:
        return f"hamming {distance} <= threshold {threshold} ({matched})"
    # Clusters are connected components: an image can join through a chain of near duplicates.
    return f"hamming {distance} > threshold {threshold} ({matched}): clustered through other near duplicates"


def duplicate_row(image, keeper_uri: str, match: tuple, exact: bool, threshold: int, kept_because: str) -> dict:
    """``match``: near_duplicates.closest_match of the image's and the keeper's hashes;
    ``kept_because``: near_duplicates.kept_because of the keeper over this image."""
    distance, slot_of_image, slot_of_keeper = match
    reason = "exact_duplicate" if exact else "near_duplicate"
    detail = "identical bytes" if exact else _near_detail(distance, _matched(slot_of_image, slot_of_keeper), threshold)
    return _row(status="duplicate", duplicate_of=keeper_uri, hamming=distance, cluster=keeper_uri,
                reason=reason, detail=detail, kept_because=kept_because, **_hashed(image))


def rejected_row(record: dict) -> dict:
    """The images.parquet row of an image-level rejects record."""
    return _row(uri=record["subject"], source=record["source"], status="rejected",
                reason=record["reason"], detail=record["detail"])
