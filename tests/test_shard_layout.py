"""Shards sized by bytes, and the shared image table: how a build cuts its samples into
Parquet files and where the images go (output.shard_mb, output.rows_per_shard, output.images)."""
import hashlib
import io
import pathlib
import re
import shutil

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from PIL import Image

from pipeline.cli import main
from pipeline.output.sharding import cut_into_shards

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_rows_fill_shards_in_key_order_up_to_the_size_and_the_row_cap():
    ten_bytes = {"shard_mb": 10 / 10**6, "rows_per_shard": 3}
    sizes = [("e", 1), ("a", 4), ("d", 20), ("b", 4), ("c", 4)]
    # a+b fit in 10 bytes, c would make 12; d alone is over the size and gets a shard of its own.
    assert cut_into_shards(sizes, ten_bytes) == [("a", 0, 4), ("b", 0, 4), ("c", 1, 4), ("d", 2, 4), ("e", 3, 4)]
    two_rows = {"shard_mb": 1.0, "rows_per_shard": 2}
    assert cut_into_shards([(k, 1) for k in "edcba"], two_rows) == [
        ("a", 0, 3), ("b", 0, 3), ("c", 1, 3), ("d", 1, 3), ("e", 2, 3)]
    assert cut_into_shards([], two_rows) == []


def test_shards_come_out_about_equal_not_full_ones_and_a_small_last_one():
    ten_bytes = {"shard_mb": 10 / 10**6, "rows_per_shard": 100}
    # Filling to 10 bytes would give a, b, c (9 bytes) and d (3): two shards either way, cut 2 + 2.
    assert cut_into_shards([(k, 3) for k in "dcba"], ten_bytes) == [("a", 0, 2), ("b", 0, 2), ("c", 1, 2), ("d", 1, 2)]
    # 9 + 1 fits 10 bytes, so one shard; 9 + 2 does not: two, and the big row goes alone.
    assert cut_into_shards([("a", 9), ("b", 1)], ten_bytes) == [("a", 0, 1), ("b", 0, 1)]
    assert cut_into_shards([("a", 9), ("b", 2)], ten_bytes) == [("a", 0, 2), ("b", 1, 2)]
    # Three rows of 4, 1 and 5 bytes under 6 bytes a shard: 4+1 | 5, not 4 | 1+5 (keys in order).
    six_bytes = {"shard_mb": 6 / 10**6, "rows_per_shard": 100}
    assert cut_into_shards([("a", 4), ("b", 1), ("c", 5)], six_bytes) == [("a", 0, 2), ("b", 0, 2), ("c", 1, 2)]


def _build(tmp_path, name: str, output: str, test_fraction: float = None) -> pathlib.Path:
    """The bundled sample collection (copied, so the test may change its files) built with
    ``output`` as the manifest's output section (and ``test_fraction`` in place of the manifest's)."""
    examples = tmp_path / "examples"
    if not examples.exists():
        shutil.copytree(REPO / "examples", examples)
    manifest = (REPO / "data_manifest.yaml").read_text().replace("location: examples", f"location: {examples}")
    manifest = manifest.split("\noutput:")[0] + "\noutput:\n" + output
    if test_fraction is not None:
        manifest = re.sub(r"test_fraction: [\d.]+", f"test_fraction: {test_fraction}", manifest)
    path = tmp_path / f"{name}.yaml"
    path.write_text(manifest)
    out = tmp_path / name
    assert main(["build", "--manifest", str(path), "--output", str(out)]) == 0
    return out


def _binary_bytes(row: dict) -> int:
    return sum(len(im["bytes"] or b"") for im in row["images"])


SHARD_MB = 0.12


@pytest.fixture(scope="module")
def shared_build(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("shared"), "out", f"  images: shared\n  shard_mb: {SHARD_MB}\n")


def test_embedded_shards_stay_under_the_size_and_split_in_id_order(tmp_path):
    # Every sample in train, so that splits hold several samples (the charts' three fit two to a shard).
    out = _build(tmp_path, "out", f"  images: embedded\n  shard_mb: {SHARD_MB}\n", test_fraction=0)
    folders = [p for p in (out / "data").iterdir()]
    split_several = shared_rows = 0
    for folder in folders:
        for split in ("train", "test"):
            files = sorted(folder.glob(f"{split}-*.parquet"))
            if not files:
                continue
            count = len(files)
            assert [f.name for f in files] == [f"{split}-{i:05d}-of-{count:05d}.parquet" for i in range(count)]
            tables = [pq.read_table(f).to_pylist() for f in files]
            assert all(tables), "no shard is empty"
            ids = [row["id"] for rows in tables for row in rows]
            assert ids == sorted(ids), "shards hold consecutive runs of ids"
            for rows in tables:
                # The images a shard embeds stay under the target unless one sample alone is larger.
                assert len(rows) == 1 or sum(map(_binary_bytes, rows)) <= SHARD_MB * 10**6
                assert all(im["bytes"] for row in rows for im in row["images"])
                shared_rows += len(rows) > 1
            split_several += count > 1
    assert split_several >= 2, "the fixture must make some splits need several shards"
    assert shared_rows >= 1, "and some shards hold several samples, so the size bound is tested"


def _size(data: bytes) -> tuple:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_shared_images_are_stored_once_and_read_back_without_their_sources(shared_build, tmp_path):
    out = shared_build
    samples = pq.read_table(out / "data").to_pylist()
    sources, derived = {}, 0
    for sample in samples:
        for image, facts in zip(sample["images"], sample["image_facts"]):
            if facts["derived_from"]:
                derived += 1
                assert hashlib.sha256(image["bytes"]).hexdigest() == facts["sha256"]
            else:
                assert image == {"bytes": None, "path": facts["uri"]}
                sources[facts["sha256"]] = facts
    assert sources and derived
    table = pq.read_table(out / "image_table").to_pylist()
    assert sorted(row["sha256"] for row in table) == sorted(sources), "each source image exactly once"
    for row in table:
        assert hashlib.sha256(row["image"]["bytes"]).hexdigest() == row["sha256"]
    files = sorted((out / "image_table").glob("*.parquet"))
    assert len(files) > 1 and all(pq.read_metadata(f).num_rows for f in files)

    # The table loads as an image dataset of its own.
    loaded = load_dataset("parquet", data_files=str(out / "image_table" / "*.parquet"),
                          cache_dir=str(tmp_path / "hf"))["train"]
    first = loaded[0]
    assert isinstance(first["image"], Image.Image)
    assert first["image"].size == (sources[first["sha256"]]["width"], sources[first["sha256"]]["height"])

    # The sources gone, the preview still shows every image, from the table.
    shutil.rmtree(shared_build.parent / "examples")
    gallery = tmp_path / "gallery"
    assert main(["preview", str(out), "--output", str(gallery)]) == 0
    written = {p.stem: p.read_bytes() for p in (gallery / "images").iterdir()}
    assert set(sources) <= set(written)
    # Each is the source image as the build saw it: upright, at the size its facts record (an
    # image that needed turning or flattening is re-encoded, so its bytes are not the source's).
    assert all(_size(written[sha256]) == (facts["width"], facts["height"]) for sha256, facts in sources.items())
    # And so does the training export.
    target = tmp_path / "train.jsonl"
    assert main(["export", "curriculum", str(out), "--format", "swift", "--split", "all", "--output", str(target)]) == 0
    exported = {p.stem: p.read_bytes() for p in (tmp_path / "train_images").iterdir()}
    assert set(sources) <= set(exported)
    assert all(_size(exported[sha256]) == (facts["width"], facts["height"]) for sha256, facts in sources.items())


def test_the_card_says_where_the_images_are(shared_build):
    card = (shared_build / "README.md").read_text()
    assert "image_table/images-*.parquet" in card and "self-contained" not in card
