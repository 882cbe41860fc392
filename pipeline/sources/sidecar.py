"""Reading source metadata (sidecar ``metadata.jsonl`` lines, listing rows): one validated object
per image, and settling what a source names into one ImageRef or rejects record per uri."""
import json

from apache_beam.io.filesystems import FileSystems

from ..records import ImageRef, reject
from ..schemas import validator


def parse_metadata_line(line: str):
    """Return (parsed object or None, problem or None) for one JSONL line."""
    try:
        record = json.loads(line)
    except ValueError as exc:
        return None, f"not valid JSON ({exc.msg})"
    return record, metadata_problem(record)


def metadata_problem(record):
    """The first way ``record`` breaks source_metadata.schema.json, or None."""
    errors = sorted(validator("source_metadata").iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        return f"{where}: {errors[0].message}"
    return None


def read_sidecar(path: str):
    """Yield (line number, parsed object, problem) for each non-blank line of ``path``."""
    if not FileSystems.exists(path):
        return
    with FileSystems.open(path) as f:
        for number, raw in enumerate(f, start=1):
            line = raw.decode("utf-8", errors="replace").strip()
            if line:
                yield (number, *parse_metadata_line(line))


class Listing:
    """What a source names, settled into exactly one ImageRef or rejects record per uri: a uri
    described twice, or by an invalid record, is rejected rather than ingested without its
    annotations, so nothing named anywhere is lost silently."""

    def __init__(self, source, stage: str):
        self.source = source
        self.stage = stage
        self.described, self.rejected = {}, {}

    def describe(self, uri: str, record, where: str, problem=None, exists: bool = True):
        if problem or uri in self.described or uri in self.rejected:
            self.rejected[uri] = ("bad_metadata", f"{where}: {problem or 'the file is described twice'}")
        elif not exists:
            self.rejected[uri] = ("missing_file", f"{where} names a file that does not exist")
        else:
            self.described[uri] = record

    def reject_record(self, reason: str, detail: str, subject: str):
        """A rejects record for a metadata record that names no image at all."""
        return reject(self.stage, reason, detail, subject=subject, kind="metadata", source=self.source.name)

    def settle(self, undescribed=(), metadata_of=None):
        """ImageRefs and rejects, sorted by uri; ``undescribed`` files get ``metadata_of(uri)``."""
        for uri in sorted(set(undescribed) | set(self.described) | set(self.rejected)):
            if uri in self.rejected:
                reason, detail = self.rejected[uri]
                yield reject(self.stage, reason, detail, subject=uri, kind="image", source=self.source.name)
            else:
                metadata = self.described[uri] if uri in self.described else metadata_of(uri)
                yield ImageRef(uri=uri, source=self.source.name, metadata=metadata)
