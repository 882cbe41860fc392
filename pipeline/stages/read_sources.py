"""ReadSources: list the images (or video frames) of every source of the manifest, with metadata."""
import posixpath

import apache_beam as beam
from apache_beam.metrics import Metrics

from ..images.decode import ACCEPTED_FORMATS, formats_of, identify_format
from ..records import ImageRef, reject
from ..sources import list_source, parse_frame_uri, read_head
from ..sources.paths import SourceUnusable
from .base import REJECTS, guarded, image_subject, to_rejects

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
        except SourceUnusable as exc:  # missing or unreadable: the build reports it and stops
            yield to_rejects(self._unusable(source, exc.reason, str(exc)))
        except Exception as exc:  # any other failure to read the listing
            yield to_rejects(self._unusable(source, "unreadable_source", f"{exc.__class__.__name__}: {exc}"))

    @staticmethod
    def _unusable(source, reason: str, detail: str) -> dict:
        return reject(STAGE, reason, f"source {source.name!r}: {detail}", subject=source.location,
                      kind="metadata", source=source.name)


class CheckFormat(beam.DoFn):
    """A file whose extension is not an accepted image format's is kept only when its first bytes
    are one (a JPEG without extension, ...); anything else is rejected as ``unsupported_format``
    without being read whole. Video frames and known extensions pass: DecodeAndHash checks them."""

    def process(self, ref):
        if formats_of(ref.uri) or parse_frame_uri(ref.uri):
            yield ref
            return
        try:
            head = read_head(ref.uri)
        except Exception:  # DecodeAndHash reads it again and rejects it as unreadable, saying why
            yield ref
            return
        if identify_format(head):
            yield ref
        else:
            suffix = posixpath.splitext(posixpath.basename(ref.uri))[1] or "no extension"
            yield to_rejects(image_subject(ref).reject(
                STAGE, "unsupported_format", f"{suffix}: the first bytes are none of {', '.join(ACCEPTED_FORMATS)}"))


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
        checked = (listed.images
                   | "Spread" >> beam.Reshuffle()
                   | "CheckFormat" >> guarded(STAGE, CheckFormat(), lambda ref: [image_subject(ref)], main="images"))
        rejects = (listed[REJECTS], checked[REJECTS]) | "Rejects" >> beam.Flatten()
        return {"images": checked.images, "rejects": rejects}
