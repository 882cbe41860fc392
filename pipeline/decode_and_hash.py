"""DecodeAndHash: read each image's bytes, decode it safely and reduce it to hashes and size."""
import apache_beam as beam

from .imaging import ImageRejected, decode_image, phash_hex, sha256_hex
from .records import HashedImage, reject
from .stage import REJECTS, read_bytes, to_rejects

STAGE = "decode_and_hash"


class DecodeAndHashFn(beam.DoFn):
    def __init__(self, max_pixels: int, min_side: int):
        self.max_pixels = max_pixels
        self.min_side = min_side

    def process(self, ref):
        try:
            data = read_bytes(ref.uri)
        except Exception as exc:  # each FileSystems scheme raises its own errors
            yield to_rejects(reject(STAGE, "unreadable", f"{exc.__class__.__name__}: {exc}",
                                    subject=ref.uri, kind="image", source=ref.source))
            return
        try:
            img = decode_image(data, max_pixels=self.max_pixels, min_side=self.min_side)
        except ImageRejected as exc:
            yield to_rejects(reject(STAGE, exc.reason, str(exc), subject=ref.uri, kind="image",
                                    source=ref.source))
            return
        yield HashedImage(id=sha256_hex(data), uri=ref.uri, source=ref.source, width=img.width,
                          height=img.height, phash=phash_hex(img), metadata=ref.metadata)


class DecodeAndHash(beam.PTransform):
    """ImageRef -> {"images": HashedImage, "rejects": rejects records}."""

    def __init__(self, max_pixels: int, min_side: int):
        super().__init__()
        self.fn = DecodeAndHashFn(max_pixels, min_side)

    def expand(self, refs):
        out = refs | "Decode" >> beam.ParDo(self.fn).with_outputs(REJECTS, main="images")
        return {"images": out.images, "rejects": out[REJECTS]}
