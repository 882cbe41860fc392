"""Safe decoding, normalisation, hashing and derivation of images (pure functions, no Beam)."""
import hashlib
import io
import warnings

import imagehash
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

PHASH_SIZE = 8
HASH_ALGORITHM = f"imagehash.phash/{PHASH_SIZE}x{PHASH_SIZE}/imagehash-{imagehash.__version__}"


class ImageRejected(Exception):
    """An image the pipeline cannot use; ``reason`` is a short code, the message says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _open_checked(data: bytes, max_pixels: int, min_side: int) -> Image.Image:
    """Open (header only) and check size limits before any pixel is decoded."""
    if not data:
        raise ImageRejected("empty_file", "the file has zero bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("decompression_bomb", "declared pixel count exceeds Pillow's limit") from None
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image", "no image format recognises these bytes") from None
    except Exception as exc:  # malformed headers raise many kinds of errors
        raise ImageRejected("corrupt", f"header unreadable: {exc}") from None
    width, height = img.size
    if width * height > max_pixels:
        raise ImageRejected("decompression_bomb", f"{width}x{height} exceeds max_pixels={max_pixels}")
    if min(width, height) < min_side:
        raise ImageRejected("too_small", f"{width}x{height} is under min_side={min_side}")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB with transparency flattened onto white, so every mode hashes and encodes alike."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits rather than clipping at 255.
        return img.point(lambda v: v / 256).convert("L").convert("RGB")
    return img.convert("RGB")


def decode_image(data: bytes, *, max_pixels: int, min_side: int) -> Image.Image:
    """Decode ``data`` into an upright RGB image, or raise ImageRejected with the reason."""
    img = _open_checked(data, max_pixels, min_side)
    try:
        img.seek(0)  # animated images: the first frame
        img = ImageOps.exif_transpose(img)
        img.load()
        return _to_rgb(img)
    except ImageRejected:
        raise
    except Exception as exc:  # truncated or corrupt data surfaces as OSError, SyntaxError, ...
        raise ImageRejected("corrupt", f"decode failed: {exc}") from None


def phash_hex(img: Image.Image) -> str:
    return str(imagehash.phash(img, hash_size=PHASH_SIZE))


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def encode_jpeg(img: Image.Image, quality: int = 90) -> bytes:
    """Deterministic JPEG bytes (no timestamps or random metadata are written)."""
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, optimize=False, progressive=False)
    return out.getvalue()


def _pixel_box(img: Image.Image, box) -> tuple:
    x0, y0, x1, y1 = box
    return (round(x0 * img.width), round(y0 * img.height), round(x1 * img.width), round(y1 * img.height))


def apply_transform(img: Image.Image, transform: dict) -> Image.Image:
    """Derive an image: crop to the normalised ``box``, resize to ``size`` [w, h] (a zoom when
    the crop is smaller), then Gaussian-blur by ``blur`` sigma. Other keys are the task's own."""
    out = img.crop(_pixel_box(img, transform["box"])) if "box" in transform else img
    if "size" in transform:
        out = out.resize(tuple(transform["size"]), Image.Resampling.LANCZOS)
    if transform.get("blur"):
        out = out.filter(ImageFilter.GaussianBlur(transform["blur"]))
    return out


def describe_transform(transform: dict) -> str:
    parts = []
    if "box" in transform:
        parts.append("crop [" + ",".join(f"{v:.3f}" for v in transform["box"]) + "]")
    if "size" in transform:
        parts.append("resize {}x{}".format(*transform["size"]))
    if transform.get("blur"):
        parts.append(f"blur {transform['blur']:g}")
    return " ".join(parts) or "copy"
