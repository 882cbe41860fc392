"""`mir build` on a copy of the bundled sample collection, read back like a user would."""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.schemas import validator
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    """Build the default manifest over a temporary copy of examples/."""
    work = tmp_path_factory.mktemp("build")
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copy(ROOT / "data_manifest.yaml", work / "data_manifest.yaml")
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--output", "out"],
                          cwd=work, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return work, done.stdout


def _json_row(row):
    """A Parquet row as the schema documents it: image bytes as base64."""
    for image in row["images"]:
        if image["bytes"] is not None:
            image["bytes"] = base64.b64encode(image["bytes"]).decode("ascii")
    return row


def test_every_shard_row_validates_against_the_sample_schema(sample_build):
    work, _ = sample_build
    shards = sorted((work / "out" / "data").glob("*/*.parquet"))
    assert shards
    rows = [row for shard in shards for row in pq.read_table(shard).to_pylist()]
    for row in rows:
        errors = list(validator("sample").iter_errors(_json_row(row)))
        assert errors == [], (row["id"], errors[0].message)
    assert len({row["id"] for row in rows}) == len(rows)


def test_shards_follow_the_layout_and_hold_their_task(sample_build):
    work, _ = sample_build
    shards = sorted((work / "out" / "data").glob("*/*.parquet"))
    assert len({s.parent.name for s in shards}) >= 3, shards   # the sample collection feeds three tasks or more
    for shard in shards:
        split, index, _, count = shard.stem.split("-")
        assert split in ("train", "test") and index.isdigit() and count.isdigit()
        frame = pd.read_parquet(shard)
        assert set(frame["task"]) == {shard.parent.name}
        assert set(frame["split"]) == {split}


def test_image_bytes_are_stored_as_they_are_and_the_rest_compressed(sample_build):
    """Encoded images gain nothing from zstd or a dictionary; every other column gets both."""
    work, _ = sample_build
    shards = sorted((work / "out" / "data").glob("*/*.parquet"))
    assert shards, "the build wrote no shard"
    for shard in shards:
        group = pq.ParquetFile(shard).metadata.row_group(0)
        columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
        image_bytes = columns.pop("images.list.element.bytes")
        assert image_bytes.compression == "UNCOMPRESSED" and "RLE_DICTIONARY" not in image_bytes.encodings
        assert {c.compression for c in columns.values()} == {"ZSTD"}
        assert "RLE_DICTIONARY" in columns["task"].encodings


def test_at_least_three_tasks_and_embedded_images_match_their_hashes(sample_build):
    work, _ = sample_build
    tasks = {p.name for p in (work / "out" / "data").iterdir() if any(p.glob("*.parquet"))}
    assert len(tasks) >= 3
    frame = pd.read_parquet(work / "out" / "data")
    assert len(frame) > 0
    for images, facts in zip(frame["images"], frame["image_facts"]):
        assert len(images) == len(facts) > 1
        for image, fact in zip(images, facts):
            assert hashlib.sha256(image["bytes"]).hexdigest() == fact["sha256"]
            # The Hugging Face Image layout: a file name with the bytes, nothing else.
            assert set(image) == {"bytes", "path"}
            expected = f"{fact['sha256']}.jpg" if fact["derived_from"] else fact["uri"].rsplit("/", 1)[1]
            assert image["path"] == expected


def test_duckdb_reads_the_shards(sample_build):
    work, _ = sample_build
    pattern = str(work / "out" / "data" / "*" / "*.parquet")
    [(count,)] = duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchall()
    report = json.loads((work / "out" / "report.json").read_text())
    assert count == report["samples"]["written"] > 0


def _source_files(work) -> set:
    """Every file of the sample's source folders (examples/*/) but their sidecars: each gets a row."""
    return {str(p.relative_to(work)) for p in (work / "examples").glob("*/**/*")
            if p.is_file() and p.name != "metadata.jsonl"}


def test_report_counts_add_up(sample_build):
    work, stdout = sample_build
    report = json.loads((work / "out" / "report.json").read_text())
    images = report["images"]
    assert images["in"] == images["kept"] + images["duplicate"] + images["rejected"]
    assert report["contexts"]["total"] == report["samples"]["written"] + report["samples"]["rejected"]
    assert all(check["holds"] for check in report["conservation"].values())
    assert images["in"] == len(_source_files(work))
    assert f"{report['samples']['written']} samples" in stdout


def test_images_table_lists_every_file_once_with_its_fate(sample_build):
    work, _ = sample_build
    table = pd.read_parquet(work / "out" / "images.parquet")
    assert table["uri"].is_unique
    assert set(table["uri"]) == _source_files(work)
    assert set(table[~table["uri"].str.endswith((".jpg", ".png"))]["reason"]) == {"unsupported_format"}
    broken = table.set_index("uri").loc["examples/photos/broken.jpg"]
    assert broken["status"] == "rejected" and broken["reason"] == "corrupt"
    duplicates = table[table["status"] == "duplicate"]
    assert len(duplicates) >= 3
    assert set(duplicates["duplicate_of"]) <= set(table[table["status"] == "kept"]["uri"])


def test_rejects_and_card(sample_build):
    work, _ = sample_build
    rejected = [json.loads(line) for line in (work / "out" / "rejects" / "decode_and_hash.jsonl").read_text().splitlines()]
    assert {"subject": "examples/photos/broken.jpg", "reason": "corrupt"}.items() <= rejected[0].items()
    card = (work / "out" / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    tasks = sorted(p.name for p in (work / "out" / "data").iterdir())
    assert [c["config_name"] for c in front["configs"]] == ["default", *tasks]
    # The sample collection's sources have different licences: the card names them per source.
    assert (front["license"], front["license_name"]) == ("other", "per-source-licences")


def test_mir_validate_accepts_the_whole_build(sample_build, capsys):
    from pipeline.cli import main
    work, _ = sample_build
    report = json.loads((work / "out" / "report.json").read_text())
    assert main(["validate", str(work / "out")]) == 0
    written = report["samples"]["written"]
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"{written} records, {written} valid, 0 invalid"


def test_report_shortcuts_add_up_to_the_samples_written_and_the_card_shows_them(sample_build):
    """The shortcut figures count what the shards hold, and over the whole build they are what
    pipeline/shortcuts.py gives on the samples read back from the shards."""
    from pipeline.readback.shards import iter_samples, shard_paths
    from pipeline.shortcuts import STRATEGIES, shortcut_figures
    work, _ = sample_build
    report = json.loads((work / "out" / "report.json").read_text())
    shortcuts = report["shortcuts"]
    assert shortcuts["strategies"] == list(STRATEGIES)
    assert {task: figures["samples"] for task, figures in shortcuts["by_task"].items()} == \
        {task: sum(splits.values()) for task, splits in report["samples"]["by_task"].items()}
    samples = list(iter_samples(shard_paths(str(work / "out"))))
    assert shortcuts["all"]["samples"] == report["samples"]["written"] == len(samples) > 0
    overall = shortcut_figures(samples)
    assert {k: shortcuts["all"][k] for k in ("samples", "chance", "accuracy")} == overall
    for task, figures in shortcuts["by_task"].items():
        alone = shortcut_figures([s for s in samples if s["task"] == task])
        assert figures["chance"] == alone["chance"]
        assert {s: figures["accuracy"][s] for s in STRATEGIES if s != "usual_answer"} == \
            {s: alone["accuracy"][s] for s in STRATEGIES if s != "usual_answer"}
    card = (work / "out" / "README.md").read_text()
    assert "## Shortcuts" in card
    for task, figures in shortcuts["by_task"].items():
        assert f"| {task} | {figures['samples']} | {figures['chance']:.0%} |" in card
    assert f"| all tasks | {len(samples)} | {shortcuts['all']['chance']:.0%} |" in card
