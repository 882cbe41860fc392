"""`mir validate`: inputs, output format, exit codes, and every hostile input of issue 3."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.cli import main
from pipeline.output.arrow_schema import arrow_schema
from tests.mir_fixtures import dump, json_sample, mir_list_style, mir_record, sample_record, write_images

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINE = re.compile(r"^(?P<file>.+):(?P<record>\d+): (?P<path>\$\S*): (?P<message>.+)$")
SUMMARY = re.compile(r"^(\d+) records, (\d+) valid, (\d+) invalid$")


def run(capsys, *argv):
    """(exit status, problem lines as dicts, summary (records, valid, invalid), stderr)."""
    code = main(["validate", *map(str, argv)])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    summary = SUMMARY.match(lines[-1]) if lines else None
    assert summary, captured.out
    problems = []
    for line in lines[:-1]:
        match = LINE.match(line)
        assert match, f"not FILE:RECORD: PATH: message: {line!r}"
        problems.append(dict(match.groupdict(), record=int(match["record"])))
    return code, problems, tuple(int(n) for n in summary.groups()), captured.err


def write_parquet(path, records):
    pq.write_table(pa.Table.from_pylist(records, schema=arrow_schema("sample")), path)
    return path


@pytest.fixture
def dataset(tmp_path):
    """A folder as a contributor might send it: images and MIR records next to each other."""
    names = write_images(tmp_path / "data" / "images")
    images = [f"images/{n}" for n in names]
    return tmp_path / "data", images


# --------------------------------------------------------------------------- valid inputs

def test_valid_files_of_every_kind(capsys, dataset):
    folder, images = dataset
    sample = sample_record()
    dump(folder / "one_mir.json", mir_record(images))
    dump(folder / "list.json", [mir_record(images, id="m1"), mir_list_style(images)])
    (folder / "ours.jsonl").write_text(json.dumps(json_sample(sample)) + "\n\n")
    write_parquet(folder / "shard.parquet", [dict(sample_record(), id="location_relationship-aaaaaaaaaaaaaaaa")])
    for path in ("one_mir.json", "list.json", "ours.jsonl", "shard.parquet"):
        code, problems, summary, _ = run(capsys, folder / path)
        assert (code, problems) == (0, []), path
    code, problems, summary, _ = run(capsys, folder)
    assert (code, problems, summary) == (0, [], (5, 5, 0))


def test_a_front_loaded_record_is_valid_with_a_warning(capsys, dataset):
    """MIR's own records are accepted as they are; one that lists its images before the question
    gets a warning line and stays valid (exit 0)."""
    folder, images = dataset
    listed = " ".join(f"Image {i}: <image>" for i in range(1, len(images) + 1)) + " Which image is brightest?"
    dump(folder / "listed.json", [mir_record(images, id="m1"), mir_record(images, id="m2", question=listed)])
    code = main(["validate", str(folder / "listed.json")])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out == [f"{folder / 'listed.json'}:1: $.question: warning: not interleaved: no text of its own between "
                   "some two images (MIR places each image in the prose that mentions it)",
                   "2 records, 2 valid, 0 invalid, 1 warnings"]
    assert main(["validate", "--format", "json", str(folder / "listed.json")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["problems"], report["valid"], report["exit_status"]) == ([], 2, 0)
    assert [(w["record"], w["path"]) for w in report["warnings"]] == [(1, "$.question")]


def test_folders_are_walked_recursively(capsys, dataset):
    folder, images = dataset
    dump(folder / "a" / "b" / "deep.json", mir_record(images))
    dump(folder / ".hidden" / "skip.json", "not even a record")
    (folder / "notes.txt").write_text("ignored")
    code, problems, summary, _ = run(capsys, "--images-root", folder, folder)
    assert (code, problems, summary) == (0, [], (1, 1, 0))


# ------------------------------------------------------------------------ output and codes

def test_problem_lines_name_file_record_and_path(capsys, dataset):
    folder, images = dataset
    jsonl = folder / "mixed.jsonl"
    jsonl.write_text("\n".join([json.dumps(mir_record(images)), "", json.dumps(mir_record(images, answer="Q")),
                                json.dumps(json_sample(dict(sample_record(), category="analytical")))]) + "\n")
    code, problems, summary, _ = run(capsys, jsonl)
    assert code == 1 and summary == (3, 1, 2)
    assert [(p["file"], p["record"], p["path"]) for p in problems] == [(str(jsonl), 3, "$.answer"),
                                                                      (str(jsonl), 4, "$.category")]
    listed = dump(folder / "list.json", [mir_record(images), mir_record(images, caption=["one"])])
    code, problems, summary, _ = run(capsys, listed)
    assert code == 1 and [(p["record"], p["path"]) for p in problems] == [(1, "$.caption")]
    shard = write_parquet(folder / "s.parquet", [sample_record(), dict(sample_record(), id="x", answer="C")])
    code, problems, summary, _ = run(capsys, shard)
    assert code == 1 and {(p["record"], p["path"]) for p in problems} == {(1, "$.id"), (1, "$.reasoning.conclusion")}


def test_json_format_gives_the_same(capsys, dataset):
    folder, images = dataset
    path = dump(folder / "list.json", [mir_record(images), mir_record(images, answer="Q"), 5])
    code, problems, summary, _ = run(capsys, path)
    assert main(["validate", "--format", "json", str(path)]) == code == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["records"], report["valid"], report["invalid"], report["exit_status"]) == (3, *summary[1:], 1)
    assert [(p["file"], p["record"], p["path"], p["message"]) for p in report["problems"]] == \
        [(p["file"], p["record"], p["path"], p["message"]) for p in problems]
    assert main(["validate", "--format", "json", str(folder / "missing.json")]) == 2
    assert json.loads(capsys.readouterr().out)["exit_status"] == 2


def test_ids_unique_across_files(capsys, dataset):
    folder, images = dataset
    first = dump(folder / "a.json", mir_record(images, id="q1"))
    second = dump(folder / "b.json", [mir_record(images, id="q2"), mir_record(images, id="q1")])
    code, problems, summary, _ = run(capsys, first, second)
    assert code == 1 and summary == (3, 2, 1)
    assert problems[0]["file"] == str(second) and problems[0]["record"] == 1 and problems[0]["path"] == "$.id"
    assert f"{first}:0" in problems[0]["message"]


def test_schema_option_forces_a_format(capsys, dataset):
    folder, images = dataset
    path = dump(folder / "m.json", mir_record(images))
    assert run(capsys, "--schema", "mir", path)[0] == 0
    code, problems, _, _ = run(capsys, "--schema", "sample", path)
    assert code == 1 and problems
    ours = dump(folder / "s.json", json_sample(sample_record()))
    assert run(capsys, "--schema", "sample", ours)[0] == 0
    assert run(capsys, "--schema", "mir", ours)[0] == 1


def test_images_root_and_no_images(capsys, tmp_path):
    names = write_images(tmp_path / "pictures")
    path = dump(tmp_path / "records" / "m.json", mir_record(names))
    code, problems, _, _ = run(capsys, path)
    assert code == 1 and {p["path"] for p in problems} == {"$.images[0]", "$.images[1]", "$.images[2]"}
    assert "not found" in problems[0]["message"]
    assert run(capsys, "--images-root", tmp_path / "pictures", path)[0] == 0
    assert run(capsys, "--no-images", path)[0] == 0
    escape = dump(tmp_path / "records" / "e.json", mir_record(["../pictures/" + n for n in names]))
    code, problems, _, _ = run(capsys, "--images-root", tmp_path / "records", escape)
    assert code == 1 and all("escapes the images root" in p["message"] for p in problems)


def test_unusable_arguments_exit_2(capsys, tmp_path):
    path = dump(tmp_path / "m.json", mir_record(["a.jpg"]))
    assert main(["validate", "--images-root", str(tmp_path / "nope"), str(path)]) == 2
    assert "no such folder" in capsys.readouterr().err
    code, problems, summary, _ = run(capsys, tmp_path / "missing.json", path)
    assert code == 2 and problems[0]["message"] == "no such file or folder" and summary[0] == 1
    (tmp_path / "notes.txt").write_text("hello")
    code, problems, _, _ = run(capsys, tmp_path / "notes.txt")
    assert code == 2 and "unsupported file type" in problems[0]["message"]
    (tmp_path / "empty").mkdir()
    code, problems, _, _ = run(capsys, tmp_path / "empty")
    assert code == 2 and "no .json" in problems[0]["message"]
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "--schema", "other", str(path)])
    assert exit_.value.code == 2
    capsys.readouterr()


# -------------------------------------------------------------------------- hostile input

def _hostile(capsys, path, *words, code=2, record=0, extra=()):
    got, problems, _, err = run(capsys, "--no-images", *extra, path)
    assert got == code, problems
    assert problems and problems[0]["file"] == str(path) and problems[0]["record"] == record, problems
    for word in words:
        assert word in problems[0]["message"], problems
    assert all(len(p["message"]) < 400 for p in problems)
    return problems


def test_invalid_utf8(capsys, tmp_path, dataset):
    _, images = dataset
    good = json.dumps(mir_record(images)).encode()
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"question": "caf\xe9"}')
    _hostile(capsys, bad, "not valid UTF-8")
    listed = tmp_path / "list.json"
    listed.write_bytes(b"[" + good + b"," + good[:-2] + b'\xff\xfe"}]')
    _hostile(capsys, listed, "not valid UTF-8", record=1)
    lines = tmp_path / "bad.jsonl"
    lines.write_bytes(good + b"\n" + b'{"a": "\xc3\x28"}\n' + good + b"\n")
    got, problems, summary, _ = run(capsys, "--no-images", lines)
    assert got == 2 and summary == (3, 2, 1) and problems[0]["record"] == 2 and "UTF-8" in problems[0]["message"]


def test_a_byte_order_mark_is_fine(capsys, dataset):
    folder, images = dataset
    (folder / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(mir_record(images)).encode())
    (folder / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(mir_record(images)).encode() + b"\n")
    assert run(capsys, folder / "bom.json")[0] == 0
    assert run(capsys, folder / "bom.jsonl")[0] == 0


def test_truncated_json(capsys, tmp_path, dataset):
    _, images = dataset
    text = json.dumps([mir_record(images), mir_record(images)])
    (tmp_path / "cut.json").write_text(text[:-40])
    _hostile(capsys, tmp_path / "cut.json", "truncated", record=1)
    (tmp_path / "cut_one.json").write_text(json.dumps(mir_record(images))[:-5])
    _hostile(capsys, tmp_path / "cut_one.json", "truncated")
    (tmp_path / "unclosed.json").write_text(text[:-1])
    _hostile(capsys, tmp_path / "unclosed.json", "not closed")
    (tmp_path / "cut.jsonl").write_text(json.dumps(mir_record(images)) + "\n" + json.dumps(mir_record(images))[:-9])
    _hostile(capsys, tmp_path / "cut.jsonl", "not valid JSON", record=2)
    (tmp_path / "garbage.json").write_text("[" + json.dumps(mir_record(images)) + ", {]")
    _hostile(capsys, tmp_path / "garbage.json", "not valid JSON", record=1)


def test_empty_files(capsys, tmp_path):
    for name in ("empty.json", "empty.jsonl", "empty.parquet"):
        (tmp_path / name).write_bytes(b"")
        _hostile(capsys, tmp_path / name, "empty")
    (tmp_path / "blank.jsonl").write_text("\n  \n")
    _hostile(capsys, tmp_path / "blank.jsonl", "no records")
    (tmp_path / "space.json").write_text("   \n")
    _hostile(capsys, tmp_path / "space.json", "whitespace")


@pytest.mark.parametrize("text, kind", [('"a string"', "a string"), ("42", "a number"), ("null", "null"),
                                        ("true", "a boolean")])
def test_wrong_top_level_type(capsys, tmp_path, text, kind):
    (tmp_path / "top.json").write_text(text)
    _hostile(capsys, tmp_path / "top.json", kind, "expected a record")


def test_records_that_are_not_objects(capsys, tmp_path, dataset):
    _, images = dataset
    (tmp_path / "items.json").write_text(json.dumps([mir_record(images), [1, 2], "text"]))
    got, problems, summary, _ = run(capsys, "--no-images", tmp_path / "items.json")
    assert got == 1 and summary == (3, 1, 2) and [p["record"] for p in problems] == [1, 2]
    (tmp_path / "lines.jsonl").write_text("[1, 2]\n7\n")
    got, problems, summary, _ = run(capsys, tmp_path / "lines.jsonl")
    assert got == 1 and [p["record"] for p in problems] == [1, 2] and "not a list" in problems[0]["message"]


def test_huge_records_are_refused_without_reading_them_whole(capsys, tmp_path, dataset):
    _, images = dataset
    big = mir_record(images, summary="s" * 3_000_000)
    (tmp_path / "big.json").write_text(json.dumps(big))
    _hostile(capsys, tmp_path / "big.json", "larger than the 1 MiB limit", extra=("--max-record-mb", "1"))
    (tmp_path / "big_list.json").write_text(json.dumps([mir_record(images), big]))
    _hostile(capsys, tmp_path / "big_list.json", "larger than", record=1, extra=("--max-record-mb", "1"))
    (tmp_path / "big.jsonl").write_text(json.dumps(big) + "\n" + json.dumps(mir_record(images)) + "\n")
    got, problems, summary, _ = run(capsys, "--no-images", "--max-record-mb", "1", tmp_path / "big.jsonl")
    assert got == 2 and summary == (2, 1, 1) and problems[0]["record"] == 1 and "longer than" in problems[0]["message"]


def test_a_large_list_is_streamed_in_bounded_memory(capsys, tmp_path, dataset):
    _, images = dataset
    record = mir_record(images, summary="word " * 800)
    count = 6000  # about 25 MB
    with open(tmp_path / "large.json", "w") as f:
        f.write("[" + ",\n".join(json.dumps(dict(record, id=i)) for i in range(count)) + "]")
    size = os.path.getsize(tmp_path / "large.json")
    tracemalloc.start()
    try:
        got, problems, summary, _ = run(capsys, "--no-images", tmp_path / "large.json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (got, summary) == (0, (count, count, 0))
    # About 1 MiB of file buffer and its text, one record, and the ids seen so far.
    assert size > 25 * 2 ** 20 and peak < 10 * 2 ** 20, (peak, size)


@pytest.mark.parametrize("name", ["deep.json", "deep.jsonl", "deep_in_list.json"])
def test_100000_deep_nesting(capsys, tmp_path, name):
    deep = "[" * 100_000 + "]" * 100_000
    text = {"deep.json": deep, "deep.jsonl": deep + "\n", "deep_in_list.json": "[" + deep + "]"}[name]
    (tmp_path / name).write_text(text)
    _hostile(capsys, tmp_path / name, "nested too deeply", record=1 if name.endswith("l") else 0)
    objects = '{"a":' * 100_000 + "1" + "}" * 100_000
    (tmp_path / "objects.json").write_text(objects)
    _hostile(capsys, tmp_path / "objects.json", "nested too deeply")


def test_moderate_nesting_is_a_record_problem(capsys, tmp_path, dataset):
    _, images = dataset
    nested = {"x": 1}
    for _ in range(200):
        nested = {"x": nested}
    dump(tmp_path / "n.json", mir_record(images, extra=nested))
    _hostile(capsys, tmp_path / "n.json", "levels deep", code=1)


def test_multi_megabyte_strings(capsys, tmp_path, dataset):
    _, images = dataset
    record = mir_record(images, question=" ".join(["<image>"] * 3) + " " + "q" * 5_000_000)
    dump(tmp_path / "long.json", record)
    problems = _hostile(capsys, tmp_path / "long.json", "over the", code=1)
    assert problems[0]["path"] == "$.question"
    sample = json_sample(sample_record())
    sample["id"] = "i" * 3_000_000
    dump(tmp_path / "long_id.json", sample)
    _hostile(capsys, tmp_path / "long_id.json", code=1)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity(capsys, tmp_path, token):
    text = json.dumps(json_sample(sample_record())).replace('"pass_rate": null', f'"pass_rate": {token}')
    (tmp_path / "nan.json").write_text(text)
    problems = _hostile(capsys, tmp_path / "nan.json", "not a JSON number", code=1)
    assert problems[0]["path"] == "$.difficulty.pass_rate" and len(problems) == 1
    (tmp_path / "nan.jsonl").write_text(text + "\n")
    _hostile(capsys, tmp_path / "nan.jsonl", "not a JSON number", code=1, record=1)


def test_duplicate_keys(capsys, tmp_path, dataset):
    _, images = dataset
    text = json.dumps(mir_record(images, answer="B"))
    (tmp_path / "dup.json").write_text(text[:-1] + ', "answer": "A"}')
    problems = _hostile(capsys, tmp_path / "dup.json", "more than once", code=1)
    assert problems[0]["path"] == "$.answer"
    text = json.dumps(mir_record(images))
    (tmp_path / "dup_option.jsonl").write_text(text.replace('"A": "Image 1"', '"A": "Image 1", "A": "Image 2"') + "\n")
    problems = _hostile(capsys, tmp_path / "dup_option.jsonl", "more than once", code=1, record=1)
    assert problems[0]["path"] == "$.options.A"


def test_parquet_that_is_not_parquet(capsys, tmp_path):
    (tmp_path / "text.parquet").write_text("name,value\na,1\n")
    _hostile(capsys, tmp_path / "text.parquet", "not a Parquet file")
    (tmp_path / "json.parquet").write_text(json.dumps(json_sample(sample_record())))
    _hostile(capsys, tmp_path / "json.parquet", "not a Parquet file")
    good = write_parquet(tmp_path / "good.parquet", [sample_record()])
    data = good.read_bytes()
    (tmp_path / "damaged.parquet").write_bytes(data[:4] + bytes(len(data) - 8) + data[-4:])
    _hostile(capsys, tmp_path / "damaged.parquet", "Parquet")
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    _hostile(capsys, tmp_path / "cut.parquet", "not a Parquet file")


def test_not_a_regular_file(capsys, tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(tmp_path / "pipe.json")
    _hostile(capsys, tmp_path / "pipe.json", "not a regular file")


def test_the_installed_command_never_prints_a_traceback(tmp_path, dataset):
    """Once through the real console script, on a folder of hostile files."""
    folder, images = dataset
    (folder / "bad.json").write_bytes(b"\xff\xfe{")
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "fake.parquet").write_text("nope")
    (folder / "nan.jsonl").write_text('{"a": NaN}\n{"b": 1, "b": 2}\n')
    (folder / "top.json").write_text("12")
    dump(folder / "ok.json", mir_record(images))
    mir = ROOT / ".venv" / "bin" / "mir"
    command = [str(mir)] if mir.exists() else ([shutil.which("mir")] if shutil.which("mir") else
                                               [sys.executable, "-m", "pipeline.cli"])
    done = subprocess.run(command + ["validate", str(folder)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = done.stdout.splitlines()
    assert SUMMARY.match(lines[-1])
    assert all(LINE.match(line) for line in lines[:-1])
    named = {LINE.match(line)["file"] for line in lines[:-1]}
    assert named == {str(folder / n) for n in ("bad.json", "deep.json", "fake.parquet", "nan.jsonl", "top.json")}


def test_pre_commit_hook_runs_mir_validate():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "mir-validate")
    assert hook["entry"] == "mir validate" and hook["language"] == "python"
    for name in ("a.json", "dir/b.jsonl", "c.parquet"):
        assert re.search(hook["files"], name)
    assert not re.search(hook["files"], "notes.txt")
    assert hook.get("require_serial") is True  # ids must be unique across every file of a run


def test_a_record_knowledge_can_answer_is_valid_with_a_warning(capsys, tmp_path):
    """A question that says which image shows which object, then asks which image shows the heavier
    one, is answered by knowing that a man outweighs a coin: valid, with a warning naming the
    option images the text tells apart; the same question listing the objects in no order passes."""
    bound = sample_record()
    bound["question"] = ("<image> shows a man in a coat. <image> shows a coin. <image> shows a tripod. "
                         "Which image shows the heaviest object?")
    unordered = dict(sample_record(), id="location_relationship-00000000000000ff")
    unordered["question"] = ("Three images show, one each and in no particular order, a coin, a man and a tripod. "
                             "<image> shows one of them. <image> shows one of them. <image> shows one of them. "
                             "Which image shows the heaviest object?")
    dump(tmp_path / "knowledge.json", [json_sample(bound), json_sample(unordered)])
    code = main(["validate", "--no-images", str(tmp_path / "knowledge.json")])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out == [f"{tmp_path / 'knowledge.json'}:0: $.question: warning: answerable from knowledge without the "
                   "images: the text tells the option images [1, 2, 3] apart by what it says of each",
                   "2 records, 2 valid, 0 invalid, 1 warnings"]
