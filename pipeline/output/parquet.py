"""Writing Parquet tables and JSONL files through Beam's FileSystems (local disk, gs://, ...)."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ..storage import write_bytes
from .arrow_schema import arrow_schema, leaf_columns

# Arrow's default allocator (mimalloc) hands the pages of a freed row group back to the system at
# once, so every row group's buffers were fresh pages for the kernel to clear: a third of a build's
# shard-writing time. jemalloc keeps them for the next row group (where pyarrow has it).
try:
    pa.set_memory_pool(pa.jemalloc_memory_pool())
except NotImplementedError:
    pass

# A row group closes at whichever comes first: the rows Hugging Face uses for image datasets, or
# the bytes a writer (and a reader of one group) should hold at once. A large build writes shards
# in a worker process per core, each holding its row group, its Arrow copy and their pieces in its
# own heap: with 64 MB groups a 5,000-photo build's processes peaked at 2.08 GB together, with
# 32 MB at 1.84 GB.
ROW_GROUP_ROWS = 100
ROW_GROUP_BYTES = 32 * 10**6


def write_parquet(path: str, rows, schema_name: str) -> None:
    """Rows (an iterable of dicts shaped by JSON Schema ``schema_name``) to one Parquet file,
    streamed a row group at a time. The same rows in the same order give the same bytes."""
    schema = arrow_schema(schema_name)
    # Image bytes are JPEG or PNG already: zstd and dictionary encoding gain nothing on them
    # and cost a second of a 2,000-image build; every other column gets both.
    columns = leaf_columns(schema_name)
    binary = [column.split(".") for column, is_binary in columns.items() if is_binary]
    with FileSystems.create(path, mime_type="application/octet-stream", compression_type="uncompressed") as f:
        with pq.ParquetWriter(f, schema, compression={c: "none" if binary else "zstd" for c, binary in columns.items()},
                              use_dictionary=[c for c, binary in columns.items() if not binary]) as writer:
            for group in row_groups(rows, lambda row: binary_size(row, binary)):
                writer.write_table(pa.Table.from_pylist(group, schema=schema), row_group_size=len(group))


def row_groups(rows, size):
    """The rows in lists of at most ROW_GROUP_ROWS rows and, a single large row aside, about
    ROW_GROUP_BYTES of binary values (``size(row)``)."""
    group, held = [], 0
    for row in rows:
        group.append(row)
        held += size(row)
        if len(group) >= ROW_GROUP_ROWS or held >= ROW_GROUP_BYTES:
            yield group
            group, held = [], 0
    if group:
        yield group


def binary_size(row: dict, paths: list) -> int:
    """Bytes of a row's binary values, found at the Parquet column ``paths`` (each split at its
    dots, as ``leaf_columns`` names them: ``images.list.element.bytes``)."""
    return sum(len(value) for path in paths for value in _values_at(row, path) if value is not None)


def _values_at(value, path: list):
    if value is None or not path:
        yield value
    elif path[0] == "list":       # "list", "element": each item of a list
        for item in value:
            yield from _values_at(item, path[2:])
    else:
        yield from _values_at(value.get(path[0]), path[1:])


def write_jsonl(path: str, records: list) -> None:
    write_bytes(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode("utf-8"))
