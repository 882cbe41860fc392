"""Dedup keeps the best copy: colour over greyscale, more pixels, a lossless format, JPEG over a
WebP re-encode, more bytes at the same size, then the smaller uri; images.parquet says which rule
decided (kept_because). Each case is a photo of its own with copies made from it, named so that
the smaller uri (and the larger file, where it matters) point to the wrong keeper."""
import subprocess

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from pipeline.records import ImageRef
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.deduplicate import Deduplicate
from tests.conftest import ROOT, make_photo

SIZE = (320, 240)


def _collection(folder):
    """Files of six cases, and the images.parquet rows (uri, status, duplicate_of, kept_because) expected."""
    colour = Image.open(make_photo(folder / "c_photo.jpg", seed=1, size=SIZE, quality=70))
    colour.convert("L").save(folder / "c_grey.png")  # lossless, larger, smaller uri: still loses
    colour.convert("L").convert("RGB").save(folder / "c_grey_rgb.jpg", quality=95)  # greyscale pixels in RGB

    webp_source = Image.open(make_photo(folder / "w_photo.jpg", seed=2, size=SIZE, quality=70))
    webp_source.save(folder / "w_copy.webp", quality=100)  # twice the JPEG's bytes
    (folder / "w_copy_again.webp").write_bytes((folder / "w_copy.webp").read_bytes())

    large = Image.open(make_photo(folder / "s_large.jpg", seed=3, size=(640, 480), quality=40))
    large.resize(SIZE).save(folder / "s_downscaled.png")  # lossless and more bytes, fewer pixels

    # Eight colours: the PNG is 6 KB, the JPEG copy 40 KB.
    flat = Image.open(make_photo(folder / "flat.jpg", seed=4, size=SIZE)).quantize(8).convert("RGB")
    (folder / "flat.jpg").unlink()
    flat.save(folder / "l_photo.png", optimize=True)
    flat.save(folder / "l_copy.jpg", quality=100)

    original = Image.open(make_photo(folder / "q_original.jpg", seed=5, size=SIZE, quality=95))
    original.save(folder / "q_copy.jpg", quality=40)

    make_photo(folder / "e_one.jpg", seed=6, size=SIZE)
    (folder / "e_two.jpg").write_bytes((folder / "e_one.jpg").read_bytes())
    kept = ["c_photo.jpg", "w_photo.jpg", "s_large.jpg", "l_photo.png", "q_original.jpg", "e_one.jpg"]
    return [(name, "kept", None, None) for name in kept] + [
        ("c_grey.png", "duplicate", "c_photo.jpg", "colour"),
        ("c_grey_rgb.jpg", "duplicate", "c_photo.jpg", "colour"),
        ("w_copy.webp", "duplicate", "w_photo.jpg", "original format"),
        ("w_copy_again.webp", "duplicate", "w_photo.jpg", "original format"),
        ("s_downscaled.png", "duplicate", "s_large.jpg", "more pixels"),
        ("l_copy.jpg", "duplicate", "l_photo.png", "lossless"),
        ("q_copy.jpg", "duplicate", "q_original.jpg", "less compressed"),
        ("e_two.jpg", "duplicate", "e_one.jpg", "smaller uri"),
    ]


def _name(uri):
    return uri.rsplit("/", 1)[-1] if uri else None


def test_each_cluster_keeps_its_best_copy_and_says_why(tmp_path):
    expected = _collection(tmp_path)
    refs = [ImageRef(uri=str(path), source="s", metadata={}) for path in sorted(tmp_path.iterdir())]
    with TestPipeline() as p:
        hashed = (p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=16))["images"]
        out = hashed | Deduplicate({"s": "global"}, threshold=8)
        rows = out["audit"] | beam.Map(lambda r: (_name(r["uri"]), r["status"], _name(r["duplicate_of"]),
                                                  r["kept_because"]))
        assert_that(rows, equal_to(expected), label="rows")
        facts = out["audit"] | beam.Map(lambda r: (_name(r["uri"]), r["format"], r["colour"], r["file_size"]))
        assert_that(facts | beam.Filter(lambda f: f[0] in ("c_photo.jpg", "c_grey_rgb.jpg", "c_grey.png", "w_copy.webp")),
                    equal_to([(name, fmt, colour, (tmp_path / name).stat().st_size) for name, fmt, colour in (
                        ("c_photo.jpg", "JPEG", True), ("c_grey_rgb.jpg", "JPEG", False), ("c_grey.png", "PNG", False),
                        ("w_copy.webp", "WEBP", True))]), label="facts")
        assert_that(out["rejects"], equal_to([]), label="no rejects")


def test_images_parquet_of_a_build_says_why_each_keeper_won(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    expected = _collection(folder)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"sources:\n  - {{name: photos, kind: folder, location: {folder}, "
                        f"licence: CC0-1.0, attribution: tests}}\n")
    subprocess.run([str(ROOT / ".venv/bin/mir"), "build", "--manifest", str(manifest), "--output", str(tmp_path / "out")],
                   check=True, capture_output=True, timeout=300)
    rows = pq.read_table(tmp_path / "out" / "images.parquet").to_pylist()
    found = [(_name(r["uri"]), r["status"], _name(r["duplicate_of"]), r["kept_because"]) for r in rows]
    assert sorted(found, key=str) == sorted(expected, key=str)


def test_a_file_two_sources_list_is_judged_in_each_scope(tmp_path):
    """One file listed by a global source and a within_source one: in the global scope it loses to
    a larger copy, in its own source's scope it stays the only image and is kept."""
    small = make_photo(tmp_path / "a_small.jpg", seed=7, size=SIZE)
    Image.open(small).resize((640, 480)).save(tmp_path / "b_large.jpg", quality=90)
    refs = [ImageRef(uri=str(tmp_path / "a_small.jpg"), source="all", metadata={}),
            ImageRef(uri=str(tmp_path / "b_large.jpg"), source="all", metadata={}),
            ImageRef(uri=str(tmp_path / "a_small.jpg"), source="own", metadata={})]
    with TestPipeline() as p:
        hashed = (p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=16))["images"]
        out = hashed | Deduplicate({"all": "global", "own": "within_source"}, threshold=8)
        assert_that(out["audit"] | beam.Map(lambda r: (_name(r["uri"]), r["source"], r["status"], r["kept_because"])),
                    equal_to([("a_small.jpg", "all", "duplicate", "more pixels"), ("b_large.jpg", "all", "kept", None),
                              ("a_small.jpg", "own", "kept", None)]))


def test_a_file_listed_twice_by_one_source_is_kept_once(tmp_path):
    photo = str(make_photo(tmp_path / "p.jpg", seed=8, size=SIZE))
    refs = [ImageRef(uri=photo, source="s", metadata={}), ImageRef(uri=photo, source="s", metadata={"caption": "again"})]
    with TestPipeline() as p:
        hashed = (p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=16))["images"]
        out = hashed | Deduplicate({"s": "global"}, threshold=8)
        assert_that(out["audit"] | beam.Map(lambda r: (r["status"], r["reason"], r["kept_because"])),
                    equal_to([("kept", None, None), ("duplicate", "exact_duplicate", "same file")]), label="rows")
        assert_that(out["rejects"], equal_to([]), label="no rejects")
