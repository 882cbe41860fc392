"""Writing tables and text files through Beam's FileSystems (local disk, gs://, ...)."""
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from .arrow_schema import arrow_schema
from .stage import write_bytes


def write_parquet(path: str, rows: list, schema_name: str) -> None:
    """Rows (dicts shaped by JSON Schema ``schema_name``) to one Parquet file. The same rows in
    the same order give the same bytes."""
    table = pa.Table.from_pylist(rows, schema=arrow_schema(schema_name))
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    write_bytes(path, sink.getvalue())


def write_jsonl(path: str, records: list) -> None:
    write_bytes(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode("utf-8"))


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
