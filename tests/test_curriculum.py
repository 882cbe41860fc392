"""`mir export curriculum` on a real build of a generated collection whose texts carry markup."""
import hashlib
import json
import pathlib

import pyarrow.parquet as pq

from pipeline.cli import main
from pipeline.readback.curriculum import LEVELS, STAGES, STEPS, ordered_variants, step_components
from pipeline.readback.shards import shard_paths
from tests.conftest import make_photo
from tests.markup_build import build, samples  # noqa: F401 (fixtures)

STAGE_BY_NAME = {stage.name: stage for stage in STAGES}


def export(out, output, fmt, *extra):
    return main(["export", "curriculum", str(out), "--format", fmt, "--output", str(output), *extra])


def read_jsonl(path):
    return [json.loads(line) for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines()]


def components(sample, step):
    """What must not leak, per step: the raw texts of the sample, and for grounded steps every
    written entry (the phrase of a Text2Region is quoted from the question, so its entry is the
    unit; a relation's explanation is checked raw too)."""
    reasoning = sample["reasoning"]
    raw = {"summary": [reasoning["summary"]], "captions": list(reasoning["captions"]),
           "conclusion": [reasoning["conclusion"]],
           "region2region": [r["explanation"] for r in reasoning["region2region"]]}.get(step, [])
    return raw + step_components(sample, step)


def test_no_stage_puts_any_part_of_its_target_in_its_input(build, samples, tmp_path):
    assert export(build, tmp_path / "c.jsonl", "llava", "--split", "all") == 0
    records = read_jsonl(tmp_path / "c.jsonl")
    stages_seen = {}
    checked = {step: 0 for step in STEPS}
    for record in records:
        sample_id, stage_name = record["id"].split(":")
        stage, sample = STAGE_BY_NAME[stage_name], samples[sample_id]
        [human, gpt] = record["conversations"]
        stages_seen.setdefault(sample_id, []).append(stage_name)
        for index, step in enumerate(STEPS):
            for text in components(sample, step):
                if index < stage.given:
                    assert text in human["value"], (record["id"], step, text)
                else:
                    assert text not in human["value"], f"{record['id']}: {step} leaks into the input: {text!r}"
                    assert text in gpt["value"], (record["id"], step, text)
                    checked[step] += 1
    assert set(stages_seen) == set(samples)
    assert all(sorted(names) == sorted(STAGE_BY_NAME) for names in stages_seen.values())
    assert all(checked.values()), checked  # every kind of step was a target somewhere


def test_stage_one_is_guided_and_stage_five_is_the_bare_question(build, samples, tmp_path):
    assert export(build, tmp_path / "c.jsonl", "llava", "--split", "all") == 0
    prompts = {tuple(r["id"].split(":")): r["conversations"][0]["value"] for r in read_jsonl(tmp_path / "c.jsonl")}
    for sample_id, sample in samples.items():
        bare, guided = prompts[sample_id, "bare_question"], prompts[sample_id, "full_chain"]
        assert bare.startswith(sample["question"])
        assert all(f"{o['label']}. {o['text']}" in bare for o in sample["options"])
        assert guided.startswith(bare) and len(guided) > len(bare)


def test_formats_hold_the_same_turns_and_images_written_once_by_content(build, tmp_path):
    for fmt in ("swift", "llava", "sharegpt"):
        assert export(build, tmp_path / f"{fmt}.jsonl", fmt) == 0
    swift, llava, sharegpt = (read_jsonl(tmp_path / f"{fmt}.jsonl") for fmt in ("swift", "llava", "sharegpt"))
    assert len(swift) == len(llava) == len(sharegpt) > 0
    for s, lv, g in zip(swift, llava, sharegpt):
        assert set(s) == {"messages", "images"} and set(lv) == {"id", "image", "conversations"}
        assert set(g) == {"conversations", "images"}
        assert [m["role"] for m in s["messages"]] == ["user", "assistant"]
        assert [t["from"] for t in lv["conversations"]] == [t["from"] for t in g["conversations"]] == ["human", "gpt"]
        assert [m["content"] for m in s["messages"]] == [t["value"] for t in lv["conversations"]]
        assert s["messages"][0]["content"].count("<image>") == len(s["images"]) > 0
        assert [p.replace("swift_", "llava_") for p in s["images"]] == lv["image"]
        for path in s["images"]:
            folder, name = path.split("/")
            assert folder == "swift_images"
            data = (tmp_path / path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == name.split(".")[0]
    written = list((tmp_path / "swift_images").iterdir())
    assert len(written) == len({p for s in swift for p in s["images"]})


def test_only_the_chosen_split_is_exported(build, samples, tmp_path):
    train = {i for i, s in samples.items() if s["split"] == "train"}
    assert train and train != set(samples)
    assert export(build, tmp_path / "train.jsonl", "llava") == 0
    assert {r["id"].split(":")[0] for r in read_jsonl(tmp_path / "train.jsonl")} == train


def test_samples_run_easy_to_hard_then_stage_then_pass_rate_and_id(samples):
    # Real samples given every level and a spread of pass rates, some without one.
    varied = []
    for n, sample in enumerate(sorted(samples.values(), key=lambda s: s["id"])):
        rate = None if n % 4 == 0 else (n % 5) / 5
        varied.append(dict(sample, difficulty=dict(sample["difficulty"], level=LEVELS[n % 3], pass_rate=rate)))
    order = [(LEVELS.index(s["difficulty"]["level"]), STAGES.index(stage), s["difficulty"]["pass_rate"], s["id"])
             for s, stage in ordered_variants(varied)]
    assert len(order) == len(varied) * len(STAGES)
    for (level, stage, rate, sid), (level2, stage2, rate2, sid2) in zip(order, order[1:]):
        assert (level, stage) <= (level2, stage2)
        if (level, stage) == (level2, stage2):
            unrated, unrated2 = rate is None, rate2 is None
            assert (unrated, -(rate or 0), sid) < (unrated2, -(rate2 or 0), sid2)


def test_the_same_build_exports_byte_identical_files(build, tmp_path):
    for run in ("a", "b"):
        assert export(build, tmp_path / run / "c.jsonl", "sharegpt", "--split", "all") == 0
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "c.jsonl").read_bytes() == (b / "c.jsonl").read_bytes()
    assert sorted(p.name for p in (a / "c_images").iterdir()) == sorted(p.name for p in (b / "c_images").iterdir())


def _write_shard_copy(shard: str, rows: list, folder: pathlib.Path) -> None:
    """``rows`` as the shard at the same place under build folder ``folder``."""
    copy = folder / "data" / pathlib.Path(shard).parent.name / pathlib.Path(shard).name
    copy.parent.mkdir(parents=True)
    pq.write_table(pq.read_table(shard).from_pylist(rows, schema=pq.read_schema(shard)), copy)


def test_unusable_inputs_fail_with_one_line(build, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "missing", tmp_path / "empty"):
        assert export(out, tmp_path / "c.jsonl", "swift") == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("mir: ") and str(out) in err
    # A shard whose question lost a placeholder: trainers would pair text and images wrongly.
    shard = shard_paths(str(build))[0]
    rows = pq.read_table(shard).to_pylist()
    rows[0]["question"] = rows[0]["question"].replace("<image>", "", 1)
    _write_shard_copy(shard, rows, tmp_path / "broken")
    # It is left out as invalid (one line naming it); with nothing left to export, no file is written.
    assert export(tmp_path / "broken", tmp_path / "c.jsonl", "swift", "--split", "all") == 1
    captured = capsys.readouterr()
    [left_out] = captured.err.splitlines()
    assert left_out.startswith("mir: ") and rows[0]["id"] in left_out and "$.question" in left_out
    assert captured.out == f"nothing written to {tmp_path / 'c.jsonl'}: all 1 samples were left out as invalid\n"
    assert not (tmp_path / "c.jsonl").exists()


def _unembedded_copy(build, folder, image_file: pathlib.Path) -> tuple:
    """A copy of one shard of ``build`` under ``folder`` whose first row's first source image is
    not embedded and points at ``image_file`` instead (as with output.images: referenced)."""
    shard = next(p for p in shard_paths(str(build))
                 if any(f["derived_from"] is None for f in pq.read_table(p).to_pylist()[0]["image_facts"]))
    rows = pq.read_table(shard).to_pylist()
    i = next(i for i, f in enumerate(rows[0]["image_facts"]) if f["derived_from"] is None)
    image, facts = rows[0]["images"][i], rows[0]["image_facts"][i]
    image_file.write_bytes(image["bytes"])
    image.update(bytes=None, path=str(image_file))
    facts.update(uri=str(image_file))
    _write_shard_copy(shard, rows, folder)
    return facts, folder


def test_an_image_read_again_must_still_be_the_one_the_build_hashed(build, tmp_path, capsys):
    image, out = _unembedded_copy(build, tmp_path / "out", tmp_path / "source.jpg")
    assert export(out, tmp_path / "a.jsonl", "swift", "--split", "all") == 0
    written = next((tmp_path / "a_images").glob(f"{image['sha256']}.*"))
    assert hashlib.sha256(written.read_bytes()).hexdigest() == image["sha256"]
    capsys.readouterr()
    # The file changed after the build: exporting it under its old sha256 would be a lie.
    make_photo(tmp_path / "source.jpg", seed=999, size=(200, 150))
    assert export(out, tmp_path / "b.jsonl", "swift", "--split", "all") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "source.jpg" in err and "sha256 differs" in err
