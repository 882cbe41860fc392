"""Marks: boxes a question points at by colour, drawn onto a derived copy of its image."""
import io
import json
import random

import numpy as np
from conftest import make_photo, region, write_sidecar
from PIL import Image

from pipeline import cli
from pipeline.images.derive import apply_transform, describe_transform, draw_marks
from pipeline.readback.shards import iter_samples, shard_paths
from pipeline.records import sha256_hex
from pipeline.run import run_build
from pipeline.tasks import TASKS
from pipeline.tasks.base import TaskContext, question_defaults

RED = {"box": [0.25, 0.25, 0.75, 0.75], "colour": "red", "rgb": [230, 20, 20]}


def _grey(width=240, height=120):
    return np.full((height, width, 3), 128, dtype=np.uint8)


def test_a_mark_outlines_its_box_in_its_colour_and_leaves_the_rest():
    pixels = _grey()
    out = draw_marks(pixels, [RED])
    # The box runs from x 60 to 180 and y 30 to 90; the line is max(2, 120 / 120) = 2 px thick.
    assert tuple(out[60, 60]) == (230, 20, 20)        # left edge, halfway down
    assert tuple(out[30, 120]) == (230, 20, 20)       # top edge, halfway across
    assert tuple(out[60, 120]) == (128, 128, 128)     # inside the box
    assert tuple(out[5, 5]) == (128, 128, 128)        # far outside it
    assert tuple(pixels[60, 60]) == (128, 128, 128)   # the source array is untouched


def test_the_line_is_edged_in_black_so_it_shows_on_any_ground():
    out = draw_marks(np.full((120, 240, 3), 230, dtype=np.uint8), [RED])
    assert tuple(out[60, 58]) == (0, 0, 0) and tuple(out[60, 62]) == (0, 0, 0)   # either side of the red line


def test_a_greyscale_picture_is_marked_in_colour():
    out = draw_marks(np.full((120, 240), 128, dtype=np.uint8), [RED])
    assert out.shape == (120, 240, 3) and tuple(out[60, 60]) == (230, 20, 20)


def test_a_marked_transform_keeps_the_size_and_says_what_was_drawn():
    blue = {"box": [0.1, 0.2, 0.3, 0.4], "colour": "blue", "rgb": [20, 60, 230]}
    transform = {"marks": [RED, blue]}
    assert apply_transform(_grey(), transform).shape == (120, 240, 3)
    assert describe_transform(transform) == "mark red [0.250,0.250,0.750,0.750] mark blue [0.100,0.200,0.300,0.400]"


# --- a question that points at one of several of a kind by a drawn box -------------------------

CUP_BOXES = ([0.30, 0.40, 0.40, 0.60], [0.35, 0.40, 0.45, 0.60], [0.40, 0.40, 0.50, 0.60])


def _crowded_context(marks: str):
    """Image 1: three cups side by side, none clearly the leftmost, highest or largest (centres 0.05
    apart), each weighed; images 2-4: one object each, clearly heavier or lighter than every cup."""
    cups = [region("cup", box, weight_kg=0.3) for box in CUP_BOXES]
    others = [[region("anvil", [0.2, 0.2, 0.6, 0.7], weight_kg=50)],
              [region("feather", [0.3, 0.3, 0.6, 0.6], weight_kg=0.01)],
              [region("pebble", [0.1, 0.5, 0.4, 0.8], weight_kg=0.02)]]
    questions = dict(question_defaults(), marks=marks)
    return TaskContext(task="weight_comparison", metadata=tuple({"regions": r} for r in [cups, *others]),
                       transforms=(None,) * 4, sizes=((640, 480),) * 4, questions=questions)


def test_without_marks_a_cup_among_cups_is_never_the_reference():
    ctx = _crowded_context("none")
    for seed in range(20):
        question = TASKS["weight_comparison"].templates[0](ctx, random.Random(seed))
        assert question is None or ("cup" not in question.text and not question.marks)


def test_with_marks_the_cup_is_pointed_at_by_a_red_box_drawn_on_its_picture():
    ctx = _crowded_context("boxes")
    questions = [TASKS["weight_comparison"].templates[0](ctx, random.Random(seed)) for seed in range(20)]
    marked = [q for q in questions if q and q.marks]
    assert marked, "no question pointed at a cup by a mark"
    for question in marked:
        assert question.text.startswith("The cup in the red box in <image> weighs 0.3 kg.")
        assert list(question.marks) == [1] and len(question.marks[1]) == 1
        mark = question.marks[1][0]
        assert mark["colour"] == "red" and mark["box"] in CUP_BOXES
        assert question.answer == "Image 2"    # only the anvil is heavier than 0.3 kg


def test_a_build_with_marks_keeps_the_marked_copy_in_its_shards_and_its_curriculum(tmp_path):
    folder = tmp_path / "photos"
    records = []
    for n, regions in enumerate(_crowded_context("boxes").metadata):
        make_photo(folder / f"p{n}.jpg", seed=50 + n, size=(640, 480))
        records.append({"file": f"p{n}.jpg", "caption": f"Photo {n}.", "group": "g", **regions})
    write_sidecar(folder, records)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"""seed: 3
sources:
  - {{name: photos, kind: folder, location: {folder}, licence: CC0-1.0, attribution: tests, tasks: [weight_comparison]}}
grouping: {{min_images: 4, target_images: 4, max_images: 4, test_fraction: 0}}
drafter: {{questions: {{marks: boxes}}}}
""")
    output = tmp_path / "out"
    report = run_build(str(manifest), str(output), [])
    samples = list(iter_samples(shard_paths(str(output))))
    assert report["samples"]["written"] == len(samples) == 1
    sample = samples[0]
    assert "in the red box" in sample["question"]
    facts = sample["image_facts"]
    [marked] = [f for f in facts if f["transform"] and f["transform"].startswith("mark red")]
    assert marked["derived_from"] == sha256_hex((folder / "p0.jpg").read_bytes())
    drawn = {"mark red [0.300,0.400,0.400,0.600]": CUP_BOXES[0], "mark red [0.350,0.400,0.450,0.600]": CUP_BOXES[1],
             "mark red [0.400,0.400,0.500,0.600]": CUP_BOXES[2]}
    box = drawn[marked["transform"]]
    # The marked copy is the picture the sample shows: red pixels on the box's left edge, none in the source.
    index = facts.index(marked)
    shown = np.asarray(Image.open(io.BytesIO(sample["images"][index]["bytes"])).convert("RGB")).astype(int)
    source = np.asarray(Image.open(folder / "p0.jpg").convert("RGB")).astype(int)
    x, y = round(box[0] * 640), 240
    red = np.array([230, 25, 25])
    assert np.abs(shown[y, x] - red).max() < 20 and np.abs(source[y, x] - red).max() > 40
    exported = tmp_path / "curriculum.jsonl"
    assert cli.main(["export", "curriculum", str(output), "--format", "llava", "--output", str(exported)]) == 0
    first = json.loads(exported.read_text().splitlines()[0])
    assert f"{marked['sha256']}.jpg" in json.dumps(first)


def _walkers(marks: str):
    """Four frames 1 s apart of five pedestrians in a row, all walking right, at 10, 30, 60, 90 and
    120 px a second (640 px wide frames): too many of one kind for words, all of them moving."""
    speeds = [10, 30, 60, 90, 120]
    frames = []
    for k in range(4):
        found = [region("pedestrian", [(40 + 60 * n + v * k) / 640, 0.40, (40 + 60 * n + v * k + 40) / 640, 0.80],
                        track_id=str(n)) for n, v in enumerate(speeds)]
        frames.append({"timestamp": float(k), "order": k, "regions": found})
    return TaskContext(task="motion_detection", metadata=tuple(frames), transforms=(None,) * 4,
                       sizes=((640, 480),) * 4, questions=dict(question_defaults(), marks=marks))


def test_a_crowd_no_words_tell_apart_is_asked_about_by_coloured_boxes_when_marks_are_drawn():
    farthest = next(t for t in TASKS["motion_detection"].templates if t.__name__ == "farthest_between_times")
    assert farthest(_walkers("none"), random.Random(0)) is None
    question = farthest(_walkers("boxes"), random.Random(0))
    assert question is not None and list(question.marks) and len(question.marks) == 1
    (frame, marks), = question.marks.items()
    colours = [m["colour"] for m in marks]
    assert colours == ["red", "blue", "yellow"][:len(marks)] and len(marks) in (2, 3)
    assert f"in the {' and '.join(colours) if len(colours) == 2 else 'red, blue and yellow'} boxes" in question.text
    assert "told apart by the boxes drawn in" in question.text
    # The answer's box is the one around the fastest of the marked walkers in the marked frame.
    speed_at = {round(r["bbox"][0], 6): [10, 30, 60, 90, 120][int(r["attributes"]["track_id"])]
                for r in _walkers("boxes").metadata[frame - 1]["regions"]}
    fastest = max(marks, key=lambda m: speed_at[round(m["box"][0], 6)])
    assert question.answer == f"the one in the {fastest['colour']} box"
    assert sorted(question.distractors) == sorted(f"the one in the {m['colour']} box" for m in marks if m is not fastest)
