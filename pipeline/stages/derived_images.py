"""Where the images a build derives (tiles, zooms) wait between Draft and WriteShards: in a
scratch folder of the build's staging folder, one file per sample holding its derived images
one after another in sha256 order, named by the sha256 of their sha256s.

Draft makes each derived image once and keeps it here; samples then travel without its bytes,
so no stage holds the derived images of the whole collection, and WriteShards reads them back
instead of deriving them a second time (which cost a quarter of a build's CPU). One file per
sample rather than per image: creating a file costs the kernel more than writing it, and six
times as many creations kept two drafting threads waiting on each other. A sample's facts
(``image_facts``: sha256 and file_size of each image) are all it takes to find and cut its
file, so nothing else travels. The folder goes through Beam's FileSystems like every other
output, so a Dataflow job's workers share it, and it is removed before the build is published
(output/publish.py).
"""
from apache_beam.io.filesystems import FileSystems

from ..records import sha256_hex
from ..storage import read_bytes, write_bytes


def derived_path(folder: str, hashes) -> str:
    """The file holding the derived images ``hashes`` (sha256s, in any order)."""
    return FileSystems.join(folder, sha256_hex("\n".join(sorted(hashes)).encode()) + ".bin")


def keep_derived(folder: str, entries: list) -> None:
    """Writes the bytes of the derived ones among ``entries`` (sample.schema.json image entries
    with their bytes and facts, as ``images.views.materialize`` makes them), if any. Two
    contexts deriving the same images write the same bytes to the same file, so the order they
    land in does not matter."""
    derived = sorted((e for e in entries if e["derived_from"]), key=lambda e: e["sha256"])
    if derived:
        write_bytes(derived_path(folder, [e["sha256"] for e in derived]), b"".join(e["bytes"] for e in derived))


def read_derived(folder: str, facts: list) -> dict:
    """{sha256: bytes} of the derived images among ``facts`` (a sample's ``image_facts``) as
    Draft kept them. Raises OSError when their file is not there, ValueError when it holds
    other bytes."""
    derived = sorted({f["sha256"]: f["file_size"] for f in facts if f["derived_from"]}.items())
    if not derived:
        return {}
    data = read_bytes(derived_path(folder, [sha256 for sha256, _ in derived]))
    if len(data) != sum(size for _, size in derived):
        raise ValueError(f"the derived images kept for the shards hold {len(data)} bytes, not the "
                         f"{sum(size for _, size in derived)} their facts give")
    images, start = {}, 0
    for sha256, size in derived:
        images[sha256], start = data[start:start + size], start + size
        if sha256_hex(images[sha256]) != sha256:
            raise ValueError(f"the derived image {sha256} kept for the shards holds other bytes")
    return images
