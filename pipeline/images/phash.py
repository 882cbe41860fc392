"""Perceptual hashes: imagehash's pHash definition, computed as matrix products, for the whole
image and for the parts of it (CROP_BOXES) that let a crop match its original."""
import dataclasses
import functools

import cv2
import numpy as np
import PIL
from PIL import Image

from .decode import loaded_upright, normalise, open_checked, upright_size
from .derive import reduce_blocks

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

# An image is in colour when at least COLOURED_SHARE of the cells of a COLOUR_CELLS-square grid
# (box averages) have RGB channels more than COLOURED_CELL apart (of 255): a thin coloured line on
# a white chart is, a greyscale copy (even a JPEG or WebP one in RGB, within 1) is not.
COLOUR_CELLS = 64
COLOURED_CELL = 12
COLOURED_SHARE = 0.005


@dataclasses.dataclass(frozen=True)
class ImageFacts:
    """What hashing learns about an image: its upright full size, perceptual hash, the
    perceptual hashes of its CROP_BOXES (in that order), its format (Pillow's name) and whether
    its pixels have colour."""
    width: int
    height: int
    phash: str
    crop_hashes: tuple = ()
    format: str = ""
    colour: bool = True


def hash_image(data: bytes, *, max_pixels: int, min_side: int, uri: str = "") -> ImageFacts:
    """Check and hash ``data`` without decoding it at full scale: JPEGs decode in draft mode
    (DCT scaling, YCbCr) to at least DRAFT_SIDE pixels a side, which is all a 32x32 thumbnail
    needs; their Y channel is the very greyscale an "L" draft gives, and Cb, Cr say whether they
    have colour. Every byte is still decoded, so truncated files are still caught."""
    img = open_checked(data, max_pixels, min_side, uri)
    width, height, fmt = *upright_size(img), img.format
    if fmt in ("JPEG", "MPO"):
        img.draft("YCbCr", (DRAFT_SIDE, DRAFT_SIDE))
    img = loaded_upright(img)
    pixels = img if img.mode == "YCbCr" else normalise(img)
    grey = img.getchannel("Y") if img.mode == "YCbCr" else pixels
    full, *crops = phashes(grey, [FULL_BOX, *CROP_BOXES.values()])
    return ImageFacts(width, height, full, tuple(crops), fmt, has_colour(pixels))


def has_colour(img: Image.Image) -> bool:
    """Whether a decoded image (normalised RGB or L, or a YCbCr draft) has colour (COLOURED_SHARE)."""
    if img.mode == "L":
        return False
    cells = img.resize((COLOUR_CELLS, COLOUR_CELLS), Image.Resampling.BOX, reducing_gap=2.0)  # box averages either way
    cells = np.asarray(cells.convert("RGB"), dtype=np.int16)
    return float(np.mean(cells.max(axis=2) - cells.min(axis=2) > COLOURED_CELL)) >= COLOURED_SHARE


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
    return _grey_phashes(reduce_blocks(grey, _hash_reduction(grey.shape[::-1])), [FULL_BOX])[0]


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


@functools.cache
def _dct_matrix(n: int) -> np.ndarray:
    """DCT-II basis (unscaled: only comparisons with the median matter)."""
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.cos(np.pi * k * (2 * i + 1) / (2 * n))


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")
