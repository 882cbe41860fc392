"""No element can crash a build: an exception a stage did not expect, raised deep in a helper for
one element, becomes a rejects record (reason ``internal_error``, the stage, ``ExcClass: message``)
while every other element flows on, expected rejects keep their own reasons, and report.json's
conservation checks still hold. Failures come from data that trips real code paths, or from a test
template / crop box registered the way tests/test_tasks.py swaps templates."""
import copy
import dataclasses
import hashlib
import json

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import region
from mir_fixtures import sample_record

from pipeline.flow import build_pipeline
from pipeline.images import phash
from pipeline.manifest import Source, load_manifest
from pipeline.records import HashedImage, ImageRef
from pipeline.stages.base import SUMMARY_CHARS, summary
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.deduplicate import Deduplicate
from pipeline.stages.group_contexts import GroupContexts
from pipeline.stages.score_difficulty import ScoreDifficulty
from pipeline.stages.validate import Validate
from pipeline.tasks import TASKS
from tests.conftest import make_photo
from tests.test_solver import SolverServer, difficulty_settings


def _brief(record: dict) -> tuple:
    return record["stage"], record["reason"], record["subject_kind"], record["subject"].rsplit("/", 1)[-1], record["detail"]


def test_summary_is_one_short_line():
    assert summary(ZeroDivisionError("division by zero")) == "ZeroDivisionError: division by zero"
    assert summary(KeyError("from")) == "KeyError: 'from'"
    assert summary(RuntimeError()) == "RuntimeError"
    long = summary(ValueError("first line\nsecond   line " + "x" * 500))
    assert long.startswith("ValueError: first line second line x") and len(long) == SUMMARY_CHARS
    assert long.endswith("…") and "\n" not in long


def test_decode_and_hash_reports_an_error_inside_the_hasher(tmp_path, monkeypatch):
    """A crop box of three numbers: every decodable image trips over it inside phash, while the
    truncated and the empty file keep their own reasons."""
    monkeypatch.setitem(phash.CROP_BOXES, "a broken box", (0.0, 0.0, 1.0))
    make_photo(tmp_path / "a.jpg", seed=1)
    make_photo(tmp_path / "b.jpg", seed=2)
    (tmp_path / "truncated.jpg").write_bytes((tmp_path / "a.jpg").read_bytes()[:300])
    (tmp_path / "empty.jpg").write_bytes(b"")
    refs = [ImageRef(uri=str(path), source="s", metadata={}) for path in sorted(tmp_path.iterdir())]
    unpack = "ValueError: not enough values to unpack (expected 4, got 3)"
    with TestPipeline() as p:
        out = p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=16)
        assert_that(out["images"], equal_to([]), label="images")
        assert_that(out["rejects"] | beam.Map(_brief), equal_to([
            ("decode_and_hash", "internal_error", "image", "a.jpg", unpack),
            ("decode_and_hash", "internal_error", "image", "b.jpg", unpack),
            ("decode_and_hash", "corrupt", "image", "truncated.jpg", "header unreadable: Truncated File Read"),
            ("decode_and_hash", "empty_file", "image", "empty.jpg", "the file has zero bytes")]), label="rejects")


def _hashed(name: str, seed: int, source: str = "s", **changes) -> HashedImage:
    base = HashedImage(id=hashlib.sha256(name.encode()).hexdigest(), uri=f"/d/{name}", source=source, width=64,
                       height=48, phash=f"{seed * 0x0123456789abcdef % 2**64:016x}", metadata={},
                       crop_hashes=(f"{seed * 0x0fedcba987654321 % 2**64:016x}",))
    return dataclasses.replace(base, **changes)


def test_deduplicate_rejects_the_images_it_trips_over_and_keeps_the_rest():
    """An image of a source no scope names, an exact pair without crop hashes and an image with a
    malformed pHash are each rejected once, as images; the table is built from the rest."""
    near = _hashed("near.jpg", 1, phash=f"{0x0123456789abcdef ^ 0b101:016x}", width=32, height=24)
    twin = _hashed("twin_b.jpg", 2, crop_hashes=None)
    images = [_hashed("keep.jpg", 1), near, _hashed("other.jpg", 3), _hashed("stranger.jpg", 4, source="elsewhere"),
              _hashed("twin_a.jpg", 2, crop_hashes=None), dataclasses.replace(twin, id=_hashed("twin_a.jpg", 2).id),
              _hashed("garbled.jpg", 5, phash="not-a-hash")]
    with TestPipeline() as p:
        out = p | beam.Create(images) | Deduplicate({"s": "global"}, threshold=4)
        assert_that(out["audit"] | beam.Map(lambda r: (r["uri"].rsplit("/", 1)[1], r["status"], r["kept_because"])),
                    equal_to([("keep.jpg", "kept", None), ("near.jpg", "duplicate", "more pixels"),
                              ("other.jpg", "kept", None)]), label="audit")
        not_iterable = "TypeError: Value after * must be an iterable, not NoneType"
        assert_that(out["rejects"] | beam.Map(_brief), equal_to([
            ("deduplicate", "internal_error", "image", "stranger.jpg", "KeyError: 'elsewhere'"),
            ("deduplicate", "internal_error", "image", "twin_a.jpg", not_iterable),
            ("deduplicate", "internal_error", "image", "twin_b.jpg", not_iterable),
            ("deduplicate", "internal_error", "image", "garbled.jpg",
             "ValueError: invalid literal for int() with base 16: 'not-a-hash'")]), label="rejects")


SOURCES = {"gen": Source(name="gen", kind="folder", location="/gen", licence="CC0-1.0", attribution="tests",
                         dedup_scope="global", tasks=())}
GROUPING = {"min_images": 4, "target_images": 6, "max_images": 8, "test_fraction": 0.0}


def _frame(clip: str, k: int, order) -> HashedImage:
    return HashedImage(id=hashlib.sha256(f"{clip}{k}".encode()).hexdigest(), uri=f"/gen/{clip}_{k}.jpg", source="gen",
                       width=64, height=48, phash="0" * 16, metadata={
                           "sequence": clip, "order": order, "timestamp": k * 0.5, "caption": f"step {k}",
                           "regions": [region("ball", [0.1, 0.1, 0.3, 0.3], track_id="ball")]})


def test_group_contexts_rejects_an_image_and_a_group_it_cannot_handle():
    """A frame without metadata, and a clip whose ``order`` mixes text and numbers (sorting it
    raises), while the good clip is still cut into windows."""
    good = [_frame("good", k, k) for k in range(6)]
    mixed = [_frame("mixed", k, str(k) if k == 3 else k) for k in range(6)]
    bare = dataclasses.replace(_frame("good", 9, 9), metadata=None)
    sequence_tasks = sorted(t.id for t in TASKS.values() if t.grouping == "sequence" and t.needs(good[0].metadata))
    assert len(sequence_tasks) >= 2

    def check(rejects):
        failed = [r for r in rejects if r["reason"] == "internal_error"]
        images = [(r["stage"], r["subject"], r["detail"]) for r in failed if r["subject_kind"] == "image"]
        assert images == [("group_contexts", "/gen/good_9.jpg", "AttributeError: 'NoneType' object has no attribute 'get'")]
        groups = sorted((r["stage"], r["subject"], r["source"], r["task"]) for r in failed if r["subject_kind"] == "group")
        assert groups == [("group_contexts", f"{task}/train/mixed", "gen", task) for task in sequence_tasks]
        assert len(failed) == len(images) + len(groups)
        assert all(r["detail"].startswith("TypeError: '<' not supported between instances of") for r in failed
                   if r["subject_kind"] == "group")

    with TestPipeline() as p:
        out = p | beam.Create(good + mixed + [bare]) | GroupContexts(SOURCES, 3, GROUPING)
        assert_that(out["rejects"], check, label="rejects")
        windows = (out["made"] | beam.Filter(lambda c: TASKS[c.task].grouping == "sequence")
                   | beam.Map(lambda c: tuple(sorted({slot.image.metadata["sequence"] for slot in c.images}))))
        assert_that(windows | beam.Distinct(), equal_to([("good",)]), label="the good clip is cut")


A, B, C = "a" * 16, "b" * 16, "c" * 16  # context ids


def _sample(context_id: str, **changes) -> dict:
    sample = copy.deepcopy(sample_record())
    sample["context_id"] = context_id
    sample.update(changes)
    return sample


def test_validate_reports_a_value_that_trips_the_judge():
    """A complex image width makes the judge's comparisons raise; a wrong answer keeps its reason."""
    broken = _sample(B)
    broken["image_facts"][0]["width"] = 1j
    with TestPipeline() as p:
        out = p | beam.Create([_sample(A), broken, _sample(C, answer="H")]) | Validate()
        assert_that(out["samples"] | beam.Map(lambda s: s["context_id"]), equal_to([A]), label="valid")
        assert_that(out["rejects"] | beam.Map(lambda r: (r["stage"], r["reason"], r["subject"], r["detail"][:60])),
                    equal_to([("validate", "internal_error", B,
                               "TypeError: '<' not supported between instances of 'complex' "),
                              ("validate", "invalid_sample", C, "$.answer: answer 'H' is not an option label (labels: A, B, C")]),
                    label="rejects")


def _without_from(context_id: str) -> dict:
    sample = _sample(context_id)
    del sample["reasoning"]["region2region"][0]["from"]
    return sample


def test_score_difficulty_heuristic_reports_a_sample_it_trips_over():
    with TestPipeline() as p:
        out = p | beam.Create([_sample(A), _without_from(B)]) | ScoreDifficulty()
        assert_that(out["samples"] | beam.Map(lambda s: (s["context_id"], s["difficulty"]["method"])),
                    equal_to([(A, "heuristic:v1")]), label="scored")
        assert_that(out["rejects"] | beam.Map(lambda r: (r["stage"], r["reason"], r["subject"], r["task"], r["detail"])),
                    equal_to([("score_difficulty", "internal_error", B, "location_relationship", "KeyError: 'from'")]),
                    label="rejects")


def test_score_difficulty_solver_reports_the_sample_it_trips_over_and_scores_the_batch(tmp_path):
    """A question that is not text fails building its request (on the solver's thread pool); the
    other samples of the same batch are asked and scored."""
    with SolverServer() as server:
        difficulty = difficulty_settings(server, tmp_path)
        with TestPipeline() as p:
            samples = [_sample(A), _sample(B, question=None), _sample(C, id="location_relationship-1")]
            out = p | beam.Create(samples) | ScoreDifficulty(difficulty)
            assert_that(out["samples"] | beam.Map(lambda s: (s["context_id"], s["difficulty"]["method"])),
                        equal_to([(A, "solver:fake-solver"), (C, "solver:fake-solver")]), label="scored")
            assert_that(out["rejects"] | beam.Map(lambda r: (r["stage"], r["reason"], r["subject"], r["detail"])),
                        equal_to([("score_difficulty", "internal_error", B,
                                   "AttributeError: 'NoneType' object has no attribute 'split'")]), label="rejects")


def _dividing_by_zero(ctx, rng):
    """A template whose arithmetic fails for every context it meets."""
    return len(ctx.metadata) / (len(ctx.metadata) - len(ctx.sizes))


def _report_and_rejects(output) -> tuple:
    report = json.loads((output / "report.json").read_text())
    rejects = [json.loads(line) for f in sorted((output / "rejects").glob("*.jsonl"))
               for line in f.read_text().splitlines()]
    return report, rejects


def test_a_build_goes_on_past_a_failing_template_and_still_adds_up(photo_manifest, tmp_path, monkeypatch):
    """location_relationship's templates swapped for one dividing by zero: each of its contexts is
    a draft reject with internal_error; the other tasks are written, and contexts = written +
    rejected."""
    task = "location_relationship"
    monkeypatch.setitem(TASKS, task, dataclasses.replace(TASKS[task], templates=(_dividing_by_zero,)))
    output = tmp_path / "out"
    with TestPipeline() as p:
        build_pipeline(p, load_manifest(str(photo_manifest)), str(output))
    report, rejects = _report_and_rejects(output)
    failed = [r for r in rejects if r["reason"] == "internal_error"]
    assert failed and {(r["stage"], r["subject_kind"], r["task"], r["detail"]) for r in failed} == {
        ("draft", "context", task, "ZeroDivisionError: division by zero")}
    assert report["contexts"]["by_task"][task] == len(failed) == report["samples"]["rejected_by_task"][task]
    assert report["samples"]["written"] > 0 and task not in report["samples"]["by_task"]
    assert report["rejects"]["draft"]["internal_error"] == len(failed)
    assert report["conservation"]["contexts"]["holds"] and report["conservation"]["images"]["holds"]


def test_a_build_accounts_for_images_the_hasher_trips_over(photo_manifest, tmp_path, monkeypatch):
    """Every decodable image fails inside phash: each has an images.parquet row, rejected with
    internal_error, the truncated file keeps "corrupt", and images in = rejected."""
    monkeypatch.setitem(phash.CROP_BOXES, "a broken box", (0.0, 0.0, 1.0))
    output = tmp_path / "out"
    with TestPipeline() as p:
        build_pipeline(p, load_manifest(str(photo_manifest)), str(output))
    report, rejects = _report_and_rejects(output)
    rows = pq.read_table(output / "images.parquet").to_pylist()
    listed = sorted(path.name for path in photo_manifest.parent.joinpath("photos").glob("*.jpg"))
    assert sorted((r["uri"].rsplit("/", 1)[1], r["status"], r["reason"]) for r in rows) == [
        (name, "rejected", "corrupt" if name == "broken.jpg" else "internal_error") for name in listed]
    assert {r["detail"] for r in rows if r["reason"] == "internal_error"} == {
        "ValueError: not enough values to unpack (expected 4, got 3)"}
    assert report["images"]["in"] == report["images"]["rejected"] == len(listed) == 10
    assert report["conservation"]["images"]["holds"] and report["rejects"]["decode_and_hash"]["internal_error"] == 9
