"""Rows of ``OUT/images.parquet`` (shape: schemas/image_row.schema.json): one per listed file."""
from .schemas import load_schema

_COLUMNS = tuple(load_schema("image_row")["required"])


def _row(**values) -> dict:
    return {column: values.get(column) for column in _COLUMNS}


def _hashed(image) -> dict:
    return dict(uri=image.uri, source=image.source, sha256=image.id, phash=image.phash,
                width=image.width, height=image.height, hash_algorithm=image.hash_algorithm)


def kept_row(image) -> dict:
    return _row(status="kept", cluster=image.uri, **_hashed(image))


def duplicate_row(image, keeper_uri: str, distance: int, exact: bool, threshold: int) -> dict:
    reason = "exact_duplicate" if exact else "near_duplicate"
    detail = "identical bytes" if exact else f"hamming {distance} <= threshold {threshold}"
    return _row(status="duplicate", duplicate_of=keeper_uri, hamming=distance, cluster=keeper_uri,
                reason=reason, detail=detail, **_hashed(image))


def rejected_row(record: dict) -> dict:
    """The images.parquet row of an image-level rejects record."""
    return _row(uri=record["subject"], source=record["source"], status="rejected",
                reason=record["reason"], detail=record["detail"])
