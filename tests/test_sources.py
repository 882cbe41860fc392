"""Source adapters: manifest listings (JSONL, CSV, Parquet), COCO instances JSON and videos."""
import csv
import json

import apache_beam as beam
import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to

from pipeline.images.decode import decode_image
from pipeline.manifest import parse_manifest
from pipeline.sources import list_source, read_image_bytes
from pipeline.sources.video import frame_uri
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.deduplicate import Deduplicate
from pipeline.stages.read_sources import ReadSources
from tests.conftest import make_photo, region

LIMITS = dict(max_pixels=10_000_000, min_side=16)


def _source(tmp_path, kind, location, **options):
    entry = {"name": kind, "kind": kind, "location": str(location), "licence": "CC0-1.0",
             "attribution": "tests", **options}
    return parse_manifest({"sources": [entry]}, str(tmp_path)).sources[0]


def _listed(source):
    """(ImageRef by uri, rejects as (subject, reason)) of one source."""
    items = list(list_source(source))
    refs = {i.uri: i for i in items if not isinstance(i, dict)}
    return refs, sorted((r["subject"], r["reason"]) for r in items if isinstance(r, dict))


ROWS = [
    {"file": "a.jpg", "caption": "First.", "regions": [region("dog", [0.1, 0.1, 0.5, 0.5], depth_m=2.0)]},
    {"file": "sub/b.jpg", "order": 3, "timestamp": 1.5, "sequence": "s"},
]


def _write_listing(path, fmt):
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS) + '{"file": "c.jpg", "order": "x"}\n')
    elif fmt == "csv":
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, ["file", "caption", "regions", "order", "timestamp", "sequence"])
            writer.writeheader()
            for row in ROWS:
                writer.writerow({k: json.dumps(v) if k == "regions" else v for k, v in row.items()})
            writer.writerow({"file": "c.jpg", "order": "x"})
    else:
        table = [{"file": r["file"], "caption": r.get("caption"), "order": r.get("order"),
                  "timestamp": r.get("timestamp"), "sequence": r.get("sequence"),
                  "regions": json.dumps(r["regions"]) if "regions" in r else None} for r in ROWS]
        table.append({"file": "c.jpg", "caption": None, "order": None, "timestamp": None,
                      "sequence": None, "regions": "[{\"id\": 1}]"})
        pq.write_table(pa.Table.from_pylist(table), path)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_manifest_listing_gives_each_row_its_metadata(tmp_path, fmt):
    make_photo(tmp_path / "a.jpg", seed=1)
    make_photo(tmp_path / "sub" / "b.jpg", seed=2)
    listing = tmp_path / f"images.{fmt}"
    _write_listing(listing, fmt)
    refs, rejects = _listed(_source(tmp_path, "manifest", listing))
    assert {uri: ref.metadata for uri, ref in refs.items()} == {str(tmp_path / r["file"]): r for r in ROWS}
    assert rejects == [(str(tmp_path / "c.jpg"), "bad_metadata")]


def test_manifest_row_listed_twice_is_rejected_once(tmp_path):
    listing = tmp_path / "images.jsonl"
    listing.write_text('{"file": "gs://bucket/a.jpg"}\n{"file": "gs://bucket/a.jpg", "caption": "x"}\n')
    refs, rejects = _listed(_source(tmp_path, "manifest", listing, allow_absolute=True))
    assert refs == {} and rejects == [("gs://bucket/a.jpg", "bad_metadata")]


def test_coco_boxes_are_normalised_and_files_checked(tmp_path):
    make_photo(tmp_path / "imgs" / "1.jpg", seed=1, size=(200, 100))
    make_photo(tmp_path / "imgs" / "2.jpg", seed=2, size=(200, 100))
    coco = {"images": [{"id": 1, "file_name": "1.jpg", "width": 200, "height": 100},
                       {"id": 2, "file_name": "2.jpg", "width": 200, "height": 100},
                       {"id": 3, "file_name": "gone.jpg", "width": 200, "height": 100}],
            "categories": [{"id": 7, "name": "cat"}, {"id": 8, "name": "people"}],
            "annotations": [{"id": 11, "image_id": 1, "category_id": 7, "bbox": [20, 10, 100, 50], "iscrowd": 0},
                            {"id": 12, "image_id": 1, "category_id": 7, "bbox": [150, 50, 80, 80], "iscrowd": 0},
                            {"id": 13, "image_id": 1, "category_id": 8, "bbox": [0, 0, 200, 100], "iscrowd": 1},
                            {"id": 21, "image_id": 2, "category_id": 7, "bbox": [10, 10, 0, 5], "iscrowd": 0}]}
    (tmp_path / "instances.json").write_text(json.dumps(coco))
    refs, rejects = _listed(_source(tmp_path, "coco", tmp_path / "instances.json", images="imgs"))
    assert list(refs) == [str(tmp_path / "imgs" / "1.jpg")]
    assert refs[str(tmp_path / "imgs" / "1.jpg")].metadata["regions"] == [
        {"id": "ann11", "label": "cat", "bbox": [0.1, 0.1, 0.6, 0.6]},
        {"id": "ann12", "label": "cat", "bbox": [0.75, 0.5, 1.0, 1.0]}]
    assert rejects == [(str(tmp_path / "imgs" / "2.jpg"), "bad_metadata"),
                       (str(tmp_path / "imgs" / "gone.jpg"), "missing_file"),
                       (str(tmp_path / "instances.json"), "some_images_not_found")]


def _write_video(path, seconds: int, fps: int = 10):
    """A video whose frame k is a flat grey of level 20 * (k // fps): one level per second."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(seconds * fps):
            grey = np.full((48, 64, 3), 20 * (k // fps) + 40, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_video_frames_carry_sequence_order_and_timestamp(tmp_path):
    (tmp_path / "clips").mkdir()
    _write_video(tmp_path / "clips" / "a.mp4", 3)
    (tmp_path / "clips" / "broken.mp4").write_bytes(b"not a video at all")
    refs, rejects = _listed(_source(tmp_path, "video", tmp_path / "clips", frame_rate=2))
    video = str(tmp_path / "clips" / "a.mp4")
    assert sorted((r.metadata["order"], r.metadata["timestamp"]) for r in refs.values()) == [
        (k, k / 2) for k in range(6)]
    assert {r.metadata["sequence"] for r in refs.values()} == {"a.mp4"}
    assert set(refs) == {frame_uri(video, k / 2) for k in range(6)}
    assert rejects == [(str(tmp_path / "clips" / "broken.mp4"), "unreadable_video")]
    # Each frame reads back as the picture shown at its time: one grey level per second.
    for seconds in (0.0, 1.5, 2.5):
        picture = decode_image(read_image_bytes(frame_uri(video, seconds)), **LIMITS)
        assert abs(np.asarray(picture).mean() - (20 * int(seconds) + 40)) < 6
    assert read_image_bytes(frame_uri(video, 1.5)) == read_image_bytes(frame_uri(video, 1.5))


def _at_most(limit: int):
    def check(counts):
        if counts[0] > limit:
            raise BeamAssertException(f"{counts[0]} frames kept, expected at most {limit}")
    return check


@pytest.mark.parametrize("scope", ["off", "global"])
def test_consecutive_frames_are_only_deduplicated_when_scope_allows(tmp_path, scope):
    _write_video(tmp_path / "still.mp4", 2)  # eight sampled frames, four of each grey
    source = _source(tmp_path, "video", tmp_path / "still.mp4", frame_rate=4, dedup_scope=scope)
    with TestPipeline() as p:
        decoded = (p | ReadSources([source]))["images"] | DecodeAndHash(**LIMITS)
        kept = decoded["images"] | Deduplicate({source.name: scope}, threshold=8)
        orders = kept["images"] | beam.Map(lambda im: im.metadata["order"])
        if scope == "off":
            assert_that(orders, equal_to(list(range(8))))
        else:
            assert_that(orders | beam.combiners.Count.Globally(), _at_most(2))
