"""Safe decode: every odd mode normalised, every broken file rejected with its reason."""
import io
import struct
import zlib

import apache_beam as beam
import imagehash
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from pipeline.images.decode import ImageRejected, decode_image, decode_pixels
from pipeline.images.derive import _pixel_box
from pipeline.images.phash import CROP_BOXES, HASH_ALGORITHM, hamming, hash_image
from pipeline.records import ImageRef
from pipeline.stages.decode_and_hash import DecodeAndHash
from tests.conftest import make_photo

LIMITS = dict(max_pixels=4_000_000, min_side=32)


def _picture(mode: str, size=(96, 64)) -> Image.Image:
    """A left-to-right gradient with a bright square, in ``mode``."""
    rgb = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    rgb[..., 0] = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :]
    rgb[10:30, 10:30] = 250
    return Image.fromarray(rgb).convert(mode)


def _saved(img: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares a size and that holds no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _rotated_jpeg() -> bytes:
    """A 96x64 picture stored with EXIF orientation 6 (display rotated 90 degrees clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _saved(_picture("RGB"), "JPEG", exif=exif.tobytes())


def _junk_before_end_marker() -> bytes:
    """A JPEG with stray bytes before its end marker: libjpeg warns and decodes it, as camera and
    editor bugs make them in the wild."""
    data = _saved(_picture("RGB"), "JPEG", quality=90)
    return data[:-2] + b"\x00junk" + data[-2:]


def _animated_gif() -> bytes:
    frames = [_picture("RGB").convert("P"), Image.new("P", (96, 64), 3)]
    return _saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _sixteen_bit_png() -> bytes:
    ramp = np.tile(np.linspace(0, 65535, 96, dtype=np.uint16), (64, 1))
    return _saved(Image.fromarray(ramp), "PNG")


def _palette_with_transparency() -> bytes:
    img = _picture("RGB").convert("P")
    return _saved(img, "PNG", transparency=0)


GOOD = {
    "plain.jpg": lambda: _saved(_picture("RGB"), "JPEG", quality=90),
    "plain.png": lambda: _saved(_picture("RGB"), "PNG"),
    "plain.webp": lambda: _saved(_picture("RGB"), "WEBP", quality=90),
    "cmyk.jpg": lambda: _saved(_picture("CMYK"), "JPEG"),
    "grey.png": lambda: _saved(_picture("L"), "PNG"),
    "rgba.png": lambda: _saved(_picture("RGBA"), "PNG"),
    "la.png": lambda: _saved(_picture("LA"), "PNG"),
    "palette.png": _palette_with_transparency,
    "deep.png": _sixteen_bit_png,
    "float.tif": lambda: _saved(_picture("F"), "TIFF"),
    "bilevel.png": lambda: _saved(_picture("1"), "PNG"),
    "animated.gif": _animated_gif,
    "rotated.jpg": _rotated_jpeg,
    "junk_before_end.jpg": _junk_before_end_marker,
}
BROKEN = {
    "empty.jpg": (lambda: b"", "empty_file"),
    "notes.jpg": (lambda: b"these are notes, not a picture\n" * 20, "not_an_image"),
    "truncated.jpg": (lambda: _saved(_picture("RGB", (400, 300)), "JPEG")[:600], "corrupt"),
    "huge.png": (lambda: _png_declaring(60_000, 60_000), "decompression_bomb"),
    "over_limit.png": (lambda: _png_declaring(4000, 1001), "decompression_bomb"),
    "tiny.png": (lambda: _saved(_picture("RGB", (40, 20)), "PNG"), "too_small"),
    "really_a_png.jpg": (lambda: _saved(_picture("RGB"), "PNG"), "wrong_extension"),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_every_mode_decodes_upright_to_rgb(name):
    img = decode_image(GOOD[name](), uri=name, **LIMITS)
    assert img.mode == "RGB"
    assert img.size == ((64, 96) if name == "rotated.jpg" else (96, 64))


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_every_broken_file_is_rejected_with_its_reason(name):
    make, reason = BROKEN[name]
    with pytest.raises(ImageRejected) as caught:
        hash_image(make(), uri=name, **LIMITS)
    assert caught.value.reason == reason and str(caught.value)


def test_declared_size_is_refused_before_any_pixel_is_decoded():
    # The PNG holds no pixel data: decoding it would fail as corrupt, not as a bomb.
    with pytest.raises(ImageRejected) as caught:
        decode_image(_png_declaring(5000, 5000), max_pixels=1_000_000, min_side=1)
    assert caught.value.reason == "decompression_bomb" and "5000x5000" in str(caught.value)


def test_exif_orientation_is_applied_before_hashing():
    rotated = hash_image(_rotated_jpeg(), **LIMITS)
    upright = _picture("RGB").transpose(Image.Transpose.ROTATE_270)
    assert (rotated.width, rotated.height) == (64, 96)
    assert hamming(rotated.phash, str(imagehash.phash(upright))) <= 2


def test_transparency_is_flattened_onto_white():
    clear = _saved(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG")
    assert np.asarray(decode_image(clear, **LIMITS)).min() == 255


def test_sixteen_bit_is_scaled_not_clipped():
    grey = np.asarray(decode_image(_sixteen_bit_png(), **LIMITS))[..., 0]
    assert grey[:, 0].max() < 10 and grey[:, -1].min() > 245 and 100 < grey[:, 48].mean() < 160


def test_draft_hash_stays_close_to_the_full_decode(tmp_path):
    for seed in range(6):
        path = make_photo(tmp_path / f"p{seed}.jpg", seed=seed, size=(1600, 1200))
        facts = hash_image(path.read_bytes(), max_pixels=10**8, min_side=32, uri=str(path))
        assert (facts.width, facts.height) == (1600, 1200)
        assert hamming(facts.phash, str(imagehash.phash(Image.open(path)))) <= 2


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_crop_hashes_are_the_hashes_of_the_crops(tmp_path, fmt):
    """Taken from the draft decode (JPEG) or a reduced copy (PNG), each crop hash stays within
    a few bits of imagehash's pHash of that crop of the full image."""
    for seed in range(4):
        full = Image.open(make_photo(tmp_path / f"p{seed}.jpg", seed=seed, size=(1600, 1200)))
        facts = hash_image(_saved(full, fmt), max_pixels=10**8, min_side=32)
        deviations = [hamming(h, str(imagehash.phash(full.crop(_pixel_box(full.size, box)))))
                      for h, box in zip(facts.crop_hashes, CROP_BOXES.values(), strict=True)]
        assert len(deviations) == len(CROP_BOXES) and max(deviations) <= 4


def test_decode_and_hash_routes_every_case(tmp_path):
    refs, expected_rejects = [], []
    for name, make in GOOD.items():
        (tmp_path / name).write_bytes(make())
        refs.append(ImageRef(uri=str(tmp_path / name), source="s", metadata={"file": name}))
    for name, (make, reason) in BROKEN.items():
        (tmp_path / name).write_bytes(make())
        refs.append(ImageRef(uri=str(tmp_path / name), source="s", metadata={"file": name}))
        expected_rejects.append((str(tmp_path / name), reason))
    refs.append(ImageRef(uri=str(tmp_path / "absent.jpg"), source="s", metadata={"file": "absent.jpg"}))
    expected_rejects.append((str(tmp_path / "absent.jpg"), "unreadable"))
    with TestPipeline() as p:
        out = p | beam.Create(refs) | DecodeAndHash(**LIMITS)
        assert_that(out["images"] | "Hashed" >> beam.Map(
            lambda im: (im.uri.rsplit("/", 1)[1], im.hash_algorithm, len(im.id), len(im.phash), len(im.crop_hashes))),
            equal_to([(name, HASH_ALGORITHM, 64, 16, len(CROP_BOXES)) for name in GOOD]), label="hashed")
        assert_that(out["rejects"] | "Reasons" >> beam.Map(
            lambda r: (r["subject"], r["reason"])), equal_to(expected_rejects), label="rejected")


def _oriented_jpeg(orientation: int, mode: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _saved(_picture(mode, (400, 300)), "JPEG", quality=92, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("at_least", [None, (150, 100), (40, 40)])
def test_pixel_decode_of_a_jpeg_is_the_image_decode(orientation, mode, at_least):
    """decode_pixels (simplejpeg for plain JPEGs, its own EXIF turn) gives decode_image's upright
    picture at the same DCT scale, within a grey level: the two libjpeg builds may round
    differently."""
    data = _oriented_jpeg(orientation, mode)
    pixels = decode_pixels(data, at_least=at_least, **LIMITS)
    reference = np.asarray(decode_image(data, at_least=at_least, **LIMITS))
    assert pixels.shape == reference.shape and pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - reference).mean() < 1.0


@pytest.mark.parametrize("name", sorted(GOOD))
def test_pixel_decode_handles_every_mode(name):
    pixels = decode_pixels(GOOD[name](), uri=name, **LIMITS)
    assert pixels.shape == ((96, 64, 3) if name == "rotated.jpg" else (64, 96, 3))
    assert np.abs(pixels.astype(int) - np.asarray(decode_image(GOOD[name](), uri=name, **LIMITS))).mean() < 1.0


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_pixel_decode_rejects_every_broken_file(name):
    make, reason = BROKEN[name]
    with pytest.raises(ImageRejected) as caught:
        decode_pixels(make(), uri=name, **LIMITS)
    assert caught.value.reason == reason
