"""Deduplication: exact search (every pair within the threshold, crop hashes included),
deterministic clusters and keepers, scopes, crops of real photos found, one images.parquet row
per image, and the same clusters on two workers."""
import random
import subprocess

import apache_beam as beam
import numpy as np
import pandas as pd
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from pipeline.images.near_duplicates import (BLOCK_COLUMNS, Copy, HashTable, Row, closest_match, cluster_keepers,
                                             near_duplicate_pairs)
from pipeline.images.phash import CROP_BOXES, hamming
from pipeline.records import HashedImage, ImageRef
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.deduplicate import Deduplicate
from tests.conftest import ROOT, make_photo

K = 1 + len(CROP_BOXES)


def _random_table(n: int, seed: int) -> HashTable:
    """n images of K random hashes in two scopes. Every seventh image is planted 0..10 bits from
    its predecessor: full to full, full to one of the predecessor's crops, or one of its crops
    to the predecessor's full hash; and every eleventh has a crop close to the predecessor's
    crop, which must not count."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64, size=(n, K), dtype=np.uint64)

    def near(value):
        flips = rng.choice(64, size=int(rng.integers(0, 11)), replace=False).astype(np.uint64)
        return value ^ np.bitwise_or.reduce(np.uint64(1) << flips, initial=np.uint64(0))

    for plant, i in enumerate(range(1, n, 7)):
        slot = plant % K
        if plant % 2:
            hashes[i, slot] = near(hashes[i - 1, 0])
        else:
            hashes[i, 0] = near(hashes[i - 1, slot])
    for i in range(1, n, 11):
        hashes[i, 2] = near(hashes[i - 1, 1])
    rows = [Row(f"u{i:06d}", tuple(int(h) for h in row), "ab"[i % 3 == 0], f"{i:064x}",
                Copy(f"u{i:06d}", colour=bool(rng.integers(0, 4)), pixels=int(rng.integers(1, 9)),
                     encoding=int(rng.integers(0, 3)), file_size=int(rng.integers(1, 4))))
            for i, row in enumerate(hashes)]
    return HashTable.build(rows)


def _brute_force(table: HashTable, threshold: int) -> set:
    """The definition, pair by pair in plain Python: the full hash of one image against every
    hash of the other, both ways."""
    rows = [[int(h) for h in table.hashes[i]] for i in range(len(table))]
    found = set()
    for i in range(len(table)):
        for j in range(i + 1, len(table)):
            d = min(min((rows[i][0] ^ h).bit_count() for h in rows[j]),
                    min((rows[j][0] ^ h).bit_count() for h in rows[i]))
            if d <= threshold and table.scopes[i] == table.scopes[j]:
                found.add((i, j, d))
    return found


def test_search_finds_exactly_the_pairs_of_the_definition():
    table = _random_table(900, seed=1)
    expected = _brute_force(table, threshold=8)
    crop_matches = {(i, j) for i, j, d in expected if (int(table.hashes[i, 0]) ^ int(table.hashes[j, 0])).bit_count() > 8}
    assert len(expected) > 25 and len(crop_matches) > 15
    split = [(0, 100), (100, 613), (613, 900)]  # query blocks as workers would take them
    found = [pair for start, stop in split for pair in near_duplicate_pairs(table, 8, start, stop)]
    assert len(found) == len(set(found)) and set(found) == expected


def test_search_crosses_column_tiles():
    table = _random_table(BLOCK_COLUMNS + 300, seed=2)
    hashes = table.hashes
    expected = {(i, j) for i in range(len(table)) for j in np.nonzero(np.minimum(
        np.bitwise_count(hashes[i, 0] ^ hashes[i + 1:]).min(axis=1),
        np.bitwise_count(hashes[i, 1:] ^ hashes[i + 1:, :1]).min(axis=1)) <= 6)[0] + i + 1
        if table.scopes[i] == table.scopes[j]}
    assert len(expected) > 100
    assert {(i, j) for i, j, _ in near_duplicate_pairs(table, 6, 0, len(table))} == expected


def test_clusters_and_keepers_do_not_depend_on_pair_order():
    table = _random_table(600, seed=3)
    pairs = list(near_duplicate_pairs(table, 10, 0, len(table)))
    keepers = cluster_keepers(table, pairs)
    random.Random(0).shuffle(pairs)
    assert cluster_keepers(table, pairs) == keepers
    for row, keeper in keepers.items():
        assert (not table.colour[keeper], -table.pixels[keeper], -table.encoding[keeper], -table.file_size[keeper],
                table.keys[keeper]) <= (not table.colour[row], -table.pixels[row], -table.encoding[row],
                                        -table.file_size[row], table.keys[row])


def _image(uri, phash, pixels=100, sha=None, source="s"):
    return HashedImage(id=sha or f"{abs(hash(uri)):064x}"[:64], uri=uri, source=source, width=pixels,
                       height=1, phash=phash, metadata={})


def test_closest_match_names_the_pair_and_ignores_crop_to_crop():
    full_a, full_b = "00000000000000ff", "ff00000000000000"
    crops_b = ("0f0f0f0f0f0f0f0f", "00000000000000fe", "1234567812345678")
    assert closest_match((full_a,), (full_b, *crops_b)) == (1, 0, 2)
    assert closest_match((full_b, *crops_b), (full_a,)) == (1, 2, 0)
    # The same crop on both sides is no match: crop hashes are only compared with full hashes.
    assert closest_match((full_a, "1234567812345678"), (full_b, "1234567812345678"))[0] == 16


def _cropped(path, share: float, sides: str, name: str):
    img = Image.open(path)
    dx, dy = round(img.width * share), round(img.height * share)
    img.crop((dx * ("l" in sides), dy * ("t" in sides), img.width - dx * ("r" in sides),
              img.height - dy * ("b" in sides))).save(path.parent / name, quality=90)


def test_crops_of_real_photos_are_near_duplicates(tmp_path):
    """Centred 5% and 10% crops and a 10% cut from one side, each found through the original's
    matching crop hash although their full hashes are far from the original's; distinct photos
    stay apart."""
    for i in range(4):
        make_photo(tmp_path / f"p{i}.jpg", seed=i, size=(400, 300))
    _cropped(tmp_path / "p0.jpg", 0.05, "lrtb", "p0_crop5.jpg")
    _cropped(tmp_path / "p1.jpg", 0.10, "lrtb", "p1_crop10.jpg")
    _cropped(tmp_path / "p2.jpg", 0.10, "l", "p2_cut_left.jpg")
    refs = [ImageRef(uri=str(path), source="s", metadata={}) for path in sorted(tmp_path.glob("*.jpg"))]
    with TestPipeline() as p:
        hashed = (p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=16))["images"]
        full_distances = (hashed | beam.Map(lambda im: (im.uri.rsplit("/", 1)[1][:2], im.phash))
                          | "ByPhoto" >> beam.GroupByKey()
                          | beam.MapTuple(lambda photo, hashes: (photo, hamming(*hashes) if len(hashes) == 2 else None)))
        assert_that(full_distances | beam.Filter(lambda d: d[1] is not None and d[1] <= 8),
                    equal_to([]), label="full hashes too far")
        out = hashed | Deduplicate({"s": "global"}, threshold=8)
        rows = out["audit"] | beam.Map(lambda r: (r["uri"].rsplit("/", 1)[1], r["status"],
                                                  (r["duplicate_of"] or "").rsplit("/", 1)[-1],
                                                  (r["detail"] or "").split("(")[-1], len(r["crop_hashes"])))
        assert_that(rows, equal_to(
            [(f"p{i}.jpg", "kept", "", "", K - 1) for i in range(4)]
            + [("p0_crop5.jpg", "duplicate", "p0.jpg", "the kept image's central 90% crop)", K - 1),
               ("p1_crop10.jpg", "duplicate", "p1.jpg", "the kept image's central 80% crop)", K - 1),
               ("p2_cut_left.jpg", "duplicate", "p2.jpg", "the kept image's 10% cut from the left)", K - 1)]),
            label="rows")


def test_scopes_decide_who_is_compared():
    base = "ffff0000ffff0000"
    near = "ffff0000ffff0003"  # distance 2
    images = [_image("a/1", base, source="a"), _image("a/2", near, source="a", pixels=50),
              _image("b/1", near, source="b"), _image("c/1", base, source="c"), _image("c/2", base, source="c")]
    scopes = {"a": "within_source", "b": "within_source", "c": "off"}
    with TestPipeline() as p:
        out = p | beam.Create(images) | Deduplicate(scopes, threshold=4)
        assert_that(out["audit"] | beam.Map(lambda r: (r["uri"], r["status"], r["duplicate_of"], r["hamming"])),
                    equal_to([("a/1", "kept", None, None), ("a/2", "duplicate", "a/1", 2),
                              ("b/1", "kept", None, None), ("c/1", "kept", None, None),
                              ("c/2", "kept", None, None)]))


def test_real_photos_exact_then_near_with_the_largest_kept(tmp_path):
    for i in range(5):
        make_photo(tmp_path / f"p{i}.jpg", seed=i, size=(320, 240))
    Image.open(tmp_path / "p0.jpg").resize((160, 120)).save(tmp_path / "small_p0.jpg", quality=70)
    (tmp_path / "a_copy_of_p2.jpg").write_bytes((tmp_path / "p2.jpg").read_bytes())
    refs = [ImageRef(uri=str(path), source="s", metadata={}) for path in sorted(tmp_path.glob("*.jpg"))]
    with TestPipeline() as p:
        hashed = (p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=16))["images"]
        out = hashed | Deduplicate({"s": "global"}, threshold=8)
        rows = out["audit"] | beam.Map(lambda r: (r["uri"].rsplit("/", 1)[1], r["status"], r["reason"],
                                                  (r["duplicate_of"] or "").rsplit("/", 1)[-1]))
        assert_that(rows, equal_to(
            [(f"p{i}.jpg", "kept", None, "") for i in (0, 1, 3, 4)]
            + [("a_copy_of_p2.jpg", "kept", None, ""), ("p2.jpg", "duplicate", "exact_duplicate", "a_copy_of_p2.jpg"),
               ("small_p0.jpg", "duplicate", "near_duplicate", "p0.jpg")]))


def _build(manifest, output, *options):
    subprocess.run([str(ROOT / ".venv/bin/mir"), "build", "--manifest", str(manifest), "--output", str(output),
                    *options], check=True, capture_output=True, timeout=300)
    rows = pd.read_parquet(output / "images.parquet")
    return sorted(zip(rows.uri, rows.status, rows.cluster.fillna(""), rows.duplicate_of.fillna("")))


def test_two_workers_give_the_same_clusters_as_one(tmp_path):
    folder = tmp_path / "photos"
    for i in range(12):
        make_photo(folder / f"p{i:02d}.jpg", seed=i)
    for i in range(0, 12, 3):
        Image.open(folder / f"p{i:02d}.jpg").save(folder / f"p{i:02d}_q35.jpg", quality=35)
        (folder / f"copy_{i:02d}.jpg").write_bytes((folder / f"p{i:02d}.jpg").read_bytes())
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"sources:\n  - {{name: photos, kind: folder, location: {folder}, "
                        f"licence: CC0-1.0, attribution: tests}}\n")
    one = _build(manifest, tmp_path / "one")
    two = _build(manifest, tmp_path / "two", "--direct_num_workers", "2",
                 "--direct_running_mode", "multi_processing")
    assert sum(status == "duplicate" for _, status, _, _ in one) == 8
    assert two == one
