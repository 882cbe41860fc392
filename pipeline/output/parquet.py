"""Writing Parquet tables and JSONL files through Beam's FileSystems (local disk, gs://, ...)."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ..storage import write_bytes
from .arrow_schema import arrow_schema, leaf_columns

# A row group closes at whichever comes first: the rows Hugging Face uses for image datasets, or
# the bytes a writer (and a reader of one group) should hold at once.
ROW_GROUP_ROWS = 100
ROW_GROUP_BYTES = 64 * 10**6


def write_parquet(path: str, rows, schema_name: str) -> None:
    """Rows (an iterable of dicts shaped by JSON Schema ``schema_name``) to one Parquet file,
    streamed a row group at a time. The same rows in the same order give the same bytes."""
    schema = arrow_schema(schema_name)
    # Image bytes are JPEG or PNG already: zstd and dictionary encoding gain nothing on them
    # and cost a second of a 2,000-image build; every other column gets both.
    columns = leaf_columns(schema_name)
    with FileSystems.create(path, mime_type="application/octet-stream", compression_type="uncompressed") as f:
        with pq.ParquetWriter(f, schema, compression={c: "none" if binary else "zstd" for c, binary in columns.items()},
                              use_dictionary=[c for c, binary in columns.items() if not binary]) as writer:
            for group in row_groups(rows):
                writer.write_table(pa.Table.from_pylist(group, schema=schema), row_group_size=len(group))


def row_groups(rows):
    """The rows in lists of at most ROW_GROUP_ROWS rows and, a single large row aside, about
    ROW_GROUP_BYTES of binary values."""
    group, size = [], 0
    for row in rows:
        group.append(row)
        size += binary_size(row)
        if len(group) >= ROW_GROUP_ROWS or size >= ROW_GROUP_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group


def binary_size(value) -> int:
    """Bytes of the binary values (encoded images) anywhere in a row."""
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, dict):
        return sum(binary_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(binary_size(v) for v in value)
    return 0


def write_jsonl(path: str, records: list) -> None:
    write_bytes(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode("utf-8"))
