"""`mir convert --to mir|sample`: both directions, lossless where the formats overlap."""
import base64
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from pipeline.output.arrow_schema import arrow_schema
from pipeline.samples.judge import validate_record
from pipeline.samples.mir_format import read_options, render_region2region, render_text2region
from tests.mir_fixtures import dump, json_sample, mir_list_style, mir_record, sample_record, write_images

SUMMARY = re.compile(r"^(\d+) records, (\d+) converted, (\d+) not converted$")


def convert(capsys, *argv):
    code = main(["convert", *map(str, argv)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.out.splitlines()
    assert lines and SUMMARY.match(lines[-1]), captured
    return code, lines[:-1], captured.err


def validate(capsys, *argv) -> int:
    code = main(["validate", *map(str, argv)])
    capsys.readouterr()
    return code


def samples_in_parquet(path) -> list:
    return pq.read_table(path).to_pylist()


# Optional fields a Parquet row carries as null when the record left them out.
OPTIONAL_DIFFICULTY = ("blind_pass_rate", "blind_samples", "multimodal_gain", "answerable_without_images")


def without_null_optionals(record: dict) -> dict:
    """The record as it was before Parquet filled its optional fields with nulls."""
    difficulty = {k: v for k, v in record["difficulty"].items() if not (k in OPTIONAL_DIFFICULTY and v is None)}
    return {k: v for k, v in dict(record, difficulty=difficulty).items() if not (k == "mir_native" and v is None)}


@pytest.fixture
def shard(tmp_path):
    records = [sample_record(), dict(sample_record(count=2), id="location_relationship-1111111111111111")]
    records[1]["options"] = records[1]["options"][:2]
    path = tmp_path / "in" / "shard.parquet"
    path.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(records, schema=arrow_schema("sample")), path)
    return path, records


# ----------------------------------------------------------------------------- ours -> MIR

def test_samples_to_mir_and_back_is_lossless(capsys, tmp_path, shard):
    path, records = shard
    assert all(validate_record(r) == [] for r in records)
    code, problems, _ = convert(capsys, "--to", "mir", path, tmp_path / "mir" / "all_data_rel.json")
    assert (code, problems) == (0, [])
    mir = json.loads((tmp_path / "mir" / "all_data_rel.json").read_text())
    assert len(mir) == 2 and all(validate_record(r, schema="mir") == [] for r in mir)
    assert validate(capsys, tmp_path / "mir" / "all_data_rel.json") == 0  # images written and found
    assert validate(capsys, "--schema", "mir", tmp_path / "mir") == 0

    code, problems, _ = convert(capsys, "--to", "sample", tmp_path / "mir" / "all_data_rel.json", tmp_path / "back.parquet")
    assert (code, problems) == (0, [])
    assert [without_null_optionals(r) for r in samples_in_parquet(tmp_path / "back.parquet")] == records
    code, _, _ = convert(capsys, "--to", "sample", tmp_path / "mir" / "all_data_rel.json", tmp_path / "back.jsonl")
    back = [json.loads(line) for line in (tmp_path / "back.jsonl").read_text().splitlines()]
    assert code == 0 and [without_null_optionals(r) for r in back] == [json_sample(r) for r in records]


def test_mir_fields_where_the_formats_overlap(capsys, tmp_path, shard):
    path, records = shard
    convert(capsys, "--to", "mir", path, tmp_path / "out.jsonl")
    first = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    sample = records[0]
    assert first["id"] == sample["id"] and first["task"] == sample["task"]
    assert first["question"] == sample["question"]
    assert first["options"] == {o["label"]: o["text"] for o in sample["options"]}
    assert first["answer"] == sample["answer"] and first["conclusion"] == sample["reasoning"]["conclusion"]
    assert first["summary"] == sample["reasoning"]["summary"] and first["caption"] == sample["reasoning"]["captions"]
    written = [(tmp_path / p).read_bytes() for p in first["images"]]
    assert written == [im["bytes"] for im in sample["images"]]


def test_structured_regions_become_readable_text(capsys, tmp_path, shard):
    path, records = shard
    convert(capsys, "--to", "mir", path, tmp_path / "out.json")
    first = json.loads((tmp_path / "out.json").read_text())[0]
    t2r, r2r = records[0]["reasoning"]["text2region"][0], records[0]["reasoning"]["region2region"][0]
    assert first["text2img"] == render_text2region([t2r])
    assert first["text2img"] == 'Image 2 [0.100, 0.200, 0.500, 0.600]: "the red ball" (ball)'
    assert first["img2img"] == ("ball (image 2, [0.100, 0.200, 0.500, 0.600]) left of table (image 1, "
                                "[0.000, 0.500, 1.000, 1.000]): The ball is left of the table.")
    assert first["img2img"] == render_region2region([r2r])


def test_edited_mir_text_is_kept_as_text(capsys, tmp_path, shard):
    """A converted file edited as MIR: the edit wins over the structured regions it replaces."""
    path, _ = shard
    convert(capsys, "--to", "mir", path, tmp_path / "out.json")
    mir = json.loads((tmp_path / "out.json").read_text())
    mir[0]["text2img"] = "The red ball is in image 2, bottom left."
    dump(tmp_path / "edited.json", mir)
    code, _, _ = convert(capsys, "--to", "sample", tmp_path / "edited.json", tmp_path / "edited.jsonl")
    sample = json.loads((tmp_path / "edited.jsonl").read_text().splitlines()[0])
    assert code == 0 and sample["reasoning"]["text2region"] == []
    assert sample["mir_native"]["text2img"] == ["The red ball is in image 2, bottom left."]
    assert sample["reasoning"]["region2region"] == mir[0]["mir_builder"]["region2region"]


# ----------------------------------------------------------------------------- MIR -> ours

@pytest.fixture
def contributed(tmp_path):
    names = write_images(tmp_path / "contrib" / "images")
    images = [f"images/{n}" for n in names]
    records = [mir_record(images, task="location_relationship", id="c-1",
                          difficulty="easy", source_note="from a partner"),
               mir_list_style(images)]
    return dump(tmp_path / "contrib" / "all_data_rel.json", records), records


def test_mir_to_samples(capsys, tmp_path, contributed):
    path, records = contributed
    code, problems, _ = convert(capsys, "--to", "sample", "--licence", "CC-BY-4.0", path, tmp_path / "s.parquet")
    assert (code, problems) == (0, [])
    samples = samples_in_parquet(tmp_path / "s.parquet")
    assert all(validate_record(s) == [] for s in samples)
    assert validate(capsys, tmp_path / "s.parquet") == 0  # embedded images decode

    dict_style, list_style = samples
    assert dict_style["task"] == "location_relationship" and dict_style["category"] == "spatial"
    assert dict_style["answer"] == "B"  # from the conclusion "B"
    assert dict_style["options"] == [{"label": "A", "text": "Image 1"}, {"label": "B", "text": "Image 2"},
                                     {"label": "C", "text": "Image 3"}]
    assert dict_style["difficulty"]["level"] == "easy"
    assert dict_style["provenance"]["sources"][0]["licence"] == "CC-BY-4.0"
    assert dict_style["ground_truth"] == {"verified": False, "method": "contributed"}
    assert dict_style["mir_native"]["id"] == "c-1"
    assert json.loads(dict_style["mir_native"]["extra"]) == {"difficulty": "easy", "source_note": "from a partner"}
    # MIR's free text is kept as text, verbatim.
    assert dict_style["mir_native"]["text2img"] == [records[0]["text2img"]]
    assert dict_style["mir_native"]["img2img"] == [records[0]["img2img"]]
    assert dict_style["reasoning"]["text2region"] == [] and dict_style["reasoning"]["region2region"] == []

    assert list_style["task"] == "depth_relationship" and list_style["answer"] == "C"
    assert [o["text"] for o in list_style["options"]] == ["Image 1", "Image 2", "Image 3"]
    assert list_style["reasoning"]["captions"] == ["a car, photo 1.", "a car, photo 2.", "a car, photo 3."]
    assert list_style["mir_native"]["text2img"] == records[1]["text2img"]
    assert list_style["mir_native"]["reasoning"] == [records[1]["reasoning"]]
    assert list_style["question"] == records[1]["question"]  # numbered placeholders kept
    for sample, original in zip(samples, records):
        assert [im["bytes"] for im in sample["images"]] == \
            [(path.parent / p).read_bytes() for p in original["images"]]


def test_mir_to_samples_and_back_keeps_the_mir_content(capsys, tmp_path, contributed):
    path, records = contributed
    convert(capsys, "--to", "sample", path, tmp_path / "s.jsonl")
    code, problems, _ = convert(capsys, "--to", "mir", tmp_path / "s.jsonl", tmp_path / "again" / "mir.json")
    assert (code, problems) == (0, [])
    again = json.loads((tmp_path / "again" / "mir.json").read_text())
    for original, back in zip(records, again):
        for key in ("question", "summary", "text2img", "img2img", "conclusion"):
            assert back[key] == original[key], key
        opts, back_opts = read_options(original["options"]), read_options(back["options"])
        assert (opts.labels, opts.texts) == (back_opts.labels, back_opts.texts)
        assert [(tmp_path / "again" / p).read_bytes() for p in back["images"]] == \
            [(path.parent / p).read_bytes() for p in original["images"]]
    assert again[0]["id"] == "c-1" and again[0]["source_note"] == "from a partner"
    assert again[0]["caption"] == records[0]["caption"]
    assert again[1]["id"] == "17" and again[1]["reasoning"] == records[1]["reasoning"]
    assert validate(capsys, tmp_path / "again" / "mir.json") == 0


def test_no_embed_keeps_the_paths(capsys, tmp_path, contributed):
    path, records = contributed
    code, _, _ = convert(capsys, "--to", "sample", "--no-embed", path, tmp_path / "s.json")
    samples = json.loads((tmp_path / "s.json").read_text())
    assert code == 0 and all(im["bytes"] is None for s in samples for im in s["images"])
    assert [im["path"] for im in samples[0]["images"]] == records[0]["images"]
    assert [f["uri"] for f in samples[0]["image_facts"]] == records[0]["images"]


def test_a_record_without_a_task_needs_one(capsys, tmp_path):
    names = write_images(tmp_path / "images")
    path = dump(tmp_path / "m.json", [mir_record([f"images/{n}" for n in names])])
    code, problems, _ = convert(capsys, "--to", "sample", path, tmp_path / "s.json")
    assert code == 1 and problems == [f"{path}:0: $: no task this project knows: name one with --task"]
    assert json.loads((tmp_path / "s.json").read_text()) == []
    code, problems, _ = convert(capsys, "--to", "sample", "--task", "Chart Analysis", path, tmp_path / "s.json")
    assert (code, problems) == (0, [])
    assert json.loads((tmp_path / "s.json").read_text())[0]["category"] == "analytical"
    assert main(["convert", "--to", "sample", "--task", "nonsense", str(path), str(tmp_path / "x.json")]) == 2
    capsys.readouterr()


def test_records_that_cannot_be_converted_are_reported_and_left_out(capsys, tmp_path):
    names = write_images(tmp_path / "images")
    images = [f"images/{n}" for n in names]
    records = [mir_record(images, answer="Q"),                                     # invalid
               mir_record(images, caption="One string for three images."),         # cannot split
               mir_record(["../outside.jpg"] + images[1:]),                         # escapes the root
               mir_record(images)]
    path = dump(tmp_path / "m.json", records)
    code, problems, _ = convert(capsys, "--to", "sample", "--task", "image_puzzle", path, tmp_path / "s.jsonl")
    assert code == 1
    assert [line.split(": ")[0:2] for line in problems] == [[f"{path}:0", "$.answer"], [f"{path}:1", "$.caption"],
                                                           [f"{path}:2", "$.images[0]"]]
    assert len((tmp_path / "s.jsonl").read_text().splitlines()) == 1


def test_records_already_in_the_target_format_are_copied(capsys, tmp_path, contributed):
    path, records = contributed
    code, _, _ = convert(capsys, "--to", "mir", path, tmp_path / "same.json")
    assert code == 0 and json.loads((tmp_path / "same.json").read_text()) == records


def test_unusable_arguments_and_input(capsys, tmp_path, contributed):
    path, _ = contributed
    assert main(["convert", "--to", "mir", str(path), str(tmp_path / "out.parquet")]) == 2
    assert main(["convert", "--to", "sample", str(path), str(tmp_path / "out.csv")]) == 2
    assert main(["convert", "--to", "mir", str(path), str(path)]) == 2
    assert main(["convert", "--to", "mir", str(tmp_path / "missing.json"), str(tmp_path / "o.json")]) == 2
    capsys.readouterr()
    (tmp_path / "broken.json").write_text("[{")
    code, problems, _ = convert(capsys, "--to", "mir", tmp_path / "broken.json", tmp_path / "o.json")
    assert code == 2 and "truncated" in problems[0]
    (tmp_path / "fake.parquet").write_text("nope")
    code, problems, _ = convert(capsys, "--to", "mir", tmp_path / "fake.parquet", tmp_path / "o.json")
    assert code == 2 and "not a Parquet file" in problems[0]


def test_base64_images_from_json_become_binary_in_parquet(capsys, tmp_path):
    record = json_sample(sample_record())
    path = dump(tmp_path / "s.json", record)
    code, _, _ = convert(capsys, "--to", "sample", path, tmp_path / "s.parquet")
    row = samples_in_parquet(tmp_path / "s.parquet")[0]
    assert code == 0 and row["images"][0]["bytes"] == base64.b64decode(record["images"][0]["bytes"])
