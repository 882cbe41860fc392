"""DecodeAndHash: read each image's bytes, check and decode it safely, reduce it to hashes and size."""
import apache_beam as beam

from ..images.decode import ImageRejected
from ..images.phash import HASH_ALGORITHM, hash_image
from ..records import HashedImage, sha256_hex
from ..sources import read_image_bytes
from .base import REJECTS, guarded, image_subject, to_rejects

STAGE = "decode_and_hash"


class DecodeAndHashFn(beam.DoFn):
    def __init__(self, max_pixels: int, min_side: int):
        self.max_pixels = max_pixels
        self.min_side = min_side

    def process(self, ref):
        try:
            data = read_image_bytes(ref.uri)
        except Exception as exc:  # each FileSystems scheme (and the video decoder) raises its own
            yield to_rejects(image_subject(ref).reject(STAGE, "unreadable", f"{exc.__class__.__name__}: {exc}"))
            return
        try:
            facts = hash_image(data, max_pixels=self.max_pixels, min_side=self.min_side, uri=ref.uri)
        except ImageRejected as exc:
            yield to_rejects(image_subject(ref).reject(STAGE, exc.reason, str(exc)))
            return
        yield HashedImage(id=sha256_hex(data), uri=ref.uri, source=ref.source, width=facts.width,
                          height=facts.height, phash=facts.phash, metadata=ref.metadata,
                          hash_algorithm=HASH_ALGORITHM, crop_hashes=facts.crop_hashes,
                          colour=facts.colour, format=facts.format, file_size=len(data))


class DecodeAndHash(beam.PTransform):
    """ImageRef -> {"images": HashedImage, "rejects": rejects records}."""

    def __init__(self, max_pixels: int, min_side: int):
        super().__init__()
        self.fn = DecodeAndHashFn(max_pixels, min_side)

    def expand(self, refs):
        out = refs | "Decode" >> guarded(STAGE, self.fn, lambda ref: [image_subject(ref)], main="images")
        return {"images": out.images, "rejects": out[REJECTS]}
