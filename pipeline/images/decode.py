"""Safe decoding and normalisation of untrusted image bytes."""
import io
import posixpath

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, UnidentifiedImageError

# The formats a file's extension promises; a file whose bytes are another format is rejected.
# Pillow reads some camera JPEGs as MPO (several JPEGs in one file); PPM covers the Netpbm family.
# These are the accepted formats: a file with another extension is kept only when its first bytes
# identify one of them (``identify_format``).
FORMATS_OF_SUFFIX = {".jpg": {"JPEG", "MPO"}, ".jpeg": {"JPEG", "MPO"}, ".png": {"PNG"},
                     ".webp": {"WEBP"}, ".gif": {"GIF"}, ".bmp": {"BMP"}, ".tif": {"TIFF"},
                     ".tiff": {"TIFF"}, ".ppm": {"PPM"}, ".pgm": {"PPM"}, ".pbm": {"PPM"},
                     ".pnm": {"PPM"}}
ACCEPTED_FORMATS = tuple(sorted(set().union(*FORMATS_OF_SUFFIX.values())))
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_EXIF_ORIENTATION = 0x0112

class ImageRejected(Exception):
    """An image the pipeline cannot use; ``reason`` is a short code, the message says why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def formats_of(uri: str):
    """The formats the extension of ``uri`` promises, or None for an extension not in the table."""
    return FORMATS_OF_SUFFIX.get(posixpath.splitext(uri.lower())[1])


def identify_format(head: bytes):
    """The accepted format Pillow recognises in a file's first 16 bytes (by each format plugin's
    own signature check), or None: how a file with an unknown extension is told apart."""
    Image.init()
    for name in ACCEPTED_FORMATS:
        accept = Image.OPEN.get(name, (None, None))[1]
        if accept and accept(head[:16]):
            return name
    return None


def open_checked(data: bytes, max_pixels: int, min_side: int, uri: str = "") -> Image.Image:
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
    expected = formats_of(uri)
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
    """16-bit, 32-bit integer and float greyscale to 8 bits, scaled by the range the values
    actually take (from 0, or the smallest value when it is negative, to the largest): a float
    image in 0..1 and a 12-bit image in a 16-bit file reach white instead of staying black, and
    nothing above 255 is clipped to white. NaN counts as 0."""
    values = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low = min(0.0, values.min()) if values.size else 0.0
    span = (values.max() - low) if values.size else 0.0
    scaled = (values - low) * (255.0 / span) if span > 0 else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


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


def loaded_upright(img: Image.Image) -> Image.Image:
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
    img = open_checked(data, max_pixels, min_side, uri)
    _draft_at_least(img, at_least)
    return _upright_rgb(img)


def upright_bytes(data: bytes, *, max_pixels: int) -> bytes:
    """The image file to hand on wherever pixels leave mir (exports, preview): ``data`` itself when
    a viewer shows it as ``decode_image`` does (8-bit RGB or greyscale, no EXIF turn), otherwise
    ``decode_image``'s upright RGB re-encoded (a JPEG as JPEG, quality 95; anything else as PNG),
    so width and height are the build's and boxes, stated for the upright picture, fall where
    they belong."""
    img = open_checked(data, max_pixels, 1)
    if img.mode in ("RGB", "L") and img.getexif().get(_EXIF_ORIENTATION, 1) == 1:
        return data
    jpeg = img.format in ("JPEG", "MPO")
    buffer = io.BytesIO()
    _upright_rgb(img).save(buffer, format="JPEG" if jpeg else "PNG", **({"quality": 95} if jpeg else {}))
    return buffer.getvalue()


def _draft_at_least(img: Image.Image, at_least) -> None:
    if at_least and img.format in ("JPEG", "MPO"):
        img.draft("RGB", tuple(reversed(at_least)) if _turned(img) else tuple(at_least))


def _upright_rgb(img: Image.Image) -> Image.Image:
    """The opened ``img`` decoded, upright and normalised, in RGB (no copy when it already is)."""
    img = normalise(loaded_upright(img))
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
    img = open_checked(data, max_pixels, min_side, uri)
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


def upright_size(img: Image.Image) -> tuple:
    width, height = img.size
    return (height, width) if _turned(img) else (width, height)
