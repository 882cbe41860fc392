"""ReadSources: list the images (or video frames) of every source of the manifest, with metadata."""
import apache_beam as beam
from apache_beam.metrics import Metrics

from ..records import ImageRef, reject
from ..sources import list_source
from .base import REJECTS, to_rejects

STAGE = "read_sources"


class ListSource(beam.DoFn):
    def __init__(self):
        self.listed = Metrics.counter(STAGE, "listed")

    def process(self, source):
        try:
            for item in list_source(source):
                if isinstance(item, ImageRef):
                    self.listed.inc()
                    yield item
                else:
                    yield to_rejects(item)
        except Exception as exc:  # a listing that cannot be read: the build goes on without it
            yield to_rejects(reject(STAGE, "unreadable_source", f"{exc.__class__.__name__}: {exc}",
                                    subject=source.location, kind="metadata", source=source.name))


class ReadSources(beam.PTransform):
    """Sources -> {"images": ImageRef, "rejects": rejects records}."""

    def __init__(self, sources):
        super().__init__()
        self.sources = list(sources)

    def expand(self, pbegin):
        listed = (pbegin
                  | "Sources" >> beam.Create(self.sources)
                  | "List" >> beam.ParDo(ListSource()).with_outputs(REJECTS, main="images"))
        # A source is listed by one worker; the reshuffle spreads its images over all of them.
        return {"images": listed.images | "Spread" >> beam.Reshuffle(), "rejects": listed[REJECTS]}
