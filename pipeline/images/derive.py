"""The images the pipeline derives from a photo (crops, zooms, blurs), made with OpenCV on numpy
arrays, and their deterministic JPEG encoding."""
import cv2
import numpy as np


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


def draw_marks(pixels: np.ndarray, marks) -> np.ndarray:
    """A copy of an RGB (or greyscale) array with each mark's normalised ``box`` outlined in its
    ``rgb`` colour: a line about 1/120 of the short side thick (at least 2 pixels), edged in black
    so it stands out on light and dark ground alike."""
    if not marks:
        return pixels
    out = pixels.copy() if pixels.ndim == 3 else np.repeat(pixels[:, :, None], 3, axis=2)
    thickness = max(2, round(min(out.shape[:2]) / 120))
    for mark in marks:
        x0, y0, x1, y1 = _pixel_box(out.shape[1::-1], mark["box"])
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 0, 0), thickness + 2)
        cv2.rectangle(out, (x0, y0), (x1, y1), tuple(int(v) for v in mark["rgb"]), thickness)
    return out


def apply_transform(pixels: np.ndarray, transform: dict) -> np.ndarray:
    """Derive an image from an RGB (or greyscale) pixel array: crop to the normalised ``box``,
    resize to ``size`` [w, h] (a zoom when the crop is smaller), Gaussian-blur by ``blur``
    sigma in output pixels, outline the ``marks`` (regions a question points at by a drawn box;
    only on a whole image, so their boxes are the source's). Other keys are the task's own.
    OpenCV does the pixel work: its resize and blur are several times faster than Pillow's
    (benchmarks/build_bench.py)."""
    if transform.get("marks"):
        return draw_marks(pixels, transform["marks"])
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


def reduce_blocks(pixels: np.ndarray, factor: int) -> np.ndarray:
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
    pixels = reduce_blocks(pixels, min(width // size[0], height // size[1]))
    if pixels.shape[1::-1] == size:
        return pixels
    doubled = cv2.resize(pixels, (2 * size[0], 2 * size[1]), interpolation=cv2.INTER_CUBIC)
    return reduce_blocks(doubled, 2)


def describe_transform(transform: dict) -> str:
    parts = []
    if "box" in transform:
        parts.append("crop [" + ",".join(f"{v:.3f}" for v in transform["box"]) + "]")
    if "size" in transform:
        parts.append("resize {}x{}".format(*transform["size"]))
    if transform.get("blur"):
        parts.append(f"blur {transform['blur']:g}")
    for mark in transform.get("marks", ()):
        parts.append(f"mark {mark['colour']} [" + ",".join(f"{v:.3f}" for v in mark["box"]) + "]")
    return " ".join(parts) or "copy"
