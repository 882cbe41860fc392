"""Each stage of the flow in a real Beam pipeline, with its rejects output."""
import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to, is_not_empty
from PIL import Image

from pipeline.manifest import load_manifest
from pipeline.records import ImageRef, sha256_hex
from pipeline.samples.judge import validate_record
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.deduplicate import Deduplicate
from pipeline.stages.draft import Draft
from pipeline.stages.group_contexts import GroupContexts
from pipeline.stages.read_sources import ReadSources
from pipeline.stages.score_difficulty import ScoreDifficulty
from pipeline.stages.validate import Validate
from tests.conftest import make_photo, write_sidecar


def _sources(manifest):
    return {s.name: s for s in manifest.sources}


def test_read_sources_lists_images_and_rejects_bad_sidecar_lines(tmp_path):
    folder = tmp_path / "imgs"
    make_photo(folder / "a.jpg", 1)
    make_photo(folder / "sub" / "b.jpg", 2)
    (folder / "notes.txt").write_text("not an image: rejected as unsupported_format")
    write_sidecar(folder, [{"file": "a.jpg", "caption": "A."},
                           {"file": "sub/b.jpg", "regions": [{"id": "r", "label": "x", "bbox": [0, 0, 2, 1]}]},
                           {"file": "gone.jpg"}])
    (folder / "metadata.jsonl").write_text((folder / "metadata.jsonl").read_text() + "{oops\n")
    manifest_path = tmp_path / "m.yaml"
    manifest_path.write_text(f"sources: [{{name: s, kind: folder, location: {folder}, licence: L, attribution: A}}]\n")
    manifest = load_manifest(str(manifest_path))
    with TestPipeline() as p:
        out = p | ReadSources(manifest.sources)
        assert_that(out["images"] | beam.Map(lambda r: (r.uri.rsplit("/", 1)[1], r.metadata.get("caption"))),
                    equal_to([("a.jpg", "A.")]), label="listed")
        assert_that(out["rejects"] | beam.Map(lambda r: (r["reason"], r["subject_kind"], r["subject"].rsplit("/", 1)[1])),
                    equal_to([("bad_metadata", "image", "b.jpg"), ("missing_file", "image", "gone.jpg"),
                              ("bad_metadata", "metadata", "metadata.jsonl:4"),
                              ("unsupported_format", "image", "notes.txt")]), label="rejects")


def test_decode_and_hash_reduces_images_to_references(tmp_path):
    good = make_photo(tmp_path / "good.jpg", 3, size=(200, 100))
    tiny = make_photo(tmp_path / "tiny.jpg", 4, size=(20, 20))
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    refs = [ImageRef(str(p), "s", {"file": p.name}) for p in (good, tiny, text)]
    with TestPipeline() as p:
        out = p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=32)
        assert_that(out["images"] | beam.Map(lambda im: (im.id, im.width, im.height, len(im.phash))),
                    equal_to([(sha256_hex(good.read_bytes()), 200, 100, 16)]), label="hashed")
        assert_that(out["rejects"] | beam.Map(lambda r: (r["subject"].rsplit("/", 1)[1], r["reason"])),
                    equal_to([("tiny.jpg", "too_small"), ("text.jpg", "not_an_image")]), label="rejects")


def test_deduplicate_keeps_one_per_cluster_and_records_the_rest(tmp_path):
    a = make_photo(tmp_path / "a.jpg", 5, size=(320, 240))
    Image.open(a).resize((160, 120)).save(tmp_path / "a_small.jpg", quality=60)
    (tmp_path / "a_copy.jpg").write_bytes(a.read_bytes())
    make_photo(tmp_path / "b.jpg", 6)
    refs = [ImageRef(str(tmp_path / n), "s", {"file": n}) for n in ("a.jpg", "a_small.jpg", "a_copy.jpg", "b.jpg")]
    with TestPipeline() as p:
        hashed = (p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=32))["images"]
        out = hashed | Deduplicate({"s": "global"}, threshold=8)
        assert_that(out["images"] | beam.Map(lambda im: im.uri.rsplit("/", 1)[1]), equal_to(["a.jpg", "b.jpg"]),
                    label="kept")
        assert_that(out["audit"] | beam.Map(lambda r: (r["uri"].rsplit("/", 1)[1], r["status"], r["reason"],
                                                       (r["duplicate_of"] or "").rsplit("/", 1)[-1])),
                    equal_to([("a.jpg", "kept", None, ""), ("b.jpg", "kept", None, ""),
                              ("a_copy.jpg", "duplicate", "exact_duplicate", "a.jpg"),
                              ("a_small.jpg", "duplicate", "near_duplicate", "a.jpg")]), label="audit")


def test_deduplicate_scope_off_keeps_identical_frames(tmp_path):
    a = make_photo(tmp_path / "f0.jpg", 7)
    (tmp_path / "f1.jpg").write_bytes(a.read_bytes())
    refs = [ImageRef(str(tmp_path / n), "video", {"file": n}) for n in ("f0.jpg", "f1.jpg")]
    with TestPipeline() as p:
        hashed = (p | beam.Create(refs) | DecodeAndHash(max_pixels=10**7, min_side=32))["images"]
        out = hashed | Deduplicate({"video": "off"}, threshold=8)
        assert_that(out["audit"] | beam.Map(lambda r: r["status"]), equal_to(["kept", "kept"]))


def _build_stages(p, manifest):
    """ReadSources .. ScoreDifficulty, as flow.py wires them."""
    sources = _sources(manifest)
    listed = p | ReadSources(manifest.sources)
    hashed = (listed["images"] | DecodeAndHash(**manifest.decode))["images"]
    kept = (hashed | Deduplicate({n: s.dedup_scope for n, s in sources.items()}, 8))["images"]
    contexts = (kept | GroupContexts(sources, manifest.seed, manifest.grouping))["contexts"]
    drafted = contexts | Draft(manifest.drafter, sources, manifest.seed, manifest.decode)
    return contexts, drafted


def test_group_contexts_is_deterministic_and_sized(photo_manifest, tmp_path):
    manifest = load_manifest(str(photo_manifest))
    runs = []
    for run in range(2):
        with TestPipeline() as p:
            contexts, _ = _build_stages(p, manifest)
            (contexts | beam.Map(lambda c: json.dumps([c.id, c.task, len(c.images)]))
             | beam.io.WriteToText(str(tmp_path / f"run{run}"), shard_name_template=""))
        runs.append(sorted(json.loads(line) for line in (tmp_path / f"run{run}").read_text().splitlines()))
    assert runs[0] == runs[1]
    assert {task for _, task, _ in runs[0]} == {"image_puzzle", "scale_blur", "location_relationship"}
    assert all(4 <= n <= 8 for _, _, n in runs[0])


def test_draft_validate_and_score(photo_manifest):
    manifest = load_manifest(str(photo_manifest))
    with TestPipeline() as p:
        _, drafted = _build_stages(p, manifest)
        validated = drafted["samples"] | Validate()
        scored = (validated["samples"] | ScoreDifficulty())["samples"]
        assert_that(drafted["rejects"], equal_to([]), label="no draft rejects")
        assert_that(validated["rejects"], equal_to([]), label="no validate rejects")
        assert_that(scored | beam.FlatMap(validate_record), equal_to([]), label="all valid")
        assert_that(scored | beam.Map(lambda s: s["difficulty"]["method"]), is_not_empty(), label="scored")


def test_validate_rejects_a_broken_sample(photo_manifest):
    manifest = load_manifest(str(photo_manifest))
    with TestPipeline() as p:
        _, drafted = _build_stages(p, manifest)
        broken = drafted["samples"] | beam.Map(lambda s: dict(s, answer="H"))
        out = broken | Validate()
        assert_that(out["samples"], equal_to([]), label="none pass")
        assert_that(out["rejects"] | beam.Map(lambda r: (r["stage"], r["reason"], "$.answer" in r["detail"])),
                    is_not_empty(), label="rejected")
