"""`mir export curriculum --boxes text|qwen|swift`: each checked against its published spec.

Qwen-VL (README, finetuning data): `<ref>text</ref><box>(x1,y1),(x2,y2)</box>`, (x1, y1) top-left
and (x2, y2) bottom-right, "normalized values in the range [0, 1000)"; its grounding evaluation
reads n back as n / 999. ms-swift (docs Customization/Custom-dataset.md, grounding option 2):
`<ref-object>` / `<bbox>` placeholders filled in order from `objects.ref` / `objects.bbox`,
`bbox_type` 'real' (pixels) or 'norm1' (0~1), `image_id` the 0-based image of each box."""
import json
import re

import pytest

from pipeline.cli import main
from tests.mir_fixtures import dump, json_sample, sample_record

# The fixture sample's regions: "the red ball" = ball on image 2 at [0.1, 0.2, 0.5, 0.6], related to
# the table on image 1 at [0.0, 0.5, 1.0, 1.0]. On Qwen-VL's grid (v * 999, half up), by hand:
# 0.1 -> 99.9 -> 100, 0.2 -> 199.8 -> 200, 0.5 -> 499.5 -> 500, 0.6 -> 599.4 -> 599, 1.0 -> 999.
QWEN_T2R = '"the red ball" is the <ref>ball</ref><box>(100,200),(500,599)</box> in Image 2'
QWEN_R2R = ("the <ref>ball</ref><box>(100,200),(500,599)</box> in Image 2 left of "
            "the <ref>table</ref><box>(0,500),(999,999)</box> in Image 1: The ball is left of the table.")
QWEN_BOX = re.compile(r"<ref>([^<]+)</ref><box>\((\d+),(\d+)\),\((\d+),(\d+)\)</box>")


@pytest.fixture
def samples_file(tmp_path):
    sample = json_sample(dict(sample_record(), split="train"))
    return dump(tmp_path / "samples.json", [sample])


def export(capsys, source, output, fmt, *extra) -> tuple:
    code = main(["export", "curriculum", str(source), "--format", fmt, "--output", str(output), *map(str, extra)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


def read_jsonl(path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_text_boxes_are_the_default(capsys, tmp_path, samples_file):
    assert export(capsys, samples_file, tmp_path / "a" / "c.jsonl", "sharegpt")[0] == 0
    assert export(capsys, samples_file, tmp_path / "b" / "c.jsonl", "sharegpt", "--boxes", "text")[0] == 0
    text = (tmp_path / "b" / "c.jsonl").read_text()
    assert (tmp_path / "a" / "c.jsonl").read_text() == text
    assert '"the red ball\\" is the ball in Image 2 [0.100, 0.200, 0.500, 0.600]' in text


def test_qwen_boxes_are_qwen_vl_grounding_tokens(capsys, tmp_path, samples_file):
    code, err = export(capsys, samples_file, tmp_path / "q.jsonl", "llava", "--boxes", "qwen")
    assert code == 0, err
    records = read_jsonl(tmp_path / "q.jsonl")
    full = next(r for r in records if r["id"].endswith(":full_chain"))["conversations"][1]["value"]
    assert f"- {QWEN_T2R}\n" in full and f"- {QWEN_R2R}" in full
    boxes = [m for r in records for turn in r["conversations"] for m in QWEN_BOX.findall(turn["value"])]
    assert boxes and "[0.1" not in json.dumps(records)
    expected = {"ball": [0.1, 0.2, 0.5, 0.6], "table": [0.0, 0.5, 1.0, 1.0]}
    for label, *corners in boxes:
        x1, y1, x2, y2 = map(int, corners)
        assert all(0 <= v < 1000 for v in (x1, y1, x2, y2)) and x1 < x2 and y1 < y2
        # Read back as Qwen-VL's evaluation does: within half a grid step of the sample's box.
        assert all(abs(v / 999 - e) <= 0.5 / 999 + 1e-12 for v, e in zip((x1, y1, x2, y2), expected[label]))


def _filled(text: str, objects: dict, counters: dict) -> str:
    """The text as ms-swift fills it (base template): each <ref-object> by the next ref, each <bbox>
    by the next box scaled to norm1000 as '[(x1,y1),(x2,y2)]'; counters run across messages."""
    def fill(match):
        if match.group(0) == "<ref-object>":
            counters["ref"] += 1
            return objects["ref"][counters["ref"] - 1]
        counters["bbox"] += 1
        x1, y1, x2, y2 = (int(round(v * 1000)) for v in objects["bbox"][counters["bbox"] - 1])
        return f"[({x1},{y1}),({x2},{y2})]"
    return re.sub(r"<ref-object>|<bbox>", fill, text)


def test_swift_boxes_are_ms_swift_objects(capsys, tmp_path, samples_file):
    code, err = export(capsys, samples_file, tmp_path / "s.jsonl", "swift", "--boxes", "swift")
    assert code == 0, err
    records = read_jsonl(tmp_path / "s.jsonl")
    sample = json.loads(samples_file.read_text())[0]
    for record in records:
        objects = record["objects"]
        texts = [m["content"] for m in record["messages"]]
        assert sum(t.count("<ref-object>") for t in texts) == len(objects["ref"]) > 0
        assert sum(t.count("<bbox>") for t in texts) == len(objects["bbox"]) == len(objects["image_id"])
        assert objects["bbox_type"] == "norm1"
        assert all(len(box) == 4 and all(0 <= v <= 1 for v in box) for box in objects["bbox"])
        assert all(0 <= i < len(record["images"]) for i in objects["image_id"])
    # Every stage shows all three regions (Text2Region's ball, Region2Region's ball and table),
    # in the input or the target, in reading order.
    assert all(r["objects"] == {"ref": ["ball", "ball", "table"],
                                "bbox": [[0.1, 0.2, 0.5, 0.6], [0.1, 0.2, 0.5, 0.6], [0.0, 0.5, 1.0, 1.0]],
                                "bbox_type": "norm1", "image_id": [1, 1, 0]} for r in records)
    conclusion = next(r for r in records if "Continue with the remaining steps (Conclusion)" in r["messages"][0]["content"])
    counters = {"ref": 0, "bbox": 0}
    user, assistant = (_filled(m["content"], conclusion["objects"], counters) for m in conclusion["messages"])
    assert '"the red ball" is the ball[(100,200),(500,600)] in Image 2' in user
    assert "the table[(0,500),(1000,1000)] in Image 1: " + sample["reasoning"]["region2region"][0]["explanation"] in user
    assert "<bbox>" not in user + assistant and "<ref-object>" not in user + assistant


def test_swift_boxes_need_the_swift_format_and_texts_free_of_its_tokens(capsys, tmp_path, samples_file):
    code, err = export(capsys, samples_file, tmp_path / "x.jsonl", "llava", "--boxes", "swift")
    assert code == 2 and err.count("\n") == 1 and "--format swift" in err
    sample = json.loads(samples_file.read_text())[0]
    sample["reasoning"]["summary"] = "The <bbox> of each photo is shown."
    dump(tmp_path / "clash.json", [sample])
    code, err = export(capsys, tmp_path / "clash.json", tmp_path / "x.jsonl", "swift", "--boxes", "swift")
    assert code == 1 and err.count("\n") == 1 and "<bbox>" in err and sample["id"] in err
    assert export(capsys, tmp_path / "clash.json", tmp_path / "x.jsonl", "swift", "--boxes", "qwen")[0] == 0
