"""Never lose, never half-publish: what `mir build` does to its output folder, on real builds,
including builds killed or interrupted while they run."""
import hashlib
import json
import pathlib
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from pipeline.output.publish import MARKER, STAGING_TAG

ROOT = pathlib.Path(__file__).resolve().parent.parent


def tree(folder: pathlib.Path) -> dict:
    """Relative path -> sha256 of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(out: pathlib.Path) -> list:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name + ".mir-"))


def build(capsys, manifest, out, *extra) -> tuple:
    code = main(["build", "--manifest", str(manifest), "--output", str(out), *extra])
    captured = capsys.readouterr()
    return code, captured.err.strip()


def test_a_folder_that_is_not_a_build_is_refused_and_left_alone(capsys, photo_manifest, tmp_path):
    project = tmp_path / "project"
    (project / "data" / "photos").mkdir(parents=True)
    (project / "data" / "photos" / "mine.jpg").write_bytes(b"my photo")
    (project / "README.md").write_text("my project")
    before = tree(project)
    code, err = build(capsys, photo_manifest, project, "--overwrite")
    assert code == 2 and err.count("\n") == 0 and "not a mir build" in err
    assert tree(project) == before and leftovers(project) == []


def test_a_previous_build_is_replaced_only_when_asked_and_only_its_own_files_go(capsys, photo_manifest, tmp_path):
    out = tmp_path / "out"
    assert build(capsys, photo_manifest, out)[0] == 0
    first = tree(out)
    assert MARKER in first and json.loads((out / MARKER).read_text())["files"] == sorted(set(first) - {MARKER})
    code, err = build(capsys, photo_manifest, out)
    assert code == 2 and "--overwrite" in err and tree(out) == first
    # A file the build did not write, and one it did that the next build will not write again.
    (out / "preview").mkdir()
    (out / "preview" / "index.html").write_text("a preview")
    stale = out / "data" / "gone_task" / "train-00000-of-00001.parquet"
    stale.parent.mkdir()
    stale.write_bytes(b"old shard")
    marker = json.loads((out / MARKER).read_text())
    (out / MARKER).write_text(json.dumps(dict(marker, files=sorted(marker["files"] + [str(stale.relative_to(out))]))))
    assert build(capsys, photo_manifest, out, "--overwrite", "--seed", "9")[0] == 0
    after = tree(out)
    assert (out / "preview" / "index.html").read_text() == "a preview"
    assert not stale.exists() and not stale.parent.exists()
    assert set(after) - {"preview/index.html"} == set(json.loads((out / MARKER).read_text())["files"]) | {MARKER}
    assert leftovers(out) == []


def test_what_an_interrupted_build_left_is_finished_by_the_next(capsys, photo_manifest, tmp_path):
    """A staging folder (killed mid-build) is cleared; a previous build moved aside (killed
    mid-publish) comes back when OUT is gone, and its own files go once OUT is there again."""
    out = tmp_path / "out"
    assert build(capsys, photo_manifest, out)[0] == 0
    published = tree(out)
    staging = tmp_path / "out.mir-staging-deadbeef0000"
    (staging / "data").mkdir(parents=True)
    (staging / STAGING_TAG).write_text("in progress")
    (staging / "data" / "half.parquet").write_bytes(b"half")
    out.rename(tmp_path / "out.mir-old-deadbeef0001")
    assert build(capsys, photo_manifest, out, "--overwrite")[0] == 0
    assert leftovers(out) == []
    assert set(tree(out)) == set(published)


def test_a_killed_build_leaves_the_previous_build_whole(photo_manifest, tmp_path):
    """kill -9 while the build runs, at the moment its staging folder exists: OUT is unchanged,
    byte for byte, and the next build publishes a complete build."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(photo_manifest), "--output", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    before = tree(out)
    process = subprocess.Popen([*command, "--overwrite", "--seed", "3"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while process.poll() is None and not any(n.startswith("out.mir-staging-") for n in leftovers(out)):
        time.sleep(0.01)
    process.kill()
    process.wait(timeout=60)
    assert tree(out) == before
    subprocess.run([*command, "--overwrite", "--seed", "3"], check=True, capture_output=True, timeout=300)
    assert leftovers(out) == [] and tree(out) != before
    assert set(tree(out)) == set(json.loads((out / MARKER).read_text())["files"]) | {MARKER}


def test_ctrl_c_ends_with_one_line_and_status_130(photo_manifest, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(photo_manifest),
                                "--output", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=ROOT)
    while process.poll() is None and not leftovers(out):
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    if process.returncode == 0:   # the build finished before the signal arrived: nothing to judge
        return
    assert process.returncode == 130, err
    assert err.strip().splitlines() == [f"mir: interrupted; {out} is as it was before this build"]
    assert not out.exists() or not any(out.iterdir())


def test_a_missing_source_stops_the_build_before_anything_is_written(capsys, photo_manifest, tmp_path):
    photo_manifest.write_text(photo_manifest.read_text().replace(str(tmp_path / "photos"), str(tmp_path / "nowhere")))
    code, err = build(capsys, photo_manifest, tmp_path / "out")
    assert code == 2 and err == f"mir: source 'photos': {tmp_path / 'nowhere'} does not exist"
    assert not (tmp_path / "out").exists() and leftovers(tmp_path / "out") == []


def test_a_build_without_samples_is_published_and_exits_1(capsys, photo_manifest, tmp_path):
    # The photos carry no weights: a source that may only feed weight_comparison drafts nothing.
    photo_manifest.write_text(photo_manifest.read_text() + "    tasks: [weight_comparison]\n")
    out = tmp_path / "out"
    code, err = build(capsys, photo_manifest, out)
    assert code == 1 and err == ("mir: the build wrote no sample; its commonest reject reasons: 1 × the image data "
                                 "is damaged [corrupt] (report.json 'rejects', 'tasks_without_samples')")
    report = json.loads((out / "report.json").read_text())
    assert report["samples"]["written"] == 0 and report["conservation"]["images"]["holds"]


def test_convert_leaves_its_output_alone_when_the_input_cannot_be_read(capsys, tmp_path):
    out = tmp_path / "out.json"
    out.write_text('[{"kept": true}]\n')
    bad = tmp_path / "in.json"
    bad.write_bytes(b"\xff\xfe not JSON at all")
    assert main(["convert", "--to", "sample", str(bad), str(out)]) == 2
    assert out.read_text() == '[{"kept": true}]\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "out.json"]


def test_export_replaces_its_file_whole_and_leaves_no_partial_file(capsys, photo_manifest, tmp_path):
    out = tmp_path / "out"
    assert build(capsys, photo_manifest, out)[0] == 0
    target = tmp_path / "train.jsonl"
    target.write_text("an older export\n")
    for _ in range(2):
        assert main(["export", "curriculum", str(out), "--format", "swift", "--output", str(target)]) == 0
        lines = target.read_text().splitlines()
        assert lines and all(json.loads(line)["messages"] for line in lines)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".mir-partial")]


@pytest.mark.parametrize("images", ["embedded", "shared"])
def test_a_source_image_changed_before_its_shard_is_written_is_rejected_not_a_crash(capsys, photo_manifest,
                                                                                    photo_folder, tmp_path, images):
    """Samples travel without their source images' bytes; WriteShards reads them again (into the
    shards, or once into the shared image table). A photo rewritten in between leaves its samples
    out of the shards, each rejected with the reason, and report.json counts only what the shards
    hold; the image table does not hold the rewritten photo."""
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline

    from pipeline.manifest import load_manifest
    from pipeline.readback.shards import iter_samples, shard_paths
    from pipeline.stages.write_shards import WriteShards

    first = tmp_path / "first"
    assert build(capsys, photo_manifest, first)[0] == 0
    # As Draft hands them on: source images without their bytes, at the path they were read from.
    samples = [dict(s, images=[{"bytes": None, "path": f["uri"]} if f["derived_from"] is None else im
                               for im, f in zip(s["images"], s["image_facts"])])
               for s in iter_samples(shard_paths(str(first)))]
    changed = photo_folder / "p3.jpg"
    uses_changed = {s["id"] for s in samples if any(f["uri"] == str(changed) for f in s["image_facts"])}
    assert uses_changed and len(uses_changed) < len(samples)
    changed_sha256 = hashlib.sha256(changed.read_bytes()).hexdigest()
    changed.write_bytes(photo_folder.joinpath("p4.jpg").read_bytes())
    photo_manifest.write_text(photo_manifest.read_text() + f"output:\n  images: {images}\n")
    out = tmp_path / "second"
    with TestPipeline() as p:
        empty = p | "NoRows" >> beam.Create([])
        ({"samples": p | beam.Create(samples), "images": empty, "rejects": p | "NoRejects" >> beam.Create([]),
          "listed": p | "NoListing" >> beam.Create([]), "contexts": p | "NoContexts" >> beam.Create([])}
         | WriteShards(str(out), load_manifest(str(photo_manifest))))
    written = {s["id"] for s in iter_samples(shard_paths(str(out)))}
    assert written == {s["id"] for s in samples} - uses_changed
    rejects = [json.loads(line) for line in (out / "rejects" / "write_shards.jsonl").read_text().splitlines()]
    assert sorted(r["subject"] for r in rejects) == sorted(s["context_id"] for s in samples if s["id"] in uses_changed)
    assert {(r["reason"], r["subject_kind"]) for r in rejects} == {("unreadable", "context")}
    assert all("no longer the image the build hashed" in r["detail"] for r in rejects)
    assert json.loads((out / "report.json").read_text())["samples"]["written"] == len(written)
    if images == "shared":
        table = {row["sha256"] for row in pq.read_table(out / "image_table").to_pylist()}
        # Every source image the samples show, once, but the rewritten one.
        shown = {f["sha256"] for s in samples for f in s["image_facts"] if not f["derived_from"]}
        assert changed_sha256 in shown and table == shown - {changed_sha256}


def test_a_sample_whose_kept_derived_images_are_gone_or_changed_is_rejected_not_a_crash(capsys, photo_manifest,
                                                                                       tmp_path):
    """Samples reach WriteShards without their derived images' bytes, which Draft kept in the
    scratch folder. A sample whose file is gone, or holds other bytes, is left out and rejected;
    the others get their derived images back byte for byte."""
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline

    from pipeline.manifest import load_manifest
    from pipeline.readback.shards import iter_samples, shard_paths
    from pipeline.stages.derived_images import derived_path, keep_derived
    from pipeline.stages.write_shards import WriteShards

    first = tmp_path / "first"
    assert build(capsys, photo_manifest, first)[0] == 0
    built = {s["id"]: s for s in iter_samples(shard_paths(str(first)))}
    deriving = sorted(i for i, s in built.items() if any(f["derived_from"] for f in s["image_facts"]))
    assert len(deriving) >= 3
    gone, changed = deriving[:2]
    scratch = str(tmp_path / "scratch")
    for sample_id in deriving[1:]:
        sample = built[sample_id]
        keep_derived(scratch, [dict(f, bytes=im["bytes"]) for im, f in zip(sample["images"], sample["image_facts"])])
    kept = pathlib.Path(derived_path(scratch, [f["sha256"] for f in built[changed]["image_facts"] if f["derived_from"]]))
    kept.write_bytes(kept.read_bytes()[::-1])
    # As Draft hands them on: no image bytes at all.
    samples = [dict(s, images=[{"bytes": None, "path": f["uri"]} for f in s["image_facts"]]) for s in built.values()]
    out = tmp_path / "second"
    with TestPipeline() as p:
        empty = p | "NoRows" >> beam.Create([])
        ({"samples": p | beam.Create(samples), "images": empty, "rejects": p | "NoRejects" >> beam.Create([]),
          "listed": p | "NoListing" >> beam.Create([]), "contexts": p | "NoContexts" >> beam.Create([])}
         | WriteShards(str(out), load_manifest(str(photo_manifest)), scratch))
    written = {s["id"]: s for s in iter_samples(shard_paths(str(out)))}
    assert set(written) == set(built) - {gone, changed}
    assert all(written[i]["images"] == built[i]["images"] for i in written)
    rejects = [json.loads(line) for line in (out / "rejects" / "write_shards.jsonl").read_text().splitlines()]
    assert sorted(r["subject"] for r in rejects) == sorted(built[i]["context_id"] for i in (gone, changed))
    assert {r["reason"] for r in rejects} == {"unreadable"}
    assert sorted(r["detail"].split(":")[0] for r in rejects) == ["FileNotFoundError", "ValueError"]
