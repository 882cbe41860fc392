"""Issue 25's "Checked by", measured on real public data read as it ships: a COCO subset, a
MOTChallenge-layout sequence, a NeRF scene and RGB-D frames with their depth maps, built together
by `mir build`. Every expected fact comes from the fixtures' own annotation files (COCO JSON,
gt.txt, transforms.json, depth PNGs), never from mir's code.

The fixtures are other projects' data and are not in this repository: tests/real_data/README.md
says where each file comes from. Put them in a folder and set MIR_REAL_DATA to it; without them
this module is skipped (the behaviours it checks are also tested on generated data: test_referring,
test_captions, test_marks, test_view_questions, test_depth_formats, test_mot_questions,
test_messages)."""
import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from pipeline.readback.shards import iter_samples, shard_paths
from tests.conftest import ROOT

REAL = pathlib.Path(os.environ.get("MIR_REAL_DATA") or ROOT / "tests" / "real_data")
COCO_JSON = "coco/instances_val2017_subset.json"
if not (REAL / COCO_JSON).is_file():
    pytest.skip(f"the real public fixtures are not in {REAL}: tests/real_data/README.md says where they come from; "
                "set MIR_REAL_DATA to their folder", allow_module_level=True)
MOT_SEQUENCE = "mot/tum-desk-pan"
MOT_LABELS = {"1": "chair", "3": "dice", "4": "striped folder"}   # gt.txt class id -> label, as the manifest says
TUM_DEPTH_SCALE = 0.0002   # TUM RGB-D stores depth x 5000
MAX_SHARE = 0.02
MIN_SIDE_PX = 16
MIN_VIEW_GAP_DEG = 10

SOURCES = [
    {"name": "coco", "kind": "coco", "location": f"real_data/{COCO_JSON}", "images": "real_data/coco/images",
     "licence": "CC-BY-2.0 (images), CC-BY-4.0 (annotations)", "attribution": "COCO Consortium; see README"},
    {"name": "mot", "kind": "mot", "location": "real_data/mot", "labels": MOT_LABELS,
     "licence": "CC-BY-4.0", "attribution": "TUM RGB-D benchmark; see README"},
    {"name": "lego", "kind": "views", "location": "real_data/nerf_lego", "licence": "CC-BY-3.0",
     "attribution": "NeRF synthetic lego scene; see README"},
    {"name": "rgbd", "kind": "folder", "location": "real_data/rgbd", "licence": "CC-BY-4.0",
     "attribution": "TUM RGB-D benchmark; see README", "dedup_scope": "off", "tasks": ["depth_relationship"]},
]


def _build(work, sources, out="out"):
    manifest = {"name": "real-data", "seed": 7, "sources": sources,
                "grouping": {"min_images": 3, "target_images": 4, "max_images": 6}}
    (work / "m.yaml").write_text(yaml.safe_dump(manifest))
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", "m.yaml", "--output", out],
                          cwd=work, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.fixture(scope="module")
def real_build(tmp_path_factory):
    """The four fixtures built together; the samples read back, and each sha256's source file."""
    work = tmp_path_factory.mktemp("real")
    shutil.copytree(REAL, work / "real_data")
    done = _build(work, SOURCES)
    assert done.returncode == 0, done.stderr
    samples = list(iter_samples(shard_paths(str(work / "out"))))
    table = pd.read_parquet(work / "out" / "images.parquet")
    files = {sha: os.path.relpath(os.path.join(work, uri), work / "real_data") for sha, uri in zip(table["sha256"], table["uri"])}
    return samples, files


# --- what the fixtures' own files say ----------------------------------------------------------

def _coco_objects() -> dict:
    """file -> [(label, (x0, y0, x1, y1) px, crowd)] from the COCO JSON."""
    coco = json.loads((REAL / COCO_JSON).read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {i["id"]: f"coco/images/{i['file_name']}" for i in coco["images"]}
    out = {f: [] for f in files.values()}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        out[files[a["image_id"]]].append((names[a["category_id"]], (x, y, x + w, y + h), bool(a["iscrowd"])))
    return out


def _mot_rows() -> list:
    """(frame, track, x0, y0, x1, y1, label) from gt.txt."""
    rows = []
    for line in (REAL / MOT_SEQUENCE / "gt" / "gt.txt").read_text().split():
        frame, track, left, top, width, height, _, cls, _ = line.split(",")
        x0, y0 = float(left), float(top)
        rows.append((int(frame), int(track), x0, y0, x0 + float(width), y0 + float(height), MOT_LABELS[cls]))
    return rows


def _mot_objects() -> dict:
    out = {}
    for frame, _, x0, y0, x1, y1, label in _mot_rows():
        out.setdefault(f"{MOT_SEQUENCE}/img1/{frame:06d}.jpg", []).append((label, (x0, y0, x1, y1), False))
    return out


def _rgbd_lines() -> list:
    return [json.loads(line) for line in (REAL / "rgbd" / "metadata.jsonl").read_text().splitlines()]


def _rgbd_objects() -> dict:
    out = {}
    for line in _rgbd_lines():
        width, height = Image.open(REAL / "rgbd" / line["file"]).size
        out[f"rgbd/{line['file']}"] = [(r["label"], (r["bbox"][0] * width, r["bbox"][1] * height,
                                                     r["bbox"][2] * width, r["bbox"][3] * height), False)
                                       for r in line["regions"]]
    return out


def _objects() -> dict:
    return {**_coco_objects(), **_mot_objects(), **_rgbd_objects()}


def _azimuths() -> dict:
    """NeRF frame file -> camera azimuth in degrees about the +z axis through the origin, which
    the lego scene's cameras look at."""
    scene = json.loads((REAL / "nerf_lego" / "transforms_train.json").read_text())
    out = {}
    for frame in scene["frames"]:
        x, y = frame["transform_matrix"][0][3], frame["transform_matrix"][1][3]
        out[f"nerf_lego/{frame['file_path'][2:]}.png"] = math.degrees(math.atan2(y, x)) % 360
    return out


# --- reading the samples ------------------------------------------------------------------------

def _source_box(fact, bbox):
    """The entry's box in its source image's 0..1 coordinates: a crop's box mapped back; any other
    derived copy (a mark, a resize) keeps the geometry."""
    match = re.match(r"crop \[([\d.]+),([\d.]+),([\d.]+),([\d.]+)\]", fact.get("transform") or "")
    if not match:
        return bbox
    cx0, cy0, cx1, cy1 = (float(v) for v in match.groups())
    w, h = cx1 - cx0, cy1 - cy0
    return [cx0 + bbox[0] * w, cy0 + bbox[1] * h, cx0 + bbox[2] * w, cy0 + bbox[3] * h]


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _named_regions(real_build) -> list:
    """Every text2region entry naming an annotated object: (file, label, source pixel box, the
    annotation it names, the labels of that image's annotations, the words naming it)."""
    samples, files = real_build
    objects = _objects()
    named = []
    for sample in samples:
        for entry in sample["reasoning"]["text2region"]:
            fact = sample["image_facts"][entry["image"] - 1]
            file = files.get(fact["derived_from"] or fact["sha256"])
            annotated = objects.get(file, [])
            if entry.get("label") not in {label for label, _, _ in annotated} or not entry.get("bbox"):
                continue
            width, height = Image.open(REAL / file).size
            box = _source_box(fact, entry["bbox"])
            pixels = (box[0] * width, box[1] * height, box[2] * width, box[3] * height)
            same = [b for label, b, _ in annotated if label == entry["label"]]
            best = max(same, key=lambda b: _iou(b, pixels))
            named.append((file, entry["label"], pixels, best, Counter(label for label, _, _ in annotated),
                          entry["text"]))
    return named


def _texts(sample) -> list:
    return [sample["question"], *(o["text"] for o in sample["options"]), *sample["reasoning"]["captions"]]


# --- the checks ---------------------------------------------------------------------------------

# Words that single out one of several of a kind by what a viewer sees (issue 25, must-have 1): its
# place or size among them, or a box drawn around it.
SINGLED_OUT = re.compile(r"\b(?:leftmost|rightmost|highest|lowest|largest|smallest|middle|further (?:left|right)|"
                         r"higher|lower|larger|smaller|in the \w+ box)\b")


def test_named_regions_are_rarely_one_of_several_of_their_kind(real_build):
    named = _named_regions(real_build)
    assert named, "no sample names an annotated object"
    ambiguous = [(file, label) for file, label, _, _, labels, words in named
                 if labels[label] > 1 and not SINGLED_OUT.search(words)]
    share = len(ambiguous) / len(named)
    assert share <= MAX_SHARE, f"ambiguous named regions: {len(ambiguous)} of {len(named)} ({share:.0%}): {ambiguous}"


def test_named_boxes_are_rarely_under_16_px(real_build):
    named = _named_regions(real_build)
    assert named, "no sample names an annotated object"
    tiny = [(file, label) for file, label, _, box, _, _ in named if min(box[2] - box[0], box[3] - box[1]) < MIN_SIDE_PX]
    share = len(tiny) / len(named)
    assert share <= MAX_SHARE, f"named boxes under {MIN_SIDE_PX} px: {len(tiny)} of {len(named)} ({share:.0%}): {tiny}"


GARBLED = re.compile(r"#\s*\d|#\s*,|#\s*$|\btrack\s*#?\s*\d|\btrack\d|\bann\d+|\(again\)|,\s*,", re.IGNORECASE)


def test_no_ids_or_garbled_text_in_questions_options_or_captions(real_build):
    samples, _ = real_build
    bad = [(s["task"], match.group(0), text[:120]) for s in samples for text in _texts(s)
           for match in [GARBLED.search(text)] if match]
    assert not bad, f"texts with ids or garbled leftovers: {len(bad)}: {bad[:5]}"


def test_no_list_dump_captions(real_build):
    """A caption that names one label twice lists objects instead of counting them."""
    samples, _ = real_build
    labels = {label for objects in _objects().values() for label, _, _ in objects}
    captions = [c for s in samples for c in s["reasoning"]["captions"]]
    dumps = [c for c in captions for label in labels
             if len(re.findall(rf"\b{re.escape(label)}\b", c, re.IGNORECASE)) > 1]
    fillers = [c for c in captions if c.strip() == "An image."]
    assert captions
    assert not dumps and not fillers, (f"list-dump captions: {len(dumps)} of {len(captions)}: {dumps[:3]}; "
                                       f"'An image.' fillers: {len(fillers)}")


def _turns(text: str) -> list:
    """Every turn a text states, in degrees counter-clockwise (a clockwise turn negative)."""
    found = re.findall(r"(\d+(?:\.\d+)?)[ -]degrees?( counter-?clockwise| anti-?clockwise| clockwise)?", text)
    return [float(v) * (-1 if way.strip() == "clockwise" else 1) for v, way in found]


def _gap(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def test_view_options_are_10_degrees_apart_and_no_turn_is_over_180(real_build):
    samples, files = real_build
    azimuths = _azimuths()
    views = [s for s in samples if s["task"] == "view_3d"]
    assert views, "the NeRF scene gave no view_3d sample"
    problems = []
    for s in views:
        stated = [t for text in [s["question"], *(o["text"] for o in s["options"])] for t in _turns(text)]
        problems += [f"{s['id']}: a turn of {abs(t):g} degrees" for t in stated if abs(t) > 180]
        option_turns = [t for o in s["options"] for t in _turns(o["text"])]
        image_options = [int(m.group(1)) for o in s["options"] for m in [re.fullmatch(r"Image (\d+)", o["text"])] if m]
        angles = option_turns or [azimuths[files[s["image_facts"][i - 1]["sha256"]]] for i in image_options]
        problems += [f"{s['id']}: options {a:g} and {b:g} degrees, {_gap(a, b):.1f} apart"
                     for i, a in enumerate(angles) for b in angles[i + 1:] if _gap(a, b) < MIN_VIEW_GAP_DEG]
    assert not problems, f"view_3d: {len(problems)} problems in {len(views)} samples: {problems}"


def _depth_of(file: str, box) -> float:
    """Median of the valid (non-zero) depth pixels whose centres lie inside the box, in metres."""
    depth = np.asarray(Image.open(REAL / "rgbd" / file)).astype(float)
    h, w = depth.shape
    xs, ys = (np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / h
    inside = depth[np.ix_((ys >= box[1]) & (ys <= box[3]), (xs >= box[0]) & (xs <= box[2]))]
    return float(np.median(inside[inside > 0])) * TUM_DEPTH_SCALE


def test_the_depth_frames_give_depth_relationship_samples_stating_their_maps_depths(real_build):
    samples, _ = real_build
    depths = {}
    for line in _rgbd_lines():
        for region in line["regions"]:
            depths.setdefault(region["label"], []).append(_depth_of(line["depth_map"]["file"], region["bbox"]))
    assert max(max(v) for v in depths.values()) > 1.5 * min(min(v) for v in depths.values())   # far enough apart to ask
    found = [s for s in samples if s["task"] == "depth_relationship"]
    assert found, "the RGB-D frames gave no depth_relationship sample"
    for s in found:
        for label, metres in re.findall(r"the ([a-z ]+?) is (\d+(?:\.\d+)?) m from the camera", s["question"]):
            assert any(abs(float(metres) - d) < 0.02 for d in depths[label]), (label, metres, depths[label])


def test_the_mot_sequence_gives_motion_detection_samples_that_see_the_pan_to_the_left(real_build):
    samples, _ = real_build
    centres = {}
    for frame, track, x0, _, x1, _, _ in _mot_rows():
        centres.setdefault(track, []).append((frame, (x0 + x1) / 2))
    assert all(b[1] <= a[1] for c in centres.values() for a, b in zip(c, c[1:]))   # every object drifts left
    found = [s for s in samples if s["task"] == "motion_detection"]
    assert found, "the MOT sequence gave no motion_detection sample"
    answers = [o["text"] for s in found for o in s["options"] if o["label"] == s["answer"]]
    assert not [a for a in answers if re.search(r"to the right|upwards|downwards", a)], answers


def test_a_coco_source_without_images_whose_images_live_elsewhere_names_the_images_key(tmp_path):
    (tmp_path / "annotations").mkdir()
    shutil.copy(REAL / COCO_JSON, tmp_path / "annotations" / "instances.json")
    shutil.copytree(REAL / "coco" / "images", tmp_path / "val2017")
    source = {"name": "coco", "kind": "coco", "location": "annotations/instances.json",
              "licence": "CC-BY-2.0", "attribution": "COCO Consortium"}
    done = _build(tmp_path, [source])
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert re.search(r"`images`|'images'|\"images\"|\bimages:", said), said[-600:]
