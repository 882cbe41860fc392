"""The ``folder`` source: every file below a folder (recursively) plus its sidecar metadata.

Every file but the sidecar and hidden ones is listed, whatever its extension: ReadSources keeps
the ones whose extension or first bytes are an image format DecodeAndHash accepts and rejects the
rest as ``unsupported_format``, so every file gets an images.parquet row.
"""
import posixpath

from apache_beam.io.filesystems import FileSystems

from .files import find_files
from .paths import Root
from .sidecar import Listing, read_jsonl

SIDECAR = "metadata.jsonl"
STAGE = "read_sources"


def list_folder(source):
    """Files of the folder, each with its sidecar line; a line naming no file that exists rejects
    as ``missing_file``, one naming a path outside the folder as ``outside_source``. Depth maps and
    chart tables that lines name are annotations, like the sidecar, and get no row of their own."""
    root = Root(source.location)
    found = find_files(root.location)
    sidecar = FileSystems.join(root.location, SIDECAR)
    listing = Listing(source, STAGE)
    listing.refuse_all(found.refused)

    def exists(uri):  # not listed: a hidden file, or one below a link to a folder of the source
        return uri in found.files or FileSystems.exists(uri)

    for number, record, problem in read_jsonl(sidecar) if sidecar in found.files else ():
        yield from listing.describe_line(root, f"{SIDECAR} line {number}", record, problem,
                                         f"{sidecar}:{number}", exists)
    images = found.files - {sidecar} - (listing.annotations - set(listing.described) - set(listing.rejected))
    yield from listing.settle(images, lambda uri: {"file": posixpath.relpath(uri, root.location)})
