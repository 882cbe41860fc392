"""Paths no other test walked: each met once, where a user meets it (the command line, or the
stages wired as flow.py wires them), with the reason or message checked word for word."""
import json
import pathlib

import apache_beam as beam
import av
import numpy as np
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import make_photo, write_sidecar
from fake_openai_server import FakeOpenAIServer
from mir_fixtures import sample_record

from pipeline.cli import main
from pipeline.manifest import load_manifest, parse_manifest
from pipeline.stages.decode_and_hash import DecodeAndHash
from pipeline.stages.deduplicate import Deduplicate
from pipeline.stages.draft import Draft
from pipeline.stages.group_contexts import GroupContexts
from pipeline.stages.read_sources import ReadSources
from pipeline.stages.score_difficulty import ScoreDifficulty

SOURCE = "  - {{name: {name}, kind: {kind}, location: {location}, licence: CC0-1.0, attribution: tests}}\n"


def _manifest(tmp_path, *sources, extra: str = ""):
    path = tmp_path / "m.yaml"
    path.write_text("seed: 3\nsources:\n" + "".join(SOURCE.format(**s) for s in sources) + extra)
    return path


def _build(capsys, manifest, out) -> tuple:
    code = main(["build", "--manifest", str(manifest), "--output", str(out)])
    return code, capsys.readouterr().err.strip()


# --- the command line refuses what it cannot build from, in one line, exit 2 ----------------------

def test_a_source_that_is_a_file_not_a_folder_is_unreadable_and_stops_the_build(capsys, tmp_path):
    photo = make_photo(tmp_path / "photo.jpg", 1)
    out = tmp_path / "out"
    code, err = _build(capsys, _manifest(tmp_path, dict(name="photos", kind="folder", location=photo)), out)
    assert (code, err) == (2, f"mir: a source could not be read: source 'photos': {photo} is not a folder; "
                              f"nothing was published to {out}")
    assert not out.exists()


def test_two_sources_of_one_name_are_refused(capsys, tmp_path):
    folder = tmp_path / "photos"
    make_photo(folder / "a.jpg", 1)
    manifest = _manifest(tmp_path, dict(name="photos", kind="folder", location=folder),
                         dict(name="photos", kind="folder", location=folder))
    code, err = _build(capsys, manifest, tmp_path / "out")
    assert (code, err) == (2, "mir: sources: source name 'photos' is used twice")


def test_grouping_bounds_must_be_ordered(capsys, tmp_path):
    folder = tmp_path / "photos"
    make_photo(folder / "a.jpg", 1)
    source = dict(name="photos", kind="folder", location=folder)
    for bounds in ("{min_images: 5, target_images: 4, max_images: 8}",
                   "{min_images: 2, target_images: 9, max_images: 8}"):
        code, err = _build(capsys, _manifest(tmp_path, source, extra=f"grouping: {bounds}\n"), tmp_path / "out")
        assert (code, err) == (2, "mir: grouping: need min_images <= target_images <= max_images"), bounds
    # Equal bounds are ordered.
    data = {"sources": [{"name": "s", "kind": "folder", "location": "x", "licence": "l", "attribution": "a"}],
            "grouping": {"min_images": 4, "target_images": 4, "max_images": 4}}
    assert parse_manifest(data, ".").grouping["target_images"] == 4


def test_a_manifest_that_cannot_be_read_or_parsed(capsys, tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"sources: \xff\xfe\n")
    code, err = _build(capsys, binary, tmp_path / "out")
    assert (code, err) == (2, f"mir: {binary}: not valid UTF-8 (byte 9)")
    code, err = _build(capsys, tmp_path / "absent.yaml", tmp_path / "out")
    assert code == 2 and err.startswith(f"mir: {tmp_path / 'absent.yaml'}: cannot read manifest (")
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: 3\nsources: [\n  {name: a\n")
    code, err = _build(capsys, broken, tmp_path / "out")
    assert (code, err) == (2, f"mir: {broken}: not valid YAML at line 4")
    assert not (tmp_path / "out").exists()


# --- a video without frames ---------------------------------------------------------------------

def test_a_video_without_frames_is_rejected_and_the_others_listed(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    with av.open(str(clips / "empty.avi"), mode="w") as container:   # a header, no frame
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    with av.open(str(clips / "one.avi"), mode="w") as container:     # two seconds at 10 fps
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 60 + k, "uint8"), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    manifest = load_manifest(str(_manifest(tmp_path, dict(name="clips", kind="video", location=clips))))
    with TestPipeline() as p:
        out = p | ReadSources(manifest.sources)
        assert_that(out["images"] | beam.Map(lambda r: r.uri.rsplit("/", 1)[1]),
                    equal_to(["one.avi#t=0.0", "one.avi#t=1.0"]), label="frames")
        assert_that(out["rejects"] | beam.Map(lambda r: (r["stage"], r["reason"], r["detail"], r["subject"],
                                                         r["subject_kind"], r["source"])),
                    equal_to([("read_sources", "unreadable_video", "the video has no frames", str(clips / "empty.avi"),
                               "image", "clips")]), label="rejects")


# --- an image changed or gone between hashing and drafting ------------------------------------------

def _rewrite_after_hashing(image, changed: set, gone: set):
    """Runs after Deduplicate (which waits for every hash): changes or removes the files named."""
    name = image.uri.rsplit("/", 1)[1]
    path = pathlib.Path(image.uri)
    if name in changed and path.exists() and path.read_bytes()[-64:] != b"R" * 64:
        path.write_bytes(path.read_bytes() + b"R" * 64)   # still a JPEG, other bytes
    if name in gone and path.exists():
        path.unlink()
    return image


def test_an_image_changed_or_removed_after_hashing_is_rejected_by_draft_not_a_crash(tmp_path):
    """Four photos, each its own group, so each feeds the single-photo tasks (whose tiles and zooms
    Draft derives from the file). Two are rewritten and two removed once hashed: every context is
    rejected by Draft, naming its photo and why, and the pipeline finishes."""
    folder = tmp_path / "photos"
    for i in range(4):
        make_photo(folder / f"p{i}.jpg", seed=40 + i, size=(200, 150))
    write_sidecar(folder, [{"file": f"p{i}.jpg", "group": f"g{i}", "caption": f"Photo {i}."} for i in range(4)])
    manifest = load_manifest(str(_manifest(tmp_path, dict(name="photos", kind="folder", location=folder))))
    sources = {s.name: s for s in manifest.sources}
    changed, gone = {"p0.jpg", "p1.jpg"}, {"p2.jpg", "p3.jpg"}

    def check(rejects):
        assert rejects, "no context was rejected"
        by_photo = {}
        for r in rejects:
            assert (r["stage"], r["subject_kind"], r["source"]) == ("draft", "context", "photos"), r
            photo = next(f"p{i}.jpg" for i in range(4) if f"/p{i}.jpg" in r["detail"])
            by_photo.setdefault(photo, set()).add(r["task"])
            if photo in gone:
                assert r["reason"] == "unreadable" and "No such file or directory" in r["detail"], r
            else:
                assert r["reason"] == "unreadable", r
                assert "is no longer the image the build hashed (sha256 differs)" in r["detail"], r
        assert by_photo == {f"p{i}.jpg": {"image_puzzle", "scale_blur"} for i in range(4)}

    with TestPipeline() as p:
        hashed = (p | ReadSources(manifest.sources))["images"] | DecodeAndHash(**manifest.decode)
        kept = (hashed["images"] | Deduplicate({"photos": "global"}, 8))["images"]
        touched = kept | beam.Map(_rewrite_after_hashing, changed, gone)
        contexts = (touched | GroupContexts(sources, manifest.seed, manifest.grouping))["contexts"]
        drafted = contexts | Draft(manifest.drafter, sources, manifest.seed, manifest.decode)
        assert_that(drafted["samples"], equal_to([]), label="no samples")
        assert_that(drafted["rejects"], check, label="rejects")


# --- the solver and a sample whose images are gone -----------------------------------------------------

def test_the_solver_falls_back_to_the_heuristic_when_a_samples_images_are_gone(tmp_path):
    """A sample whose source image is not embedded and whose file is gone: the solver asks nothing,
    counts the unreadable images and the sample keeps the heuristic's level (one relation between
    two images: easy)."""
    sample = sample_record(3)
    sample["images"][0] = {"bytes": None, "path": "p0.jpg"}
    sample["image_facts"][0]["uri"] = str(tmp_path / "gone" / "p0.jpg")
    sample["difficulty"] = None
    with FakeOpenAIServer() as server:
        solver = {"base_url": server.base_url, "model": "fake-solver", "timeout": 30, "max_retries": 0,
                  "cache_location": str(tmp_path / "cache")}
        difficulty = parse_manifest({"sources": [{"name": "s", "kind": "folder", "location": "x", "licence": "l",
                                                  "attribution": "a"}],
                                     # the blind check needs no image: off, to see that nothing is asked
                                     "difficulty": {"solver": solver, "samples": 2, "blind": {"samples": 0}}},
                                    ".").difficulty
        pipeline = TestPipeline()
        scored = (pipeline | beam.Create([sample]) | ScoreDifficulty(difficulty))["samples"]
        assert_that(scored | beam.Map(lambda s: json.dumps(s["difficulty"], sort_keys=True)),
                    equal_to([json.dumps({"level": "easy", "pass_rate": None, "samples": 0,
                                          "method": "heuristic:v1"}, sort_keys=True)]))
        result = pipeline.run()
        result.wait_until_finish()
        asked = len(server.log)
    counters = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]
                if c.key.metric.namespace == "solver"}
    assert asked == 0
    assert counters.get("unreadable_images") == 1 and counters.get("heuristic_fallbacks") == 1
