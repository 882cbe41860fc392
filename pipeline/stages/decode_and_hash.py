"""DecodeAndHash: read each image's bytes, check and decode it safely, reduce it to hashes and size.

The reading, decoding and hashing run on a thread pool (stages/parallel.py): one thread per core
by default, the outputs in the order of the inputs whatever the number of threads.
"""
import apache_beam as beam

from ..images.decode import ImageRejected
from ..images.phash import HASH_ALGORITHM, hash_image
from ..records import HashedImage, sha256_hex
from ..sources import MAX_IMAGE_BYTES, ImageTooLarge, read_image_bytes
from .base import REJECTS, image_subject, to_rejects
from .parallel import InOrderThreadsFn

STAGE = "decode_and_hash"
# The size a COCO entry or listing row states (source_metadata.schema.json): checked, then dropped.
STATED_SIZE = ("width", "height")


def size_mismatch(metadata: dict, width: int, height: int):
    """Why the stated size disagrees with the decoded, EXIF-upright image's, or None: boxes in
    pixels were normalised by the stated size, so they would fall in the wrong place."""
    stated = (metadata.get("width", width), metadata.get("height", height))
    if stated == (width, height):
        return None
    return (f"the source states {stated[0]}x{stated[1]}, the decoded image (EXIF orientation applied) is "
            f"{width}x{height}")


class DecodeAndHashFn(InOrderThreadsFn):
    stage, progress_label, progress_unit = STAGE, "reading and hashing images", "images"

    def __init__(self, max_pixels: int, min_side: int, threads=None, progress_seconds=None,
                 max_bytes: int = MAX_IMAGE_BYTES):
        super().__init__(threads, progress_seconds)
        self.max_pixels = max_pixels
        self.min_side = min_side
        self.max_bytes = max_bytes

    def subjects(self, ref) -> list:
        return [image_subject(ref)]

    def work(self, ref):
        """A HashedImage, or a rejects record (not yet counted: that is a Beam call)."""
        try:
            data = read_image_bytes(ref.uri, self.max_bytes)
        except ImageTooLarge as exc:
            return image_subject(ref).reject(STAGE, "too_large", str(exc))
        except Exception as exc:  # each FileSystems scheme (and the video decoder) raises its own
            return image_subject(ref).reject(STAGE, "unreadable", f"{exc.__class__.__name__}: {exc}")
        try:
            facts = hash_image(data, max_pixels=self.max_pixels, min_side=self.min_side, uri=ref.uri)
        except ImageRejected as exc:
            return image_subject(ref).reject(STAGE, exc.reason, str(exc))
        mismatch = size_mismatch(ref.metadata, facts.width, facts.height)
        if mismatch:
            return image_subject(ref).reject(STAGE, "size_mismatch", mismatch)
        metadata = {k: v for k, v in ref.metadata.items() if k not in STATED_SIZE}
        return HashedImage(id=sha256_hex(data), uri=ref.uri, source=ref.source, width=facts.width,
                           height=facts.height, phash=facts.phash, metadata=metadata,
                           hash_algorithm=HASH_ALGORITHM, crop_hashes=facts.crop_hashes,
                           colour=facts.colour, format=facts.format, file_size=len(data))

    def emit(self, ref, result):
        yield to_rejects(result) if isinstance(result, dict) else result


class DecodeAndHash(beam.PTransform):
    """ImageRef -> {"images": HashedImage, "rejects": rejects records}. ``threads``: see
    stages/parallel.py; ``progress_seconds``: interval of the progress line (None: none)."""

    def __init__(self, max_pixels: int, min_side: int, threads=None, progress_seconds=None,
                 max_bytes: int = MAX_IMAGE_BYTES):
        super().__init__()
        self.fn = DecodeAndHashFn(max_pixels, min_side, threads, progress_seconds, max_bytes)

    def expand(self, refs):
        total = refs | "CountImages" >> beam.combiners.Count.Globally()
        out = (refs
               | "Decode" >> beam.ParDo(self.fn, total=beam.pvalue.AsSingleton(total))
               .with_outputs(REJECTS, main="images"))
        return {"images": out.images, "rejects": out[REJECTS]}
