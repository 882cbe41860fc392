"""Derived images (tiles, zooms, blurs): what apply_transform makes, how derived entries are
encoded and hashed, and that a source changed mid-build is refused rather than derived."""
import io
import subprocess
import sys

import cv2
import imagehash
import numpy as np
import pytest
from PIL import Image, ImageFilter

from pipeline.images.derive import apply_transform, encode_jpeg
from pipeline.images.phash import hamming, pixels_phash
from pipeline.images.views import materialize
from pipeline.records import Context, ContextImage, HashedImage, sha256_hex
from tests.conftest import make_photo


def _photo(tmp_path, seed=3, size=(960, 720)) -> np.ndarray:
    return np.asarray(Image.open(make_photo(tmp_path / f"p{seed}.jpg", seed, size)).convert("RGB"))


def _detail(pixels: np.ndarray) -> float:
    """Variance of the Laplacian: how much fine detail (edges, texture) an image holds."""
    return float(cv2.Laplacian(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def _checkerboard(side=480, cell=2) -> np.ndarray:
    board = (np.indices((side, side)).sum(axis=0) // cell % 2 * 255).astype(np.uint8)
    return np.repeat(board[..., None], 3, axis=2)


@pytest.mark.parametrize("transform, shape", [
    ({"box": [0.0, 0.0, 0.5, 0.5]}, (360, 480, 3)),                      # a tile, kept as cut
    ({"box": [0.0, 0.0, 1.0, 1.0], "size": [384, 288]}, (288, 384, 3)),  # shrunk 2.5x
    ({"box": [0.4, 0.4, 0.6, 0.6], "size": [384, 288]}, (288, 384, 3)),  # zoomed in 2x
    ({"size": [100, 75], "blur": 1.5}, (75, 100, 3)),
])
def test_transform_gives_the_declared_size(tmp_path, transform, shape):
    out = apply_transform(_photo(tmp_path), transform)
    assert out.shape == shape and out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"]


def test_a_view_shows_its_box(tmp_path):
    """A zoomed view of a box matches that box of the photo, not any other part of it."""
    photo = _photo(tmp_path)
    view = apply_transform(photo, {"box": [0.5, 0.25, 0.75, 0.5], "size": [240, 180]})
    assert np.abs(view.astype(int) - photo[180:360, 480:720]).mean() < 2
    assert np.abs(view.astype(int) - photo[0:180, 0:240]).mean() > 10


def test_shrinking_averages_instead_of_aliasing():
    """A fine checkerboard shrunk 3.3x must come out as flat grey (area averaging), not as a
    coarser pattern of samples that happened to fall on black or white."""
    out = apply_transform(_checkerboard(), {"size": [144, 144]})
    assert abs(out.mean() - 127.5) < 3 and out.std() < 20


def _grainy_photo(tmp_path) -> np.ndarray:
    """A photo with texture at every scale, so that any blur shows."""
    grain = np.random.default_rng(0).normal(0, 25, (720, 960, 1))
    return np.clip(_photo(tmp_path) + grain, 0, 255).astype(np.uint8)


def test_blur_removes_detail_in_order_of_sigma(tmp_path):
    photo = _grainy_photo(tmp_path)
    details = [_detail(apply_transform(photo, {"size": [384, 288], "blur": sigma})) for sigma in (0, 0.6, 1.2, 2.0, 3.0)]
    assert details == sorted(details, reverse=True) and details[-1] < details[0] / 4


@pytest.mark.parametrize("sigma", [0.6, 1.2, 3.0])
def test_blur_sigma_means_what_pillow_means(tmp_path, sigma):
    """``blur`` is a Gaussian standard deviation in output pixels, as Pillow's GaussianBlur
    radius is: both blurs of the same view agree within a grey level."""
    photo = _grainy_photo(tmp_path)
    sharp = apply_transform(photo, {"size": [384, 288]})
    ours = apply_transform(photo, {"size": [384, 288], "blur": sigma}).astype(int)
    pillows = np.asarray(Image.fromarray(sharp).filter(ImageFilter.GaussianBlur(sigma))).astype(int)
    assert np.abs(ours - pillows).mean() < 1.0


def test_blurring_a_zoom_before_enlarging_it_is_blurring_after(tmp_path):
    """apply_transform blurs whichever of crop and output is smaller: an enlarged crop blurred
    at crop scale looks like the enlargement blurred at output scale."""
    photo = _photo(tmp_path)
    transform = {"box": [0.3, 0.3, 0.5, 0.5], "size": [384, 288], "blur": 2.0}
    ours = apply_transform(photo, transform).astype(int)
    after = cv2.GaussianBlur(apply_transform(photo, dict(transform, blur=0)), (0, 0), 2.0,
                             borderType=cv2.BORDER_REPLICATE).astype(int)
    assert np.abs(ours - after).mean() < 1.5


def test_derived_bytes_are_a_jpeg_of_the_pixels_and_hash_like_imagehash(tmp_path):
    view = apply_transform(_photo(tmp_path), {"box": [0.1, 0.1, 0.7, 0.7], "size": [384, 288]})
    data = encode_jpeg(view)
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == "JPEG" and decoded.size == (384, 288) and decoded.mode == "RGB"
    assert np.abs(np.asarray(decoded).astype(int) - view).mean() < 3   # RGB order kept, quality 90
    assert encode_jpeg(view) == data                                    # deterministic bytes
    assert hamming(pixels_phash(view), str(imagehash.phash(Image.fromarray(view)))) <= 4
    grey = view[..., 0].copy()
    assert Image.open(io.BytesIO(encode_jpeg(grey))).mode == "L"


def _context(path, seed: int) -> Context:
    image = HashedImage(id=sha256_hex(path.read_bytes()), uri=str(path), source="s", width=960, height=720,
                        phash="0" * 16, metadata={})
    slots = tuple(ContextImage(image, {"box": [c / 2, 0.0, (c + 1) / 2, 1.0], "col": c}) for c in range(2))
    return Context(id=f"ctx{seed}", task="image_puzzle", split="train", group="g", images=slots)


def test_derived_entries_record_what_was_made(tmp_path):
    path = make_photo(tmp_path / "a.jpg", 5, (960, 720))
    context = _context(path, 5)
    entries = materialize(context, max_pixels=10 ** 8, min_side=8)
    for entry in entries[:2]:
        tile = np.asarray(Image.open(io.BytesIO(entry["bytes"])).convert("RGB"))
        assert (entry["width"], entry["height"]) == (480, 720) == tile.shape[1::-1]
        assert entry["derived_from"] == context.images[0].image.id
        assert entry["uri"] == f"derived:{entry['sha256']}" and entry["transform"].startswith("crop [")
        assert hamming(entry["phash"], pixels_phash(tile)) <= 2


def test_a_source_changed_since_hashing_is_refused(tmp_path):
    path = make_photo(tmp_path / "a.jpg", 6, (960, 720))
    context = _context(path, 6)
    make_photo(path, 7, (960, 720))   # replaced after DecodeAndHash saw it
    with pytest.raises(ValueError, match="no longer the image the build hashed"):
        materialize(context, max_pixels=10 ** 8, min_side=8)


def test_image_work_leaves_the_cores_to_beam():
    """Once pipeline.images is loaded, OpenCV and the BLAS numpy uses (the pHash matrix products) run one
    thread each: Beam already runs one element per core. Checked in a fresh interpreter, where no
    other test has loaded a BLAS of its own."""
    probe = ("import cv2, threadpoolctl, pipeline.images; "
             "print(cv2.getNumThreads(), sorted({p['num_threads'] for p in threadpoolctl.threadpool_info() "
             "if p['user_api'] == 'blas'}))")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert shown.split(maxsplit=1) == ["1", "[1]\n"]
