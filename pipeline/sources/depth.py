"""Regions' distances from the camera, read from a depth map of their image.

A depth map holds one value per pixel of the image: a 16-bit PNG in millimetres (NYU Depth v2),
a 16-bit PNG in 1/256 m (KITTI), or a ``.npy`` array (float metres, or integers with a scale).
A pixel is valid when its value is finite and above 0 (0 is every format's "no measurement").
A region's depth is the median of the valid pixels whose centres lie inside its box, times the
map's ``scale`` (metres per stored unit): the median, because a box around an object also holds
some background, and a hole's zeros must not drag the value towards the camera. A region with
too few valid pixels gets no depth.
"""
import io
import math

import numpy as np
from PIL import Image, UnidentifiedImageError

MIN_VALID_PIXELS = 16        # fewer valid pixels than this never give a depth
MIN_VALID_SHARE = 0.05       # default share of a box's pixels that must be valid
INTEGER_SCALE = 0.001        # integer maps default to millimetres (NYU Depth v2, ScanNet, TUM-style PNGs)
FLOAT_SCALE = 1.0            # float maps default to metres
_PNG_MODES = ("I;16", "I;16B", "I;16L", "I", "F")   # Pillow's modes of 16-bit, 32-bit and float images
_MAX_PIXELS = 40_000_000     # a depth map larger than this is refused before its pixels are decoded


class DepthMapProblem(Exception):
    """A depth map that cannot be used: ``reason`` is ``bad_depth_map`` (not a readable metric map)
    or ``depth_map_size`` (its size is not the image's)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _mismatch(size, image_size):
    if tuple(size) != tuple(image_size):
        raise DepthMapProblem("depth_map_size", f"the depth map is {size[0]}x{size[1]} pixels, the image "
                                                f"{image_size[0]}x{image_size[1]}")


def _from_npy(data: bytes, image_size) -> np.ndarray:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, EOFError, OSError, ... for files that are not arrays
        raise DepthMapProblem("bad_depth_map", f"not a .npy array ({exc.__class__.__name__})") from None
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2 or array.dtype.kind not in "uif":
        raise DepthMapProblem("bad_depth_map", f"a {array.dtype} array of shape {array.shape}, not one number per pixel")
    _mismatch((array.shape[1], array.shape[0]), image_size)
    return array


def _from_image(data: bytes, image_size) -> np.ndarray:
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise DepthMapProblem("bad_depth_map", "not an image Pillow can read") from None
    if image.mode not in _PNG_MODES:
        raise DepthMapProblem("bad_depth_map", f"a {image.mode} image: depth maps are 16-bit, 32-bit or float images "
                                               "(an 8-bit image is a picture of depth, not a measurement)")
    _mismatch(image.size, image_size)
    if image.width * image.height > _MAX_PIXELS:
        raise DepthMapProblem("bad_depth_map", f"more than {_MAX_PIXELS:,} pixels")
    try:
        return np.asarray(image)
    except (OSError, ValueError) as exc:
        raise DepthMapProblem("bad_depth_map", f"its pixels cannot be decoded ({exc})") from None


def read_depth_map(data: bytes, name: str, image_size, scale=None) -> np.ndarray:
    """The depth map's values in metres (NaN where invalid), one per pixel of an image of
    ``image_size`` (width, height); ``scale`` None takes the default of the map's number type."""
    raw = _from_npy(data, image_size) if name.lower().endswith(".npy") else _from_image(data, image_size)
    if scale is None:
        scale = FLOAT_SCALE if raw.dtype.kind == "f" else INTEGER_SCALE
    metres = raw.astype(np.float64) * scale
    metres[~(np.isfinite(metres) & (metres > 0))] = np.nan
    return metres


def _pixel_span(start: float, end: float, length: int) -> tuple:
    """Pixels whose centres lie in [start, end] of a side ``length`` pixels long (normalised edges)."""
    first = max(0, math.ceil(start * length - 0.5))
    last = min(length - 1, math.floor(end * length - 0.5))
    return first, last + 1


def region_depth(depth: np.ndarray, bbox, min_valid_share: float = MIN_VALID_SHARE):
    """The median depth in metres of the valid pixels in ``bbox`` (normalised [x0, y0, x1, y1]),
    or None when fewer than MIN_VALID_PIXELS, or than ``min_valid_share`` of the box, are valid."""
    height, width = depth.shape
    x0, x1 = _pixel_span(bbox[0], bbox[2], width)
    y0, y1 = _pixel_span(bbox[1], bbox[3], height)
    window = depth[y0:y1, x0:x1]
    valid = window[~np.isnan(window)]
    if valid.size == 0 or valid.size < max(MIN_VALID_PIXELS, min_valid_share * window.size):
        return None
    return round(float(np.median(valid)), 6)


def with_depths(record: dict, depth: np.ndarray, min_valid_share: float) -> dict:
    """``record`` with each region's ``depth_m`` from the map, where it has none of its own (a depth
    written by hand wins) and the map gives one."""
    regions = []
    for region in record.get("regions", []):
        measured = None if "depth_m" in region.get("attributes", {}) else region_depth(depth, region["bbox"], min_valid_share)
        if measured is not None:
            region = dict(region, attributes=dict(region.get("attributes", {}), depth_m=measured))
        regions.append(region)
    return dict(record, regions=regions) if "regions" in record else record
