"""Reading a build's samples back: OUT/data/<task>/<split>-NNNNN-of-NNNNN.parquet, through Beam's
FileSystems so OUT may be local or gs://. Shards are streamed in record batches, so a reader
holds one batch of embedded images at a time, never a whole task. A build made with
``output.images: shared`` keeps its source images once in OUT/image_table/ (``ImageTable``)."""
import contextlib
import io
import posixpath

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from PIL import Image, UnidentifiedImageError

from ..images.decode import ImageRejected, upright_bytes
from ..safe_files import is_sha256, write_new
from ..samples.judge import MAX_IMAGE_FILE_BYTES
from ..sources import read_unchanged_image
from ..storage import write_bytes

_BATCH_ROWS = 32
# Pillow's format names -> the file extension trainers and browsers expect.
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


class ShardsError(Exception):
    """OUT is not a build that holds samples (missing, empty, or without the asked task)."""


class ImageError(Exception):
    """A sample's image cannot be written out (not embedded and not readable, or not an image)."""


def shard_paths(out: str, task: str = None) -> list:
    """Every sample shard of the build at ``out`` (of one task when given), sorted."""
    out = out.rstrip("/")
    [match] = FileSystems.match([FileSystems.join(out, "data", "*", "*.parquet")])
    paths = sorted(m.path for m in match.metadata_list)
    # Object stores have no folders, so only an empty match says whether OUT exists there.
    if not paths and not FileSystems.exists(out):
        raise ShardsError(f"{out} does not exist")
    if not paths:
        raise ShardsError(f"{out} holds no samples (no data/<task>/*.parquet): is it the output of `mir build`?")
    if task is None:
        return paths
    chosen = [p for p in paths if shard_task(p) == task]
    if not chosen:
        raise ShardsError(f"{out} has no task {task!r} (it has: {', '.join(sorted({shard_task(p) for p in paths}))})")
    return chosen


def shard_task(path: str) -> str:
    return posixpath.basename(posixpath.dirname(path))


def shard_split(path: str) -> str:
    return posixpath.basename(path).split("-", 1)[0]


@contextlib.contextmanager
def _parquet(path: str):
    """The shard at ``path`` as a ParquetFile; a file Arrow cannot read (truncated, not Parquet)
    raises ShardsError naming it, so a command ends in one line instead of Arrow's message."""
    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            yield pq.ParquetFile(f)
    except (pa.ArrowException, OSError) as exc:
        raise ShardsError(f"{path}: not a readable Parquet shard ({exc})") from None


def row_count(path: str) -> int:
    with _parquet(path) as shard:
        return shard.metadata.num_rows


def read_ids(path: str) -> list:
    with _parquet(path) as shard:
        return shard.read(columns=["id"]).column("id").to_pylist()


def iter_samples(paths, ids=None, where=False):
    """Sample dicts (shaped by schemas/sample.schema.json, image bytes as ``bytes``) of the
    shards in order; only those whose id is in ``ids`` when given; as (shard, row, sample)
    when ``where``."""
    for path in paths:
        row = 0
        with _parquet(path) as shard:
            for batch in shard.iter_batches(batch_size=_BATCH_ROWS):
                for sample in batch.to_pylist():
                    if ids is None or sample["id"] in ids:
                        yield (path, row, sample) if where else sample
                    row += 1


class ImageTable:
    """The shared image table of the build at ``out`` (empty when it has none): a source image's
    bytes by sha256. Only the sha256 column is read up front; an image's row group is read when
    it is asked for, and the last one read is kept, since samples are read in order."""

    def __init__(self, out: str):
        [match] = FileSystems.match([FileSystems.join(out.rstrip("/"), "image_table", "*.parquet")])
        self._where, self._group = {}, (None, None)
        for path in sorted(m.path for m in match.metadata_list):
            with _parquet(path) as table:
                for group in range(table.num_row_groups):
                    hashes = table.read_row_group(group, columns=["sha256"]).column("sha256").to_pylist()
                    self._where.update((sha256, (path, group, row)) for row, sha256 in enumerate(hashes))

    def get(self, sha256: str):
        """The image's bytes, or None when the table does not hold it."""
        if sha256 not in self._where:
            return None
        path, group, row = self._where[sha256]
        if self._group[0] != (path, group):
            with _parquet(path) as table:
                self._group = ((path, group), table.read_row_group(group, columns=["image"]))
        return self._group[1].column("image")[row]["bytes"].as_py()


def image_bytes(image: dict, facts: dict, table: ImageTable = None) -> bytes:
    """The encoded bytes of a sample's image (its ``images`` and ``image_facts`` entries):
    embedded, from the build's shared image table, or read again from where the build read it
    (refused when they are no longer the bytes the build hashed). A derived image (tile, zoom)
    exists only embedded."""
    if image["bytes"] is not None:
        return image["bytes"]
    if facts["derived_from"]:
        raise ImageError(f"image {facts['sha256']} was derived by the build and is not embedded")
    shared = table.get(facts["sha256"]) if table else None
    if shared is not None:
        return shared
    try:
        # A shard's uri may name anything: read_image_bytes takes a local file only when it is a
        # regular file (never a FIFO, /dev/zero or a folder; a video a frame is cut from too), and
        # reads at most the cap.
        return read_unchanged_image(facts["uri"], facts["sha256"], MAX_IMAGE_FILE_BYTES)
    except ValueError as exc:
        raise ImageError(str(exc)) from None


def write_file(path: str, data: bytes) -> None:
    """Write a whole file the readers' way: on local disk through a fresh temporary file renamed
    into place (``safe_files.write_new``: never through a link planted at the name); elsewhere
    (object stores have no links) through FileSystems."""
    if FileSystems.get_scheme(path) is None:
        write_new(path, data)
    else:
        write_bytes(path, data)


class ImageFiles:
    """Writes each distinct image of the samples it sees once, as ``<folder>/<sha256>.<ext>``,
    and names it relative to the file that refers to it. The file shows the picture the build
    saw (``images.decode.upright_bytes``: EXIF orientation applied, transparency on white, deep
    images scaled), so a sample's boxes fall on it; ``<sha256>`` stays the build's image id."""

    def __init__(self, root: str, folder: str, table: ImageTable = None):
        self._root, self._folder, self._table = root, folder, table
        self._names = {}

    def name(self, image: dict, facts: dict) -> str:
        sha256 = facts["sha256"]
        if not is_sha256(sha256):
            # It becomes a file name: "../../x" would write outside the folder.
            raise ImageError(f"image_facts sha256 {sha256!r} is not 64 lowercase hex characters")
        if sha256 not in self._names:
            data = _upright(image_bytes(image, facts, self._table), sha256)
            name = f"{self._folder}/{sha256}.{_extension(data, sha256)}"
            write_file(FileSystems.join(self._root, name), data)
            self._names[sha256] = name
        return self._names[sha256]

    def names(self, sample: dict) -> list:
        """The file names of the sample's images, in order."""
        return [self.name(image, facts) for image, facts in zip(sample["images"], sample["image_facts"])]

    @property
    def count(self) -> int:
        return len(self._names)


def _upright(data: bytes, sha256: str) -> bytes:
    try:
        return upright_bytes(data, max_pixels=Image.MAX_IMAGE_PIXELS)
    except ImageRejected as exc:
        if exc.reason == "not_an_image":
            raise ImageError(f"image {sha256} is not in an image format Pillow knows") from None
        raise ImageError(f"image {sha256} cannot be shown: {exc}") from None


def _extension(data: bytes, sha256: str) -> str:
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind = img.format
    except UnidentifiedImageError:
        raise ImageError(f"image {sha256} is not in an image format Pillow knows") from None
    return _EXTENSIONS.get(kind, kind.lower())
