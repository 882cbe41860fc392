"""Images leave mir as the build saw them, and sizes stated for them are checked (issue 24,
must-have 4; issue 26, must-have 4): EXIF orientation applied in exports, the preview and LLM
requests, transparency on white, 16-bit and float images scaled by their range; a COCO entry or
listing row whose width/height disagree with the upright image is rejected as `size_mismatch`;
a listing row naming a FIFO is rejected instead of hanging the build."""
import base64
import hashlib
import io
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from pipeline.cli import main
from pipeline.images.decode import decode_image, upright_bytes
from pipeline.llm.requests import data_url
from pipeline.output.arrow_schema import arrow_schema
from tests.conftest import ROOT, make_photo
from tests.mir_fixtures import sample_record
from tests.test_ingest_safety import _run, _source

RED = (220, 20, 20)
# The upright picture: 60 wide, 100 high, a red block where the sample's box says the ball is.
UPRIGHT = (60, 100)
BALL_BOX = [0.1, 0.2, 0.5, 0.6]    # sample_record's text2region box, on image 2


def _upright_picture() -> Image.Image:
    pixels = np.full((UPRIGHT[1], UPRIGHT[0], 3), 90, dtype=np.uint8)
    x0, y0, x1, y1 = (round(v * s) for v, s in zip(BALL_BOX, UPRIGHT * 2))
    pixels[y0:y1, x0:x1] = RED
    return Image.fromarray(pixels)


def _encoded(img: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **options)
    return out.getvalue()


def rotated_jpeg() -> bytes:
    """The upright picture stored lying on its side (100 x 60 pixels) with EXIF orientation 6,
    as a phone held upright stores it: a viewer turns it a quarter clockwise."""
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = _upright_picture().transpose(Image.Transpose.ROTATE_90)
    assert stored.size == (100, 60)
    return _encoded(stored, "JPEG", quality=95, exif=exif.tobytes())


def _is_red(pixel) -> bool:
    r, g, b = pixel[:3]
    return r > 180 and g < 80 and b < 80


def _assert_ball_in_box(img: Image.Image):
    """The picture is upright (60 x 100) and red inside the box, not outside it."""
    assert img.size == UPRIGHT
    rgb = img.convert("RGB")
    x0, y0, x1, y1 = BALL_BOX
    inside = (round((x0 + x1) / 2 * UPRIGHT[0]), round((y0 + y1) / 2 * UPRIGHT[1]))
    assert _is_red(rgb.getpixel(inside))
    for outside in [(55, 10), (55, 90), (3, 95)]:
        assert not _is_red(rgb.getpixel(outside)), outside


def _build_with_rotated_image(out: pathlib.Path) -> dict:
    """A build's one shard holding a sample whose image 2 is the EXIF-rotated JPEG, its facts
    the build's (upright size)."""
    record = sample_record()
    data = rotated_jpeg()
    record["images"][1] = {"bytes": data, "path": "rotated.jpg"}
    record["image_facts"][1].update(uri="photos/rotated.jpg", width=UPRIGHT[0], height=UPRIGHT[1],
                                    sha256=hashlib.sha256(data).hexdigest(), file_size=len(data))
    shard = out / "data" / "location_relationship" / "test-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([record], schema=arrow_schema("sample")), shard)
    return record


# ------------------------------------------------------------------ case 1: pixels leave upright

def test_an_exif_rotated_jpeg_is_exported_to_llava_upright_with_its_box_on_the_object(tmp_path):
    record = _build_with_rotated_image(tmp_path / "out")
    sha = record["image_facts"][1]["sha256"]
    output = tmp_path / "export" / "c.jsonl"
    assert main(["export", "curriculum", str(tmp_path / "out"), "--format", "llava", "--split", "test",
                 "--output", str(output)]) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    names = {row["image"][1] if isinstance(row["image"], list) else row["image"] for row in rows}
    [name] = {n for n in names if sha in n}
    written = Image.open(output.parent / name)
    assert written.format == "JPEG" and written.getexif().get(0x0112) in (None, 1)
    _assert_ball_in_box(written)     # width and height swapped against the stored 100 x 60
    assert any("[0.100, 0.200, 0.500, 0.600]" in turn["value"] for row in rows for turn in row["conversations"])


def test_the_preview_shows_an_exif_rotated_jpeg_upright(tmp_path):
    record = _build_with_rotated_image(tmp_path / "out")
    assert main(["preview", str(tmp_path / "out"), "--output", str(tmp_path / "preview")]) == 0
    [path] = (tmp_path / "preview" / "images").glob(f"{record['image_facts'][1]['sha256']}.*")
    _assert_ball_in_box(Image.open(path))


def _from_data_url(url: str) -> Image.Image:
    head, payload = url.split(",", 1)
    assert head == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def test_an_llm_request_shows_an_exif_rotated_jpeg_upright():
    _assert_ball_in_box(_from_data_url(data_url(rotated_jpeg(), 768)))


def test_an_llm_request_shows_transparency_on_white():
    rgba = np.zeros((64, 96, 4), dtype=np.uint8)     # transparent black ...
    rgba[20:40, 30:60] = (*RED, 255)                  # ... around an opaque red block
    sent = _from_data_url(data_url(_encoded(Image.fromarray(rgba, "RGBA"), "PNG"), 768)).convert("RGB")
    assert all(v > 240 for v in sent.getpixel((5, 5)))
    assert _is_red(sent.getpixel((45, 30)))


def _ramp(dtype, top) -> np.ndarray:
    """A left-to-right ramp from 0 to ``top``, 101 columns, so column c holds c% of top."""
    return np.tile(np.linspace(0, top, 101).astype(dtype), (40, 1))


def test_sixteen_bit_and_float_images_are_scaled_by_their_range():
    sixteen = _encoded(Image.fromarray(_ramp(np.uint16, 65535)), "PNG")
    twelve = _encoded(Image.fromarray(_ramp(np.uint16, 4095)), "PNG")   # 12-bit data in a 16-bit file
    floats = _encoded(Image.fromarray(_ramp(np.float32, 1.0), mode="F"), "TIFF")
    for data in (sixteen, twelve, floats):
        for img in (decode_image(data, max_pixels=10**6, min_side=1), _from_data_url(data_url(data, 768)),
                    Image.open(io.BytesIO(upright_bytes(data, max_pixels=10**6)))):
            grey = np.asarray(img.convert("L"), dtype=int)[20]
            assert grey[0] <= 2 and grey[100] >= 252, (img, grey[0], grey[100])
            assert abs(grey[50] - 128) <= 3


def test_an_image_already_upright_is_exported_as_its_own_bytes():
    data = _encoded(_upright_picture(), "JPEG", quality=90)
    assert upright_bytes(data, max_pixels=10**6) == data


# ------------------------------------------------------------------ case 3: a FIFO in a listing

def test_a_listing_row_naming_a_fifo_is_rejected_and_the_build_finishes(tmp_path):
    folder = tmp_path / "listed"
    for i in range(3):
        make_photo(folder / f"p{i}.jpg", seed=40 + i)
    os.mkfifo(folder / "pipe.jpg")       # read with a blocking open, it waits for a writer for ever
    os.mkfifo(folder / "pipe")           # no extension: its first bytes would be read to tell its format
    rows = [{"file": name} for name in ("p0.jpg", "p1.jpg", "p2.jpg", "pipe.jpg", "pipe")]
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "m.yaml").write_text(f"sources: [{{name: listed, kind: manifest, location: {folder / 'rows.jsonl'}, "
                                     "licence: L, attribution: A}]\n")
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(tmp_path / "m.yaml"),
                           "--output", str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    rejects = [json.loads(line) for line in (tmp_path / "out" / "rejects" / "decode_and_hash.jsonl").read_text().splitlines()]
    by_subject = {r["subject"]: r for r in rejects}
    for name in ("pipe.jpg", "pipe"):
        reject = by_subject[str(folder / name)]
        assert reject["reason"] == "unreadable"
        assert "not a regular file (a FIFO, device or socket)" in reject["detail"]
    rows = pd.read_parquet(tmp_path / "out" / "images.parquet")
    assert set(rows[rows["status"] != "rejected"]["uri"]) == {str(folder / f"p{i}.jpg") for i in range(3)}


# ------------------------------------------------------------------ case 2: stated sizes checked

def test_coco_entries_and_listing_rows_whose_size_disagrees_are_rejected_as_size_mismatch(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "rotated.jpg").write_bytes(rotated_jpeg())      # stored 100 x 60, upright 60 x 100
    make_photo(folder / "plain.jpg", seed=50, size=(80, 64))
    # The COCO entries state the stored size of the rotated photo (what its header says) and the
    # right size of the plain one; one box each, in pixels of the stated size.
    coco = {"images": [{"id": 1, "file_name": "rotated.jpg", "width": 100, "height": 60},
                       {"id": 2, "file_name": "plain.jpg", "width": 80, "height": 64}],
            "annotations": [{"id": 10, "image_id": 1, "category_id": 1, "bbox": [10, 10, 30, 20]},
                            {"id": 11, "image_id": 2, "category_id": 1, "bbox": [8, 16, 40, 32]}],
            "categories": [{"id": 1, "name": "ball"}]}
    (folder / "instances.json").write_text(json.dumps(coco))
    hashed, rejects = _run(_source(tmp_path, "coco", folder / "instances.json"), tmp_path / "coco_scratch")
    assert list(hashed) == [str(folder / "plain.jpg")]
    assert hashed[str(folder / "plain.jpg")][1:3] == [80, 64]
    [reject] = rejects
    assert (reject["subject"], reject["stage"], reject["reason"]) == (str(folder / "rotated.jpg"), "decode_and_hash",
                                                                      "size_mismatch")
    assert "100x60" in reject["detail"] and "60x100" in reject["detail"]

    rows = [{"file": "rotated.jpg", "width": 60, "height": 100},     # right: the upright size
            {"file": "plain.jpg", "width": 64, "height": 80}]        # width and height swapped
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    hashed, rejects = _run(_source(tmp_path, "manifest", folder / "rows.jsonl"), tmp_path / "rows_scratch")
    assert {uri: facts[1:3] for uri, facts in hashed.items()} == {str(folder / "rotated.jpg"): [60, 100]}
    assert [(r["subject"], r["reason"]) for r in rejects] == [(str(folder / "plain.jpg"), "size_mismatch")]
    assert "64x80" in rejects[0]["detail"] and "80x64" in rejects[0]["detail"]
