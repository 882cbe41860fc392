"""Regions' distances from the camera, read from a depth map of their image.

A depth map holds one value per pixel of the image, stored in one of the encodings public data
sets ship (``ENCODINGS``: millimetres in a 16-bit PNG, KITTI's metres x 256, TUM's metres x 5000,
NYU Depth v2's raw Kinect disparity, float metres), or integers of a stated ``scale``. The file
must be what its encoding says: a map that is not (an 8-bit picture of depth, a raw NYU ``.pgm``
read as millimetres) is refused with a reason naming what it is and what to set, never read in
a unit it may not have. A pixel is valid when its depth is finite and above 0 (0 is every
format's "no measurement"). A region's depth is the median of the valid pixels whose centres
lie inside its box: the median, because a box around an object also holds some background, and
a hole's zeros must not drag the value towards the camera. A region with too few valid pixels
gets no depth; one measured nearer or farther than its encoding's scenes can be (``Encoding.
nearest``, ``farthest``) rejects the image, since the map is then in another unit or broken.
"""
import dataclasses
import io
import math
import re
from collections.abc import Callable

import numpy as np
from PIL import Image, UnidentifiedImageError

MIN_VALID_PIXELS = 16        # fewer valid pixels than this never give a depth
MIN_VALID_SHARE = 0.05       # default share of a box's pixels that must be valid
_MAX_PIXELS = 40_000_000     # a depth map larger than this is refused before its pixels are decoded
NEAREST_M = 0.1              # no depth camera or LiDAR measures an object nearer than this
INDOOR_M = 20.0              # farther than any room (RGB-D sensors read to about 10 m)
LIDAR_M = 120.0              # KITTI's Velodyne HDL-64E reads to about 120 m
ANY_SCENE_M = 1000.0         # float metres and stated scales say nothing of the scene: a kilometre
# NYU Depth v2 toolbox (camera_params.m, depth_rel2depth_abs.m): metres = 351.3 / (1092.5 - raw),
# raw being the Kinect's 11-bit disparity (2047: no reading) after swapbytes.
NYU_DEPTH_PARAM1, NYU_DEPTH_PARAM2 = 351.3, 1092.5
_EXR_MAGIC = b"v/1\x01"
_PGM_HEADER = re.compile(rb"P5(?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)\s")


class DepthMapProblem(Exception):
    """A depth map that cannot be used: ``reason`` is ``bad_depth_map`` (not a readable map, or an
    8-bit picture of depth), ``depth_encoding`` (not stored as its encoding says, or no encoding
    says how it is stored), ``depth_map_size`` (its size is not the image's) or
    ``implausible_depth`` (a region measured nearer or farther than the encoding's scenes can be)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Stored:
    """A depth map's values as the file stores them: ``kind`` "integer" (16- or 32-bit unsigned
    image or integer array), "pgm" (a 16-bit binary PGM), "float" or "8-bit"; ``what`` in words."""
    values: np.ndarray
    kind: str
    what: str


@dataclasses.dataclass(frozen=True)
class Encoding:
    """How a map stores depth: the kind of file (``Stored.kind``) it must be, its values in
    metres, and the depths (metres) a region of its scenes can have."""
    name: str
    stored_as: str           # the file it must be, in words
    kind: str
    to_metres: Callable      # stored values -> metres (float64)
    farthest: float
    scenes: str              # whose depths ``farthest`` bounds, in words
    nearest: float = NEAREST_M


def _nyu_metres(raw: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return NYU_DEPTH_PARAM1 / (NYU_DEPTH_PARAM2 - raw.astype(np.float64))


_ROOM = "no room is that deep"
_ANY = "mir takes no object in a depth map to be farther"
ENCODINGS = {e.name: e for e in (
    Encoding("millimetre_png", "a 16-bit PNG or TIFF in millimetres (NYU Depth v2's labelled set, ScanNet)",
             "integer", lambda raw: raw * 0.001, INDOOR_M, _ROOM),
    Encoding("kitti", "a 16-bit PNG of metres x 256 (KITTI depth completion)", "integer",
             lambda raw: raw / 256.0, LIDAR_M, "KITTI's LiDAR reads no farther"),
    Encoding("tum", "a 16-bit PNG of metres x 5000 (TUM RGB-D)", "integer", lambda raw: raw / 5000.0, INDOOR_M, _ROOM),
    Encoding("nyu_raw", "a 16-bit .pgm of raw Kinect disparity (NYU Depth v2's raw frames)", "pgm",
             _nyu_metres, INDOOR_M, _ROOM),
    Encoding("metres_float", "a float .npy array or 32-bit float TIFF in metres", "float",
             lambda raw: raw * 1.0, ANY_SCENE_M, _ANY),
)}
# Without an encoding: a 16-bit image is millimetres (as NYU Depth v2's labelled PNGs and ScanNet
# ship, the documented default) and a float map metres; any other file needs its encoding named.
_DEFAULT = {"integer": "millimetre_png", "float": "metres_float"}
_NAMES = ", ".join(ENCODINGS)


def _mismatch(size, image_size):
    if tuple(size) != tuple(image_size):
        raise DepthMapProblem("depth_map_size", f"the depth map is {size[0]}x{size[1]} pixels, the image "
                                                f"{image_size[0]}x{image_size[1]}")


def _from_npy(data: bytes, image_size) -> Stored:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, EOFError, OSError, ... for files that are not arrays
        raise DepthMapProblem("bad_depth_map", f"not a .npy array ({exc.__class__.__name__})") from None
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim != 2 or array.dtype.kind not in "uif":
        raise DepthMapProblem("bad_depth_map", f"a {array.dtype} array of shape {array.shape}, not one number per pixel")
    _mismatch((array.shape[1], array.shape[0]), image_size)
    kind = "float" if array.dtype.kind == "f" else "integer"
    return Stored(array, kind, f"a {array.dtype} .npy array")


def _from_pgm(data: bytes, image_size) -> Stored:
    """A binary PGM's samples as its bytes hold them, little-endian: NYU's raw frames are written
    that way under a header whose format says big-endian (the toolbox swaps their bytes back), and
    Pillow would read them big-endian and clip them to the header's maximum."""
    header = _PGM_HEADER.match(data)
    if not header:
        raise DepthMapProblem("bad_depth_map", "a .pgm whose header cannot be read")
    width, height, maxval = (int(n) for n in header.groups())
    _mismatch((width, height), image_size)
    if maxval < 256:   # refused whatever the encoding: its samples are never needed
        return Stored(np.zeros((1, 1), dtype=np.uint8), "8-bit", "an 8-bit PGM")
    if width * height > _MAX_PIXELS:
        raise DepthMapProblem("bad_depth_map", f"more than {_MAX_PIXELS:,} pixels")
    body = data[header.end():header.end() + 2 * width * height]
    if len(body) < 2 * width * height:
        raise DepthMapProblem("bad_depth_map", "a .pgm shorter than its header says")
    return Stored(np.frombuffer(body, dtype="<u2").reshape(height, width), "pgm", "a 16-bit PGM")


# Pillow's modes of a depth map's values: (kind, bits in words); any other mode is an 8-bit picture.
_MODES = {"I;16": ("integer", "16-bit"), "I;16B": ("integer", "16-bit"), "I;16L": ("integer", "16-bit"),
          "I": ("integer", "32-bit integer"), "F": ("float", "32-bit float")}


def _from_image(data: bytes, image_size) -> Stored:
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise DepthMapProblem("bad_depth_map", "not an image Pillow can read") from None
    # Pillow names every Netpbm file PPM; a depth map in one is a PGM (here a plain-text one).
    name = "PGM" if image.format == "PPM" else image.format or "image"
    if image.mode not in _MODES:   # refused whatever the encoding: its pixels are never needed
        return Stored(np.zeros((1, 1), dtype=np.uint8), "8-bit", f"an 8-bit {name} (mode {image.mode})")
    kind, bits = _MODES[image.mode]
    _mismatch(image.size, image_size)
    if image.width * image.height > _MAX_PIXELS:
        raise DepthMapProblem("bad_depth_map", f"more than {_MAX_PIXELS:,} pixels")
    try:
        values = np.asarray(image)
    except (OSError, ValueError) as exc:
        raise DepthMapProblem("bad_depth_map", f"its pixels cannot be decoded ({exc})") from None
    return Stored(values, "pgm" if name == "PGM" and kind == "integer" else kind, f"a {bits} {name}")


def read_stored(data: bytes, name: str, image_size) -> Stored:
    """The depth map's values as stored, one per pixel of an image of ``image_size`` (width, height)."""
    lowered = name.lower()
    if lowered.endswith(".npy"):
        return _from_npy(data, image_size)
    if data[:2] == b"P5":
        return _from_pgm(data, image_size)
    if lowered.endswith(".exr") or data[:4] == _EXR_MAGIC:
        raise DepthMapProblem("depth_encoding", "an OpenEXR file, which mir does not read: save the map as a float "
                                                ".npy array in metres (encoding metres_float)")
    return _from_image(data, image_size)


def _refusal(stored: Stored, asked: str) -> DepthMapProblem:
    """Why ``stored`` cannot be read as ``asked`` (an encoding's name, or None: none was given)."""
    if stored.kind == "8-bit":
        hint = "a picture of depth, not a measurement: name the 16-bit map the data set ships"
    elif stored.kind == "pgm":
        hint = "NYU Depth v2's raw frames are Kinect disparity, not millimetres: set depth_map.encoding to nyu_raw"
    else:
        hint = f"set depth_map.encoding ({_NAMES}) or depth_map.scale (metres per stored unit)"
    said = f"depth_map.encoding {asked} expects {ENCODINGS[asked].stored_as}; the file is " if asked else "the file is "
    # An 8-bit picture is no depth map in any encoding; any other file is one whose encoding is not (rightly) named.
    return DepthMapProblem("bad_depth_map" if stored.kind == "8-bit" else "depth_encoding", f"{said}{stored.what}: {hint}")


def encoding_of(stored: Stored, encoding: str = None, scale: float = None) -> Encoding:
    """The Encoding ``stored`` is read with: the named one, a stated ``scale`` (metres per unit), or
    the default of its kind; DepthMapProblem when the file is not what that encoding reads."""
    if encoding and scale:
        raise DepthMapProblem("depth_encoding", f"depth_map gives both encoding {encoding} and scale {scale:g}: give one")
    if scale and stored.kind in ("integer", "float"):
        return Encoding(f"scale {scale:g}", "", stored.kind, lambda raw: raw * scale, ANY_SCENE_M, _ANY)
    chosen = ENCODINGS.get(encoding or _DEFAULT.get(stored.kind, ""))
    if chosen is None or chosen.kind != stored.kind:
        raise _refusal(stored, encoding)
    return chosen


def in_metres(stored: Stored, encoding: Encoding) -> np.ndarray:
    """The map's depths in metres, NaN where a pixel holds no measurement (not finite, 0 or below)."""
    metres = encoding.to_metres(stored.values.astype(np.float64))
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


def _implausible(label: str, metres: float, encoding: Encoding) -> str:
    """Why a region measured at ``metres`` cannot be (or "" when it can)."""
    if encoding.nearest <= metres <= encoding.farthest:
        return ""
    bound = (f"nearer than {encoding.nearest:g} m (no depth sensor reads that close)" if metres < encoding.nearest
             else f"farther than {encoding.farthest:g} m ({encoding.scenes})")
    return (f"region {label!r} measures {metres:g} m from the camera read as {encoding.name}, {bound}: if the map "
            f"is stored another way, set depth_map.encoding ({_NAMES}) or depth_map.scale")


def with_depths(record: dict, depth: np.ndarray, min_valid_share: float, encoding: Encoding) -> dict:
    """``record`` with each region's ``depth_m`` from the map, where it has none of its own (a depth
    written by hand wins) and the map gives one; DepthMapProblem ``implausible_depth`` when a
    measured depth is outside the encoding's range."""
    regions = []
    for region in record.get("regions", []):
        measured = None if "depth_m" in region.get("attributes", {}) else region_depth(depth, region["bbox"], min_valid_share)
        if measured is not None:
            why = _implausible(region["label"], measured, encoding)
            if why:
                raise DepthMapProblem("implausible_depth", why)
            region = dict(region, attributes=dict(region.get("attributes", {}), depth_m=measured))
        regions.append(region)
    return dict(record, regions=regions) if "regions" in record else record
