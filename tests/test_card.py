"""The dataset card is true: the Hugging Face `datasets` library loads a real build through the
card's configs (the default one and one per task), the licence is what the sources say, and the
card carries a load snippet and MIR's citation."""
import json

import PIL.Image
import yaml
from datasets import load_dataset

from pipeline.cli import main
from pipeline.manifest import Source
from pipeline.output.card import MIR_CITATION, licence_fields


def _front_matter(card: str) -> dict:
    return yaml.safe_load(card.split("---\n")[1])


def test_datasets_loads_the_build_by_folder_and_by_task(photo_manifest, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", "--manifest", str(photo_manifest), "--output", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    card = (out / "README.md").read_text()
    front = _front_matter(card)
    by_task = report["samples"]["by_task"]
    assert [c["config_name"] for c in front["configs"]] == ["default", *sorted(by_task)]
    assert front["configs"][0]["default"] is True
    assert front["license"] == "cc0-1.0" and "license_name" not in front

    everything = load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    assert {split: len(rows) for split, rows in everything.items()} == {
        split: sum(per_task.get(split, 0) for per_task in by_task.values())
        for split in {s for per_task in by_task.values() for s in per_task}}
    for task, splits in by_task.items():
        one = load_dataset(str(out), task, cache_dir=str(tmp_path / "hf"))
        assert {split: len(rows) for split, rows in one.items()} == splits
        assert {row["task"] for rows in one.values() for row in rows} == {task}
        # Images are images: PIL images of the sizes the build recorded, one per placeholder.
        for rows in one.values():
            for row in rows:
                assert len(row["images"]) == len(row["image_facts"]) == row["question"].count("<image>")
                for image, facts in zip(row["images"], row["image_facts"]):
                    assert isinstance(image, PIL.Image.Image)
                    assert image.size == (facts["width"], facts["height"])
    assert MIR_CITATION in card and f'load_dataset("path/to/this/folder", "{min(by_task)}")' in card


def _source(name: str, licence: str) -> Source:
    return Source(name=name, kind="folder", location="/x", licence=licence, attribution="a", dedup_scope="off",
                  tasks=())


def test_one_licence_id_is_the_card_s_licence_and_anything_else_is_other_with_a_name():
    assert licence_fields([_source("a", "CC-BY-4.0"), _source("b", "CC-BY-4.0")]) == {"license": "cc-by-4.0"}
    other = {"license": "other", "license_name": "per-source-licences",
             "license_link": "README.md#sources-and-licences"}
    assert licence_fields([_source("a", "CC-BY-4.0"), _source("b", "CC0-1.0")]) == other
    assert licence_fields([_source("a", "see SOURCE.md")]) == other
