"""Safe decoding, normalisation, hashing and derivation of images (pure functions, no Beam)."""
import dataclasses
import functools
import hashlib
import io
import posixpath

import cv2
import numpy as np
import PIL
import simplejpeg
import threadpoolctl
from PIL import Image, ImageOps, UnidentifiedImageError

PHASH_SIZE = 8
# The DCT runs over a PHASH_INPUT-square greyscale thumbnail, as imagehash.phash does (4 x size).
PHASH_INPUT = 4 * PHASH_SIZE
# JPEGs are decoded at 1/2..1/8 scale (Pillow draft mode) to at least this size before the
# thumbnail is made: benchmarks/hash_bench.py measures the speed and the deviation it costs.
DRAFT_SIDE = 128
# Besides the full image, the pHashes of these parts (normalised [x0, y0, x1, y1]) are stored, so
# a crop of an image hashes close to one of them: central 90% and 80% (5% and 10% cut from every
# side) and 10% cut from one side. scripts/dedup_quality.py measures what they catch.
CROP_BOXES = {
    "central 90% crop": (0.05, 0.05, 0.95, 0.95),
    "central 80% crop": (0.1, 0.1, 0.9, 0.9),
    "10% cut from the left": (0.1, 0.0, 1.0, 1.0),
    "10% cut from the right": (0.0, 0.0, 0.9, 1.0),
    "10% cut from the top": (0.0, 0.1, 1.0, 1.0),
    "10% cut from the bottom": (0.0, 0.0, 1.0, 0.9),
}
HASH_ALGORITHM = (f"phash:dct{PHASH_INPUT}:{PHASH_SIZE}x{PHASH_SIZE}:draft{DRAFT_SIDE}"
                  f"+crops:{';'.join(','.join(f'{v:g}' for v in box) for box in CROP_BOXES.values())}"
                  f"/pillow-{PIL.__version__}/numpy-{np.__version__}")
# The formats a file's extension promises; a file whose bytes are another format is rejected.
# Pillow reads some camera JPEGs as MPO (several JPEGs in one file).
FORMATS_OF_SUFFIX = {".jpg": {"JPEG", "MPO"}, ".jpeg": {"JPEG", "MPO"}, ".png": {"PNG"},
                     ".webp": {"WEBP"}, ".gif": {"GIF"}, ".bmp": {"BMP"}, ".tif": {"TIFF"},
                     ".tiff": {"TIFF"}}
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_EXIF_ORIENTATION = 0x0112
# Beam already runs one element per core; OpenCV's and BLAS's own thread pools on top would
# oversubscribe. The pHash matrix products are small: OpenBLAS's threads cost a 2,000-image
# build more CPU than the products themselves, and both build_bench passes a second of wall time.
cv2.setNumThreads(1)
threadpoolctl.threadpool_limits(1, user_api="blas")


class ImageRejected(Exception):
    """An image the pipeline cannot use; ``reason`` is a short code, the message says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class ImageFacts:
    """What hashing learns about an image: its upright full size, perceptual hash, and the
    perceptual hashes of its CROP_BOXES (in that order)."""
    width: int
    height: int
    phash: str
    crop_hashes: tuple = ()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _open_checked(data: bytes, max_pixels: int, min_side: int, uri: str = "") -> Image.Image:
    """Open (header only) and check format and size limits before any pixel is decoded."""
    if not data:
        raise ImageRejected("empty_file", "the file has zero bytes")
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        # Pillow itself refuses headers above twice its own limit, before our check can run.
        raise ImageRejected("decompression_bomb", f"declared size refused by Pillow: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image", "no image format recognises these bytes") from None
    except Exception as exc:  # malformed headers raise many kinds of errors
        raise ImageRejected("corrupt", f"header unreadable: {exc}") from None
    expected = FORMATS_OF_SUFFIX.get(posixpath.splitext(uri.lower())[1])
    if expected and img.format not in expected:
        raise ImageRejected("wrong_extension", f"the bytes are {img.format}, not what "
                                               f"{posixpath.splitext(uri)[1]} promises")
    width, height = img.size
    if width * height > max_pixels:
        raise ImageRejected("decompression_bomb", f"{width}x{height} exceeds max_pixels={max_pixels}")
    if min(width, height) < min_side:
        raise ImageRejected("too_small", f"{width}x{height} is under min_side={min_side}")
    return img


def _deep_to_l(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float greyscale to 8 bits by scaling, rather than clipping
    everything above 255 to white."""
    values = np.asarray(img, dtype=np.float64)
    if values.size and values.max() > 255:
        values = values * (255.0 / max(values.max(), 65535.0))
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), mode="L")


def normalise(img: Image.Image) -> Image.Image:
    """RGB (or L when already greyscale) with transparency flattened onto white, so every mode
    hashes and encodes alike."""
    if img.mode in _ALPHA_MODES or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode.startswith("I") or img.mode == "F":
        return _deep_to_l(img)
    return img if img.mode in ("RGB", "L") else img.convert("RGB")


def _loaded_upright(img: Image.Image) -> Image.Image:
    """The first frame, decoded, with EXIF orientation applied; decode errors become rejects."""
    try:
        img.seek(0)  # animated images: the first frame
        img.load()
        ImageOps.exif_transpose(img, in_place=True)
        return img
    except Exception as exc:  # truncated or corrupt data surfaces as OSError, SyntaxError, ...
        raise ImageRejected("corrupt", f"decode failed: {exc}") from None


def decode_image(data: bytes, *, max_pixels: int, min_side: int, uri: str = "", at_least=None) -> Image.Image:
    """Decode ``data`` into an upright RGB image, or raise ImageRejected with the reason. With
    ``at_least`` (upright width, height), a JPEG is decoded at the smallest DCT scale (1/2..1/8)
    that still gives that many pixels: a 12-megapixel photo that only feeds 400-pixel views
    decodes several times faster."""
    img = _open_checked(data, max_pixels, min_side, uri)
    _draft_at_least(img, at_least)
    return _upright_rgb(img)


def _draft_at_least(img: Image.Image, at_least) -> None:
    if at_least and img.format in ("JPEG", "MPO"):
        img.draft("RGB", tuple(reversed(at_least)) if _turned(img) else tuple(at_least))


def _upright_rgb(img: Image.Image) -> Image.Image:
    """The opened ``img`` decoded, upright and normalised, in RGB (no copy when it already is)."""
    img = normalise(_loaded_upright(img))
    return img if img.mode == "RGB" else img.convert("RGB")


# EXIF orientation -> the numpy view that turns a decoded array upright (Pillow's exif_transpose).
_UPRIGHT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
            5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
            7: lambda a: a.swapaxes(0, 1)[::-1, ::-1], 8: lambda a: np.rot90(a, 1)}


def decode_pixels(data: bytes, *, max_pixels: int, min_side: int, uri: str = "", at_least=None) -> np.ndarray:
    """``decode_image`` as an RGB array (height, width, 3). A plain JPEG (RGB or greyscale, one
    frame) is decoded by libjpeg-turbo (simplejpeg) straight into the array, at the DCT scale
    Pillow's draft mode picks, then turned upright by its EXIF orientation: the same pixels as
    Pillow's decode in 70% of the time Pillow takes to decode and copy into numpy. Every other
    image, and a JPEG libjpeg warns about, takes decode_image's path."""
    img = _open_checked(data, max_pixels, min_side, uri)
    plain_jpeg, full_width = img.format == "JPEG" and img.mode in ("RGB", "L"), img.width
    _draft_at_least(img, at_least)
    if plain_jpeg:
        try:
            pixels = simplejpeg.decode_jpeg(data, "RGB", min_factor=round(full_width / img.width),
                                            min_width=img.width, min_height=img.height)
        except ValueError:  # any libjpeg warning (stray bytes, ...): Pillow decides what is usable
            pass
        else:
            turn = _UPRIGHT.get(img.getexif().get(_EXIF_ORIENTATION))
            return np.ascontiguousarray(turn(pixels)) if turn else pixels
    return np.asarray(_upright_rgb(img))


def _turned(img: Image.Image) -> bool:
    """Whether the EXIF orientation swaps width and height (a quarter turn, or a transpose)."""
    return img.getexif().get(_EXIF_ORIENTATION) in (5, 6, 7, 8)


def _upright_size(img: Image.Image) -> tuple:
    width, height = img.size
    return (height, width) if _turned(img) else (width, height)


def hash_image(data: bytes, *, max_pixels: int, min_side: int, uri: str = "") -> ImageFacts:
    """Check and hash ``data`` without decoding it at full scale: JPEGs decode in draft mode
    (DCT scaling, greyscale) to at least DRAFT_SIDE pixels a side, which is all a 32x32
    thumbnail needs. Every byte is still decoded, so truncated files are still caught."""
    img = _open_checked(data, max_pixels, min_side, uri)
    width, height = _upright_size(img)
    if img.format in ("JPEG", "MPO"):
        img.draft("L", (DRAFT_SIDE, DRAFT_SIDE))
    full, *crops = phashes(normalise(_loaded_upright(img)), [FULL_BOX, *CROP_BOXES.values()])
    return ImageFacts(width, height, full, tuple(crops))


FULL_BOX = (0.0, 0.0, 1.0, 1.0)


def phashes(img: Image.Image, boxes) -> tuple:
    """The pHashes of the normalised ``boxes`` of ``img``. Resampling a box to the 32x32
    thumbnail and taking the low DCT block are both linear, so each box's 8x8 block is one
    matrix product per axis (_low_dct_of_resampling), with Pillow's LANCZOS weights: within a
    fraction of a bit of imagehash's pHash, several times faster than Pillow resizes. The image
    is first reduced (box average) to at least 2 x DRAFT_SIDE a side, as draft-decoded JPEGs
    already are: on large images that keeps the hashes 0.3 bits (at most 4) from imagehash's,
    where reducing to DRAFT_SIDE cost 1.2."""
    grey = img.convert("L")
    return _grey_phashes(np.asarray(grey.reduce(_hash_reduction(grey.size))), boxes)


def phash_hex(img: Image.Image) -> str:
    """imagehash.phash's definition (greyscale 32x32 LANCZOS thumbnail, 2-D DCT, low 8x8 block
    against its median, bits row-major), computed as ``phashes`` does."""
    return phashes(img, [FULL_BOX])[0]


def pixels_phash(pixels: np.ndarray) -> str:
    """``phash_hex`` of an RGB or greyscale pixel array (a derived image), without a Pillow image.
    Its box reduction is OpenCV's; ``phashes`` keeps Pillow's, so the dedup hashes stay those
    HASH_ALGORITHM names."""
    grey = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    return _grey_phashes(_reduce(grey, _hash_reduction(grey.shape[::-1])), [FULL_BOX])[0]


def _hash_reduction(size) -> int:
    return max(1, min(size) // (2 * DRAFT_SIDE))


def _grey_phashes(grey: np.ndarray, boxes) -> tuple:
    height, width = grey.shape
    pixels = grey.astype(np.float64)
    boxes = list(boxes)
    low = np.stack([_low_dct_of_resampling(height, y0 * height, y1 * height) @ pixels
                    @ _low_dct_of_resampling(width, x0 * width, x1 * width).T
                    for x0, y0, x1, y1 in boxes]).reshape(len(boxes), -1)
    bits = np.packbits(low > np.median(low, axis=1, keepdims=True), axis=1)
    return tuple(row.tobytes().hex() for row in bits)


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


@functools.lru_cache(maxsize=1024)
def _low_dct_of_resampling(size: int, start: float, stop: float) -> np.ndarray:
    """(PHASH_SIZE, size): the low DCT rows of the LANCZOS resampling of pixels [start, stop) of
    an axis to PHASH_INPUT pixels, with Pillow's kernel (support 3, stretched when shrinking,
    weights normalised per output pixel)."""
    scale = (stop - start) / PHASH_INPUT
    centre = start + (np.arange(PHASH_INPUT) + 0.5) * scale
    weights = _lanczos((np.arange(size)[None, :] + 0.5 - centre[:, None]) / max(scale, 1.0))
    weights /= weights.sum(axis=1, keepdims=True)
    return _dct_matrix(PHASH_INPUT)[:PHASH_SIZE] @ weights


@functools.lru_cache(maxsize=None)
def _dct_matrix(n: int) -> np.ndarray:
    """DCT-II basis (unscaled: only comparisons with the median matter)."""
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.cos(np.pi * k * (2 * i + 1) / (2 * n))


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def encode_jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    """Deterministic JPEG bytes of an RGB or greyscale pixel array (no timestamps or random
    metadata are written)."""
    bgr = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {pixels.shape} image as JPEG")
    return data.tobytes()


def _pixel_box(size: tuple, box) -> tuple:
    """The normalised [x0, y0, x1, y1] ``box`` in pixels of an image of ``size`` (width, height)."""
    (width, height), (x0, y0, x1, y1) = size, box
    return (round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height))


def apply_transform(pixels: np.ndarray, transform: dict) -> np.ndarray:
    """Derive an image from an RGB (or greyscale) pixel array: crop to the normalised ``box``,
    resize to ``size`` [w, h] (a zoom when the crop is smaller), Gaussian-blur by ``blur``
    sigma in output pixels. Other keys are the task's own. OpenCV does the pixel work: its
    resize and blur are several times faster than Pillow's (benchmarks/build_bench.py)."""
    if "box" in transform:
        x0, y0, x1, y1 = _pixel_box(pixels.shape[1::-1], transform["box"])
        pixels = pixels[y0:y1, x0:x1]
    size = tuple(transform.get("size", pixels.shape[1::-1]))
    sigma = transform.get("blur") or 0
    # Blurring commutes with scaling (sigma scales with the image), so blur whichever of the
    # crop and the output is smaller: the same picture for a fraction of the work.
    upscale = size[0] / pixels.shape[1]
    if sigma and upscale > 1:
        pixels = _gaussian_blur(pixels, sigma / upscale)
    if size != pixels.shape[1::-1]:
        pixels = _resize(pixels, size)
    if sigma and upscale <= 1:
        pixels = _gaussian_blur(pixels, sigma)
    return np.ascontiguousarray(pixels)


def _gaussian_blur(pixels: np.ndarray, sigma: float) -> np.ndarray:
    # Edges repeat their last pixel, as Pillow's GaussianBlur does.
    return cv2.GaussianBlur(pixels, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)


def _reduce(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Box average over ``factor`` x ``factor`` blocks: OpenCV's fast integer-factor path, on a
    crop to a multiple of the factor (at most factor - 1 edge pixels dropped)."""
    if factor == 1:
        return pixels
    height, width = pixels.shape[:2]
    pixels = pixels[:height - height % factor, :width - width % factor]
    return cv2.resize(pixels, (width // factor, height // factor), interpolation=cv2.INTER_AREA)


def _resize(pixels: np.ndarray, size: tuple) -> np.ndarray:
    """Bicubic when enlarging. When shrinking, box averages by the whole factor first (OpenCV's
    fast integer path); what remains, a factor under 2, is done by enlarging bicubically to
    twice the output and averaging 2x2 blocks. On photos that lands closer to a Lanczos
    resample than OpenCV's area resampling at a non-integer factor, with about as little aliasing,
    in two thirds of its time."""
    height, width = pixels.shape[:2]
    if size[0] > width or size[1] > height:
        return cv2.resize(pixels, size, interpolation=cv2.INTER_CUBIC)
    pixels = _reduce(pixels, min(width // size[0], height // size[1]))
    if pixels.shape[1::-1] == size:
        return pixels
    doubled = cv2.resize(pixels, (2 * size[0], 2 * size[1]), interpolation=cv2.INTER_CUBIC)
    return _reduce(doubled, 2)


def describe_transform(transform: dict) -> str:
    parts = []
    if "box" in transform:
        parts.append("crop [" + ",".join(f"{v:.3f}" for v in transform["box"]) + "]")
    if "size" in transform:
        parts.append("resize {}x{}".format(*transform["size"]))
    if transform.get("blur"):
        parts.append(f"blur {transform['blur']:g}")
    return " ".join(parts) or "copy"
