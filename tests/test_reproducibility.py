"""Same inputs and seed give the same samples, byte for byte, however many workers run."""
import hashlib
import json

from pipeline.cli import main

COMPARED = ("data", "rejects", "images.parquet", "README.md")


def _digests(out) -> dict:
    """sha256 of every output file that must reproduce exactly (report.json carries timings)."""
    files = [p for name in COMPARED for p in ([out / name] if (out / name).is_file() else (out / name).rglob("*"))
             if p.is_file()]
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _counts(out) -> dict:
    report = json.loads((out / "report.json").read_text())
    return {key: report[key] for key in ("images", "dedup", "contexts", "samples", "answers", "rejects")}


def test_two_builds_are_identical(photo_manifest, tmp_path):
    for run in ("first", "second"):
        assert main(["build", "--manifest", str(photo_manifest), "--output", str(tmp_path / run)]) == 0
    first, second = _digests(tmp_path / "first"), _digests(tmp_path / "second")
    assert any(name.startswith("data/") for name in first)
    assert first == second
    assert _counts(tmp_path / "first") == _counts(tmp_path / "second")


def test_two_worker_build_matches_one_worker(photo_manifest, tmp_path):
    assert main(["build", "--manifest", str(photo_manifest), "--output", str(tmp_path / "one")]) == 0
    assert main(["build", "--manifest", str(photo_manifest), "--output", str(tmp_path / "two"),
                 "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]) == 0
    assert _digests(tmp_path / "one") == _digests(tmp_path / "two")


def test_another_seed_gives_other_samples(photo_manifest, tmp_path):
    assert main(["build", "--manifest", str(photo_manifest), "--output", str(tmp_path / "a")]) == 0
    assert main(["build", "--manifest", str(photo_manifest), "--output", str(tmp_path / "b"), "--seed", "8"]) == 0
    shards = lambda out: {k: v for k, v in _digests(out).items() if k.startswith("data/")}  # noqa: E731
    assert shards(tmp_path / "a") != shards(tmp_path / "b")
