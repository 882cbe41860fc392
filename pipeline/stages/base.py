"""What every stage shares: the rejects output and its counters."""
import apache_beam as beam
from apache_beam.metrics import Metrics

REJECTS = "rejects"


def to_rejects(record: dict) -> beam.pvalue.TaggedOutput:
    """Route a rejects record (``records.reject``) to the stage's rejects output and count it."""
    Metrics.counter(record["stage"], f"rejected.{record['reason']}").inc()
    return beam.pvalue.TaggedOutput(REJECTS, record)
