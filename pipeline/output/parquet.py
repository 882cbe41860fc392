"""Writing Parquet tables and JSONL files through Beam's FileSystems (local disk, gs://, ...)."""
import itertools
import json

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ..storage import write_bytes
from .arrow_schema import arrow_schema, leaf_columns

# Rows per Parquet row group: what a writer holds in memory at once (samples embed images).
ROWS_PER_GROUP = 8


def write_parquet(path: str, rows, schema_name: str) -> None:
    """Rows (an iterable of dicts shaped by JSON Schema ``schema_name``) to one Parquet file,
    streamed a row group at a time. The same rows in the same order give the same bytes."""
    schema = arrow_schema(schema_name)
    # Image bytes are JPEG or PNG already: zstd and dictionary encoding gain nothing on them
    # and cost a second of a 2,000-image build; every other column gets both.
    columns = leaf_columns(schema_name)
    rows = iter(rows)
    with FileSystems.create(path, mime_type="application/octet-stream", compression_type="uncompressed") as f:
        with pq.ParquetWriter(f, schema, compression={c: "none" if binary else "zstd" for c, binary in columns.items()},
                              use_dictionary=[c for c, binary in columns.items() if not binary]) as writer:
            while group := list(itertools.islice(rows, ROWS_PER_GROUP)):
                writer.write_table(pa.Table.from_pylist(group, schema=schema))


def write_jsonl(path: str, records: list) -> None:
    write_bytes(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode("utf-8"))
