"""Reading source metadata lines (a sidecar ``metadata.jsonl``, a JSONL listing), and settling
what a source names into one ImageRef or rejects record per uri."""
import json
import re

from apache_beam.io.filesystems import FileSystems

from ..records import ImageRef, reject
from .attached import attach_files, named_files
from .metadata import parse_metadata_line
from .paths import SourceUnusable, printable

# One line of metadata describes one image: a megabyte (newline not counted) is far more than
# the schema's limits allow. A longer line rejects (the image it names, else itself) without being held whole.
MAX_LINE_BYTES = 1_000_000
# A metadata file (sidecar, JSONL/CSV/Parquet listing) larger than this is refused as a whole.
MAX_METADATA_FILE_BYTES = 2 ** 30
_BOM = b"\xef\xbb\xbf"
_FILE_FIELD = re.compile(rb'"file"\s*:\s*("(?:[^"\\]|\\.){1,4096}")')


def check_metadata_size(path: str):
    """Refuse (SourceUnusable) a metadata file over MAX_METADATA_FILE_BYTES before reading it."""
    try:
        size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    except Exception:  # noqa: BLE001 - not found or not listable: the read that follows says so
        return
    if size > MAX_METADATA_FILE_BYTES:
        raise SourceUnusable("unreadable_source",
                             f"{path}: {size:,} bytes, larger than {MAX_METADATA_FILE_BYTES:,} for a metadata file")


def _named_file(head: bytes):
    """The ``file`` an over-long line names in its first bytes, or None."""
    found = _FILE_FIELD.search(head)
    try:
        name = json.loads(found.group(1).decode("utf-8")) if found else None
    except ValueError:
        return None
    return name if isinstance(name, str) and name else None


def _lines(f):
    """(the line's bytes, or None when longer than MAX_LINE_BYTES; its first bytes) per line of
    ``f``, never holding more than MAX_LINE_BYTES + 1 bytes of one line."""
    while True:
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n"):
            yield raw, raw
            continue
        rest = raw
        while rest and not rest.endswith(b"\n"):  # the rest of the line, a chunk at a time
            rest = f.readline(MAX_LINE_BYTES)
        yield None, raw


def read_jsonl(path: str):
    """Yield (line number, parsed object or None, problem or None) for each non-blank line of
    ``path``. Lines end at "\\n" only; bytes that are not UTF-8 are kept as lone surrogates, so the
    line still names its file and is rejected for the field that holds them. A byte order mark
    before the first line is skipped; a line over MAX_LINE_BYTES is a problem (its record only
    the ``file`` its first bytes name), and a file over MAX_METADATA_FILE_BYTES is refused."""
    check_metadata_size(path)
    with FileSystems.open(path, compression_type="uncompressed") as f:
        for number, (raw, head) in enumerate(_lines(f), start=1):
            if number == 1 and head.startswith(_BOM):
                raw, head = raw and raw[len(_BOM):], head[len(_BOM):]
            if raw is None:
                name = _named_file(head)
                yield number, {"file": name} if name else None, f"line longer than {MAX_LINE_BYTES:,} bytes"
            elif raw.strip():
                yield (number, *parse_metadata_line(raw.decode("utf-8", "surrogateescape")))


class Listing:
    """What a source names, settled into exactly one ImageRef or rejects record per uri: a uri
    described twice, or by an invalid record, is rejected rather than ingested without its
    annotations, and a uri the source may not read (``refuse``) is rejected whatever describes
    it, so nothing named anywhere is lost silently or read from outside the source."""

    def __init__(self, source, stage: str):
        self.source = source
        self.stage = stage
        self.described, self.rejected, self.refused = {}, {}, {}
        self.annotations = set()   # files metadata names besides images: depth maps, chart tables

    def describe(self, uri: str, record, where: str, problem=None, exists: bool = True, root=None):
        """Settle ``record`` as the metadata of ``uri``; with ``root`` (the paths.Root its names
        resolve under), the depth map and table it names are read into it (sources/attached.py)."""
        if root and isinstance(record, dict):
            self.annotations |= named_files(record, root)
        if problem or uri in self.described or uri in self.rejected:
            self.rejected[uri] = ("bad_metadata", f"{where}: {problem or 'the file is described twice'}")
        elif not exists:
            self.rejected[uri] = ("missing_file", f"{where} names a file that does not exist")
        else:
            record, refusal = attach_files(record, root, uri) if root else (record, None)
            if refusal:
                self.rejected[uri] = (refusal[0], f"{where}: {refusal[1]}")
            else:
                self.described[uri] = record

    def describe_line(self, root, where: str, record, problem, line: str, exists=None):
        """Settle one metadata line (of a sidecar or listing); yields a rejects record for the
        line (``line``: ``path:number``) when it names no file."""
        name = record.get("file") if isinstance(record, dict) else None
        if isinstance(name, str) and name:
            self.describe_path(root, name, record, where, problem, exists)
        else:
            yield self.reject_record("bad_metadata", f"{where}: {problem or 'no file'}", line)

    def describe_path(self, root, name: str, record, where: str, problem=None, exists=None):
        """Describe the file ``name`` (a path under the paths.Root ``root``) unless the source may
        not read it; ``exists(uri)`` says whether it exists (None: not checked here)."""
        uri, refusal = root.resolve(name)
        if refusal:
            self.refuse(uri, refusal[0], f"{where}: {refusal[1]}")
        else:
            self.describe(uri, record, where, problem, exists=exists is None or problem is not None or exists(uri),
                          root=root)

    def reject(self, uri: str, reason: str, detail: str):
        """A uri the source names whose own annotation is unusable (a camera pose, ...)."""
        self.rejected.setdefault(uri, (reason, detail))

    def refuse(self, uri: str, reason: str, detail: str):
        """A uri the source may not read (outside it, an unsupported URI, not a usable file)."""
        self.refused.setdefault(uri, (reason, detail))

    def refuse_all(self, refused: dict):
        for uri, (reason, detail) in refused.items():
            self.refuse(uri, reason, detail)

    def reject_record(self, reason: str, detail: str, subject: str):
        """A rejects record for a metadata record that names no image at all."""
        return reject(self.stage, reason, detail, subject=subject, kind="metadata", source=self.source.name)

    def settle(self, undescribed=(), metadata_of=None):
        """ImageRefs and rejects, sorted by uri; ``undescribed`` files get ``metadata_of(uri)``."""
        for uri in sorted(set(undescribed) | set(self.described) | set(self.rejected) | set(self.refused)):
            problem = self.refused.get(uri) or self.rejected.get(uri)
            if problem:
                yield reject(self.stage, *problem, subject=printable(uri), kind="image", source=self.source.name)
            else:
                metadata = self.described[uri] if uri in self.described else metadata_of(uri)
                yield ImageRef(uri=uri, source=self.source.name, metadata=metadata)
