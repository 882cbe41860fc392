"""MIR's own text2img / img2img through `mir convert --to sample` into structured Text2Region and
Region2Region entries (what reads whole), the rest kept as text, and on through
`mir export curriculum` with every step carried, from a converted file or any folder of shards."""
import json
import pathlib
import shutil

import pyarrow.parquet as pq
import pytest

from pipeline.cli import main
from pipeline.samples.mir_regions import read_region2region, read_text2region
from tests.mir_fixtures import dump, mir_list_style, mir_record, write_sized_images

# Image 1 is too small for pixel boxes of hundreds, image 2 holds 0-999 integer boxes both ways,
# image 3 is wider than the 0-999 grid and not square (x and y scale differently).
SIZES = [(64, 48), (1200, 900), (2000, 1000)]

TEXT2IMG = ("The red ball in Image 1 [100, 200, 500, 600]\n"
            "The dog in <image2> [120.5, 90, 600, 450]. The sky in image 2 is bright\n"
            "Image 3: the tower [1000, 250, 1500, 750]\n"
            "the cat in Image 2 [100, 200, 500, 600]\n"
            "the cat in Image0 [0.1, 0.1, 0.2, 0.2]\n"
            "the cat [0.1, 0.1, 0.2, 0.2]\n"
            "Image 2: <ref>the kite</ref><box>(100,200),(500,600)</box>")
# What reads, by hand: 0-999 grid n -> n / 999 (six decimals), pixels -> x / width, y / height.
GRID_BOX = [0.1001, 0.2002, 0.500501, 0.600601]          # [100, 200, 500, 600] on the grid
TOWER_BOX = [0.5, 0.25, 0.75, 0.75]                      # [1000, 250, 1500, 750] on 2000 x 1000
DOG_BOX = [0.100417, 0.1, 0.5, 0.5]                      # [120.5, 90, 600, 450] on 1200 x 900
TEXT2REGION = [
    {"text": "The red ball", "image": 1, "bbox": GRID_BOX, "label": "red ball"},
    {"text": "the tower", "image": 3, "bbox": TOWER_BOX, "label": "tower"},
    {"text": "the kite", "image": 2, "bbox": GRID_BOX, "label": "kite"},
]
KEPT_TEXT2IMG = ["The dog in <image2> [120.5, 90, 600, 450]. The sky in image 2 is bright",  # a clause without a box
                 "the cat in Image 2 [100, 200, 500, 600]",   # grid or pixels on 1200 x 900: not certain
                 "the cat in Image0 [0.1, 0.1, 0.2, 0.2]",    # image 0: MIR's 0-based numbering, or a typo
                 "the cat [0.1, 0.1, 0.2, 0.2]"]              # no image
IMG2IMG = ['The red ball in Image 1 [100, 200, 500, 600] is left of "the dog" in Image 2 [120.5, 90, 600, 450]: '
           'the ball is further left.',
           {"from": {"image": 3, "label": "tower", "bbox": [0.5, 0.25, 0.75, 0.75]},
            "to": {"image": 2, "label": "dog", "bbox_2d": [120.5, 90, 600, 450]}, "relation": "taller than"},
           "Image 2 is brighter than image 1 and image 3."]
REGION2REGION = [
    {"from": {"image": 1, "label": "red ball", "bbox": GRID_BOX}, "to": {"image": 2, "label": "dog", "bbox": DOG_BOX},
     "relation": "is left of", "explanation": "the ball is further left."},
    {"from": {"image": 3, "label": "tower", "bbox": TOWER_BOX}, "to": {"image": 2, "label": "dog", "bbox": DOG_BOX},
     "relation": "taller than", "explanation": "tower taller than dog"},
]


def run(capsys, *argv) -> tuple:
    code = main([*map(str, argv)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.fixture
def mir_file(tmp_path):
    names = write_sized_images(tmp_path / "mir" / "images", SIZES)
    images = [f"images/{n}" for n in names]
    records = [mir_record(images, id="m-1", task="location_relationship", split="train", text2img=TEXT2IMG,
                          img2img=IMG2IMG, reasoning="Left and right are read from the boxes."),
               dict(mir_list_style(images), split="train",
                    text2img=["Image 1: the car is small.", "the dog (image 2, [120.5, 90, 600, 450])",
                              {"image": 1, "bbox": [0.1, 0.1, 0.2, 0.2], "label": "car", "score": 0.9}])]
    return dump(tmp_path / "mir" / "all_data_rel.json", records), records


@pytest.fixture
def converted(capsys, tmp_path, mir_file):
    path, _ = mir_file
    code, out, _ = run(capsys, "convert", "--to", "sample", path, tmp_path / "samples.jsonl")
    assert code == 0, out
    return tmp_path / "samples.jsonl"


def read_jsonl(path) -> list:
    return [json.loads(line) for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines()]


def test_what_reads_whole_becomes_structured_and_the_rest_stays_text(converted):
    first, second = read_jsonl(converted)
    assert first["reasoning"]["text2region"] == TEXT2REGION
    assert first["mir_native"]["text2img"] == KEPT_TEXT2IMG
    assert first["reasoning"]["region2region"] == REGION2REGION
    assert first["mir_native"]["img2img"] == ["Image 2 is brighter than image 1 and image 3."]
    assert first["mir_native"]["reasoning"] == ["Left and right are read from the boxes."]
    # A list of strings and entries: what reads in each item; an entry with a key no entry has stays JSON.
    assert second["reasoning"]["text2region"] == [{"text": "the dog", "image": 2, "bbox": DOG_BOX, "label": "dog"}]
    assert second["mir_native"]["text2img"] == [
        "Image 1: the car is small.", '{"bbox": [0.1, 0.1, 0.2, 0.2], "image": 1, "label": "car", "score": 0.9}']
    assert second["reasoning"]["region2region"] == []
    assert second["mir_native"]["img2img"] == ["The car of the last image is the largest, so it is the nearest."]


def test_converting_again_gives_the_same_samples(capsys, tmp_path, converted):
    """MIR -> samples -> MIR -> samples: the structured entries come back (through mir_builder) and the
    kept texts stay verbatim."""
    code, _, _ = run(capsys, "convert", "--to", "mir", converted, tmp_path / "again" / "mir.json")
    assert code == 0
    mir = json.loads((tmp_path / "again" / "mir.json").read_text())
    assert mir[0]["text2img"][1:] == KEPT_TEXT2IMG
    code, _, _ = run(capsys, "convert", "--to", "sample", tmp_path / "again" / "mir.json", tmp_path / "back.jsonl")
    assert code == 0 and read_jsonl(tmp_path / "back.jsonl") == read_jsonl(converted)
    # Without mir_builder the rendering of the entries is read back into the same entries.
    del mir[0]["mir_builder"]
    mir[0]["images"] = [str(pathlib.Path("..") / "again" / p) for p in mir[0]["images"]]
    dump(tmp_path / "bare" / "mir.json", mir[:1])
    code, out, _ = run(capsys, "convert", "--to", "sample", "--images-root", tmp_path / "again",
                       tmp_path / "bare" / "mir.json", tmp_path / "bare.jsonl")
    bare = read_jsonl(tmp_path / "bare.jsonl")[0]
    assert code == 0, out
    assert bare["reasoning"]["text2region"] == [dict(e, bbox=[round(v, 3) for v in e["bbox"]]) for e in TEXT2REGION]


def export(capsys, source, output, *extra) -> tuple:
    return run(capsys, "export", "curriculum", source, "--format", "llava", "--output", output, *extra)


def test_the_curriculum_of_a_converted_file_carries_all_five_steps(capsys, tmp_path, converted):
    code, out, err = export(capsys, converted, tmp_path / "c.jsonl")
    assert code == 0, err
    records = {r["id"]: r for r in read_jsonl(tmp_path / "c.jsonl")}
    sample = read_jsonl(converted)[0]
    full = records[f"{sample['id']}:full_chain"]["conversations"][1]["value"]
    assert "- none" not in full
    assert '- "The red ball" is the red ball in Image 1 [0.100, 0.200, 0.501, 0.601]' in full
    assert "- the cat in Image 2 [100, 200, 500, 600]" in full        # kept text, as text
    assert ("- the red ball in Image 1 [0.100, 0.200, 0.501, 0.601] is left of the dog in Image 2 "
            "[0.100, 0.100, 0.500, 0.500]: the ball is further left.") in full
    assert "- Image 2 is brighter than image 1 and image 3." in full
    assert "- Left and right are read from the boxes." in full       # MIR's reasoning, with Region2Region
    given = records[f"{sample['id']}:region2region"]["conversations"]
    assert "the cat in Image0" in given[0]["value"] and "the cat in Image0" not in given[1]["value"]
    assert "Image 2 is brighter" in given[1]["value"] and "Image 2 is brighter" not in given[0]["value"]
    # MIR's numbered placeholders, in order, become the <image> trainers pair with the images.
    second = read_jsonl(converted)[1]
    prompt = records[f"{second['id']}:bare_question"]["conversations"][0]["value"]
    assert "<image1>" in second["question"] and "<image1>" not in prompt and prompt.count("<image>") == 3


@pytest.fixture
def shards(capsys, tmp_path, mir_file):
    path, _ = mir_file
    code, _, _ = run(capsys, "convert", "--to", "sample", path, tmp_path / "samples.parquet")
    assert code == 0
    return tmp_path / "samples.parquet"


def test_any_file_or_folder_of_samples_exports_the_same(capsys, tmp_path, converted, shards):
    flat, nested = tmp_path / "flat", tmp_path / "copied" / "location_relationship"
    for folder in (flat, nested):
        folder.mkdir(parents=True)
        shutil.copy(shards, folder / "train-00000-of-00001.parquet")
    code, _, _ = run(capsys, "convert", "--to", "sample", converted, tmp_path / "samples.json")
    assert code == 0
    files = {}
    for name, source in (("jsonl", converted), ("json", tmp_path / "samples.json"), ("parquet", shards),
                         ("flat", flat), ("nested", tmp_path / "copied")):
        code, out, err = export(capsys, source, tmp_path / name / "c.jsonl")
        assert code == 0, (name, err)
        assert out.startswith("10 records (2 samples x 5 stages")
        files[name] = (tmp_path / name / "c.jsonl").read_text()
    assert len(set(files.values())) == 1


def test_unusable_inputs_fail_with_one_line(capsys, tmp_path, mir_file, shards):
    mir_path, _ = mir_file
    pq.write_table(pq.read_table(shards).select(["id", "question"]), tmp_path / "not_samples.parquet")
    (tmp_path / "other").mkdir()
    shutil.copy(tmp_path / "not_samples.parquet", tmp_path / "other" / "images.parquet")
    (tmp_path / "empty").mkdir()
    cases = [(mir_path, 1, "convert the file first"),
             (tmp_path / "missing.jsonl", 2, "missing.jsonl"),
             (tmp_path / "not_samples.parquet", 2, "not a file of samples"),
             (tmp_path / "other", 2, "not a file of samples"),
             (tmp_path / "empty", 2, "holds no sample shards"),
             (tmp_path / "nowhere", 2, "does not exist")]
    for source, status, message in cases:
        code, _, err = export(capsys, source, tmp_path / "c.jsonl")
        assert (code, err.count("\n")) == (status, 1) and message in err, (source, err)
    dump(tmp_path / "broken.json", [{"id": "x"}])
    code, _, err = export(capsys, tmp_path / "broken.json", tmp_path / "c.jsonl")
    assert code == 1 and err.count("\n") == 1 and "broken.json:0: $" in err
    code, _, err = export(capsys, shards, tmp_path / "c.jsonl", "--split", "test")
    assert code == 2 and "no test samples" in err


def test_a_long_run_of_blanks_is_read_in_linear_time():
    """Blanks are collapsed before the forms' lazy phrases run: this once backtracked cubically."""
    sizes = [(64, 48), (1200, 900)]
    text = "a in Image 1 [0.1, 0.1, 0.2, 0.2]" + " " * 50_000 + 'b "c" in Image 2 [0.1, 0.1, 0.2, 0.2] x'
    assert read_region2region(text, sizes) == ([], [text])
    assert read_text2region(text, sizes) == ([], [text])
