"""The ``folder`` source: image files below a folder (recursively) plus its sidecar metadata."""
import posixpath

from apache_beam.io.filesystems import FileSystems

from ..records import ImageRef, reject
from .sidecar import read_sidecar

SIDECAR = "metadata.jsonl"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
STAGE = "read_sources"


def _list_files(location: str) -> set:
    pattern = FileSystems.join(location, "**")
    return {m.path for result in FileSystems.match([pattern]) for m in result.metadata_list}


def _named_file(record, root: str):
    """The uri a sidecar object names, or None when it names none."""
    if isinstance(record, dict) and isinstance(record.get("file"), str) and record["file"]:
        return FileSystems.join(root, posixpath.normpath(record["file"]))
    return None


def list_folder(source):
    """Image files of the folder, each with its sidecar line. An image whose line is invalid or
    repeated is rejected rather than ingested without its annotations; a line naming no file
    that exists is rejected too; so nothing named anywhere is lost silently."""
    root = source.location.rstrip("/")
    sidecar = FileSystems.join(root, SIDECAR)
    files = {p for p in _list_files(root) if p.lower().endswith(IMAGE_SUFFIXES)}
    described, rejected = {}, {}
    for number, record, problem in read_sidecar(sidecar):
        uri = _named_file(record, root)
        where = f"{SIDECAR} line {number}"
        if uri is None:
            yield reject(STAGE, "bad_metadata", f"{where}: {problem}", subject=f"{sidecar}:{number}",
                         kind="metadata", source=source.name)
        elif problem or uri in described or uri in rejected:
            rejected[uri] = ("bad_metadata", f"{where}: {problem or 'the file is described twice'}")
        elif uri not in files and not FileSystems.exists(uri):
            rejected[uri] = ("missing_file", f"{where} names a file that does not exist")
        else:
            described[uri] = record
    for uri in sorted(files | set(described) | set(rejected)):
        if uri in rejected:
            reason, detail = rejected[uri]
            yield reject(STAGE, reason, detail, subject=uri, kind="image", source=source.name)
        else:
            yield ImageRef(uri=uri, source=source.name,
                           metadata=described.get(uri, {"file": posixpath.relpath(uri, root)}))
