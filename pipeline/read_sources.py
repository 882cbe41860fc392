"""ReadSources: list the images of every source of the manifest, with their sidecar metadata."""
import apache_beam as beam
from apache_beam.metrics import Metrics

from .records import ImageRef
from .sources import list_source
from .stage import REJECTS, to_rejects


class ListSource(beam.DoFn):
    def __init__(self):
        self.listed = Metrics.counter("read_sources", "listed")

    def process(self, source):
        for item in list_source(source):
            if isinstance(item, ImageRef):
                self.listed.inc()
                yield item
            else:
                yield to_rejects(item)


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
