"""Where the images a build derives (tiles, zooms) wait between Draft and WriteShards: one file
per image, ``<folder>/<sha256>.jpg``, in a scratch folder of the build's staging folder.

Draft makes each derived image once and keeps it here; samples then travel without its bytes,
so no stage holds the derived images of the whole collection, and WriteShards reads it back
instead of deriving it a second time (which cost a quarter of a build's CPU). The folder goes
through Beam's FileSystems like every other output, so a Dataflow job's workers share it, and
it is removed before the build is published (output/publish.py).
"""
from apache_beam.io.filesystems import FileSystems

from ..records import sha256_hex
from ..storage import read_bytes, write_bytes


def derived_path(folder: str, sha256: str) -> str:
    return FileSystems.join(folder, f"{sha256}.jpg")


def keep_derived(folder: str, entries: list) -> None:
    """Writes the bytes of each derived entry (sample.schema.json image entries, as
    ``images.views.materialize`` makes them). Two contexts deriving the same image write the
    same bytes to the same file, so the order they land in does not matter."""
    for entry in entries:
        if entry["derived_from"]:
            write_bytes(derived_path(folder, entry["sha256"]), entry["bytes"])


def read_derived(folder: str, sha256: str) -> bytes:
    """The derived image ``sha256`` as Draft kept it. Raises OSError when it is not there,
    ValueError when the file holds other bytes."""
    data = read_bytes(derived_path(folder, sha256))
    if sha256_hex(data) != sha256:
        raise ValueError(f"the derived image {sha256} kept for the shards holds other bytes")
    return data
