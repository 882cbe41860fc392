"""The ``manifest`` source: a JSONL, CSV or Parquet file listing one image per row, the usual way
to feed a job from a bucket. Each row is a source_metadata.schema.json object whose ``file`` is a
path relative to the listing's folder, or, when the source sets ``allow_absolute``, an absolute
path or URI (any FileSystems scheme). In CSV (and in Parquet columns stored as text) structured
fields such as ``regions`` hold JSON text.

Files are not checked for existence here (a request per row on a bucket); one that cannot be
read is rejected by DecodeAndHash as ``unreadable``.
"""
import csv
import io
import itertools
import posixpath

import pyarrow.parquet as pq

from ..schemas import inlined_schema
from ..storage import read_bytes
from .metadata import metadata_problem, parse_json
from .paths import Root, SourceUnusable, check_file
from .sidecar import Listing, check_metadata_size, read_jsonl

STAGE = "read_sources"


def _coerce(column: str, value):
    """A text cell as the type source_metadata.schema.json gives its column."""
    declared = inlined_schema("source_metadata")["properties"].get(column, {}).get("type", "object")
    if not isinstance(value, str) or declared == "string":
        return value
    if "string" in declared and not value.lstrip().startswith("{"):   # a path, or its object form as JSON
        return value
    if declared == "integer":
        return int(value)
    if declared == "number":
        return float(value)
    parsed, problem = parse_json(value)
    if problem:
        raise ValueError(problem)
    return parsed


def _table_record(row: dict):
    """(record, problem) for a CSV or Parquet row; empty cells are absent keys."""
    if None in row:  # csv.DictReader's key for cells beyond the header
        return row, "the row has more cells than the header"
    try:
        record = {k: _coerce(k, v) for k, v in row.items() if v is not None and v != ""}
    except ValueError as exc:
        return row, f"a cell is not of its column's type ({exc})"
    return record, metadata_problem(record)


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceUnusable("unreadable_source", f"{path}: not valid UTF-8 (byte {exc.start})") from None


def _csv_rows(text: str):
    """(row number, record, problem); a row the csv module cannot read is a problem of its own."""
    reader = iter(csv.DictReader(io.StringIO(text)))
    for number in itertools.count(2):
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, None, f"not a readable CSV row ({exc})"
        else:
            yield number, *_table_record(row)


def _rows(path: str):
    """Yield (row number, record, problem) for each row of the listing, by its extension."""
    suffix = posixpath.splitext(path.lower())[1]
    check_metadata_size(path)
    if suffix == ".parquet":
        rows = pq.read_table(io.BytesIO(read_bytes(path))).to_pylist()
        yield from ((n, *_table_record(row)) for n, row in enumerate(rows, start=1))
    elif suffix == ".csv":
        yield from _csv_rows(_text(read_bytes(path), path))
    else:
        yield from read_jsonl(path)


def list_manifest(source):
    """One ImageRef per row (rows numbered as lines of a JSONL or CSV file, from 1 in Parquet);
    a row without a usable ``file`` rejects as ``bad_metadata``, one naming a file the source may
    not read as ``outside_source`` or ``unsupported_uri``."""
    check_file(source.location)
    root = Root(posixpath.dirname(source.location), allow_absolute=source.allow_absolute)
    name = posixpath.basename(source.location)
    listing = Listing(source, STAGE)
    for number, record, problem in _rows(source.location):
        yield from listing.describe_line(root, f"{name} row {number}", record, problem,
                                         f"{source.location}:{number}")
    yield from listing.settle()
