"""The ``manifest`` source: a JSONL, CSV or Parquet file listing one image per row, the usual way
to feed a job from a bucket. Each row is a source_metadata.schema.json object whose ``file`` is a
URI (any FileSystems scheme) or a path relative to the listing's folder. In CSV (and in Parquet
columns stored as text) structured fields such as ``regions`` hold JSON text.

Files are not checked for existence here (a request per row on a bucket); one that cannot be
read is rejected by DecodeAndHash as ``unreadable``.
"""
import csv
import io
import json
import posixpath

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ..schemas import load_schema
from .sidecar import Listing, metadata_problem, parse_metadata_line

STAGE = "read_sources"


def _uri(file: str, root: str) -> str:
    if "://" in file or posixpath.isabs(file):
        return file
    return FileSystems.join(root, posixpath.normpath(file))


def _coerce(column: str, value):
    """A text cell as the type source_metadata.schema.json gives its column."""
    spec = load_schema("source_metadata")["properties"].get(column, {})
    declared = spec.get("type", "object")  # $ref columns (data) are objects
    if not isinstance(value, str) or declared == "string":
        return value
    if declared == "integer":
        return int(value)
    if declared == "number":
        return float(value)
    return json.loads(value)


def _table_record(row: dict):
    """(record, problem) for a CSV or Parquet row; empty cells are absent keys."""
    try:
        record = {k: _coerce(k, v) for k, v in row.items() if v is not None and v != ""}
    except ValueError as exc:
        return row, f"a cell is not of its column's type ({exc})"
    return record, metadata_problem(record)


def _rows(path: str):
    """Yield (row number, record, problem) for each row of the listing, by its extension."""
    with FileSystems.open(path, compression_type="uncompressed") as f:
        data = f.read()
    suffix = posixpath.splitext(path.lower())[1]
    if suffix == ".parquet":
        rows = pq.read_table(io.BytesIO(data)).to_pylist()
        yield from ((n, *_table_record(row)) for n, row in enumerate(rows, start=1))
    elif suffix == ".csv":
        rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        yield from ((n, *_table_record(row)) for n, row in enumerate(rows, start=2))
    else:
        lines = data.decode("utf-8", errors="replace").splitlines()
        yield from ((n, *parse_metadata_line(line)) for n, line in enumerate(lines, start=1) if line.strip())


def list_manifest(source):
    """One ImageRef per row (rows numbered as lines of a JSONL or CSV file, from 1 in Parquet);
    a row without a usable ``file`` rejects as ``bad_metadata``."""
    root = posixpath.dirname(source.location)
    name = posixpath.basename(source.location)
    listing = Listing(source, STAGE)
    for number, record, problem in _rows(source.location):
        where = f"{name} row {number}"
        file = record.get("file") if isinstance(record, dict) else None
        if not isinstance(file, str) or not file:
            yield listing.reject_record("bad_metadata", f"{where}: {problem or 'no file'}",
                                        f"{source.location}:{number}")
        else:
            listing.describe(_uri(file, root), record, where, problem)
    yield from listing.settle()
