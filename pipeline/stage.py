"""What every stage shares: the rejects output, its counters, and file access through Beam."""
import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

REJECTS = "rejects"


def to_rejects(record: dict) -> beam.pvalue.TaggedOutput:
    """Route a rejects record (``records.reject``) to the stage's rejects output and count it."""
    Metrics.counter(record["stage"], f"rejected.{record['reason']}").inc()
    return beam.pvalue.TaggedOutput(REJECTS, record)


def read_bytes(uri: str) -> bytes:
    with FileSystems.open(uri, compression_type="uncompressed") as f:
        return f.read()


def write_bytes(path: str, data: bytes) -> None:
    """Write a whole file; FileSystems creates the parent folders on local disk."""
    with FileSystems.create(path, mime_type="application/octet-stream", compression_type="uncompressed") as f:
        f.write(data)
