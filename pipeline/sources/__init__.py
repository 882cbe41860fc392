"""Sources: one adapter per source kind (``folder``, ``manifest``, ``coco``, ``video``, ``mot``
tracking sequences, ``views`` NeRF-style scenes in ``nerf``), each listing the images of a source
as ImageRefs or rejects records, with the metadata ``sidecar`` checks (``metadata``) and the files
metadata names read into it (``attached``: ``depth`` maps, ``chart_tables``), confined to the
source's root (``paths``, ``files``); ``read_image_bytes``
turns any ImageRef uri (a file, or a video frame) into image bytes, ``read_head`` reads a file's
first bytes, and ``read_unchanged_image`` refuses bytes that are no longer the ones hashed. May
import ``schemas`` and the foundation modules (``records``, ``storage``) only."""
from apache_beam.io.filesystems import FileSystems

from ..records import sha256_hex
from ..safe_files import FileTooLarge, read_regular
from .coco import list_coco
from .folder import list_folder
from .manifest import list_manifest
from .mot import list_mot
from .nerf import list_views
from .video import list_video, parse_frame_uri, read_frame

LISTERS = {"folder": list_folder, "manifest": list_manifest, "coco": list_coco, "video": list_video,
           "mot": list_mot, "views": list_views}


def list_source(source):
    """Yield an ImageRef per image of ``source``, or a rejects record where one is unusable."""
    yield from LISTERS[source.kind](source)


# The most bytes an image file may have (manifest.schema.json's decode.max_bytes default): a
# file with a valid image head can be gigabytes, and is refused without being read whole.
MAX_IMAGE_BYTES = 256 * 2 ** 20
# What a re-read of a hashed image reads at most (decode.max_bytes's maximum): the file was no
# larger when it was hashed, and one that grew since is refused by its sha256 anyway.
MAX_REREAD_BYTES = 4 * 2 ** 30


class ImageTooLarge(ValueError):
    """An image file larger than the bytes allowed; it was not read whole."""


def read_image_bytes(uri: str, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of the image an ImageRef names: a file read through FileSystems, or a frame
    (``<video>#t=<seconds>``) decoded and encoded as PNG. DecodeAndHash and Draft both use this.
    A file over ``max_bytes`` raises ImageTooLarge after reading max_bytes + 1 bytes of it. A
    local file must be a regular file (``safe_files.read_regular``): a FIFO or a device a listing
    names raises UnsafeFile instead of stalling the build."""
    frame = parse_frame_uri(uri)
    if frame:
        return read_frame(*frame)
    if FileSystems.get_scheme(uri) is None:
        try:
            return read_regular(uri, max_bytes)
        except FileTooLarge:
            raise ImageTooLarge(f"the file is larger than {max_bytes:,} bytes (decode.max_bytes)") from None
    with FileSystems.open(uri, compression_type="uncompressed") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageTooLarge(f"the file is larger than {max_bytes:,} bytes (decode.max_bytes)")
    return data


def read_head(uri: str, size: int = 16) -> bytes:
    """The first ``size`` bytes of the file ``uri`` (16: what Pillow identifies a format by); a
    local one must be a regular file, as in ``read_image_bytes``."""
    if FileSystems.get_scheme(uri) is None:
        return read_regular(uri, size, head=True)
    with FileSystems.open(uri, compression_type="uncompressed") as f:
        return f.read(size)


class ImageChanged(ValueError):
    """An image's file is no longer the bytes the build hashed."""


def read_unchanged_image(uri: str, sha256: str, max_bytes: int = MAX_REREAD_BYTES) -> bytes:
    """``read_image_bytes``, refusing bytes that are no longer the ones hashed when the build
    began: a sample never mixes an image's old facts with its new pixels, and an export never
    files new pixels under the old sha256."""
    data = read_image_bytes(uri, max_bytes)
    if sha256_hex(data) != sha256:
        raise ImageChanged(f"{uri} is no longer the image the build hashed (sha256 differs); build again")
    return data
