"""The ``folder`` source: image files below a folder (recursively) plus its sidecar metadata."""
import posixpath

from apache_beam.io.filesystems import FileSystems

from .sidecar import Listing, read_sidecar

SIDECAR = "metadata.jsonl"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
STAGE = "read_sources"


def list_files(location: str) -> set:
    """Every file below ``location``, in one FileSystems listing (no request per file)."""
    pattern = FileSystems.join(location, "**")
    return {m.path for result in FileSystems.match([pattern]) for m in result.metadata_list}


def _named_file(record, root: str):
    """The uri a sidecar object names, or None when it names none."""
    if isinstance(record, dict) and isinstance(record.get("file"), str) and record["file"]:
        return FileSystems.join(root, posixpath.normpath(record["file"]))
    return None


def list_folder(source):
    """Image files of the folder, each with its sidecar line; a line naming no file that exists
    rejects as ``missing_file``."""
    root = source.location.rstrip("/")
    sidecar = FileSystems.join(root, SIDECAR)
    files = {p for p in list_files(root) if p.lower().endswith(IMAGE_SUFFIXES)}
    listing = Listing(source, STAGE)
    for number, record, problem in read_sidecar(sidecar):
        uri = _named_file(record, root)
        where = f"{SIDECAR} line {number}"
        if uri is None:
            yield listing.reject_record("bad_metadata", f"{where}: {problem}", f"{sidecar}:{number}")
        else:
            listing.describe(uri, record, where, problem,
                             exists=problem is not None or uri in files or FileSystems.exists(uri))
    yield from listing.settle(files, lambda uri: {"file": posixpath.relpath(uri, root)})
