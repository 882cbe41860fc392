"""Depth maps as public data sets ship them (issue 25, must-have 5): each encoding's preset turns a
known stored value into a literal depth, a file that is not what its encoding says (or whose
encoding no setting names) is refused naming what it is and what to set, a region measured at a
depth no scene of its encoding holds rejects its image, and six photos with a near and a far box
and a millimetre depth map each give depth_relationship questions whose answers hold."""
import json
import random
import re

import numpy as np
import pytest
from PIL import Image

from pipeline.drafters.grounded import PROBES, refusal
from pipeline.manifest import parse_manifest
from pipeline.readback.shards import iter_samples, shard_paths
from pipeline.run import run_build
from pipeline.schemas import load_schema
from pipeline.sources import list_source
from pipeline.sources.depth import ENCODINGS
from pipeline.tasks import depth_relationship
from pipeline.tasks.base import TaskContext, question_defaults
from tests.conftest import make_photo, write_sidecar

WIDTH, HEIGHT = 160, 120
NEAR_BOX, FAR_BOX = [0.05, 0.55, 0.45, 0.95], [0.55, 0.05, 0.95, 0.45]


def _listed(folder):
    """(metadata by uri, {uri: (reason, detail)} of the rejects) of a folder source."""
    source = parse_manifest({"sources": [{"name": "rgbd", "kind": "folder", "location": str(folder),
                                          "licence": "CC0-1.0", "attribution": "tests"}]}, str(folder)).sources[0]
    items = list(list_source(source))
    refs = {i.uri: i.metadata for i in items if not isinstance(i, dict)}
    return refs, {r["subject"]: (r["reason"], r["detail"]) for r in items if isinstance(r, dict)}


def _png16(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint16)).save(path)


def _nyu_pgm(path, disparity):
    """A raw NYU Depth v2 frame: a binary PGM header, then the Kinect's disparities with their bytes
    little-endian (the format says big-endian; the toolbox swaps them back)."""
    disparity = np.asarray(disparity, dtype="<u2")
    header = f"P5\n{disparity.shape[1]} {disparity.shape[0]}\n65535\n".encode()
    path.write_bytes(header + disparity.tobytes())


def _line(name, depth_map, label="sofa", box=(0.25, 0.25, 0.75, 0.75)):
    return {"file": f"{name}.jpg", "depth_map": depth_map,
            "regions": [{"id": label, "label": label, "bbox": list(box)}]}


def _depth_of(refs, folder, name):
    return refs[str(folder / f"{name}.jpg")]["regions"][0].get("attributes", {}).get("depth_m")


def test_every_preset_turns_a_stored_value_into_its_depth(tmp_path):
    stored = {"mm": ("millimetre_png", 1500), "kitti": ("kitti", 3840), "tum": ("tum", 7500)}
    lines = []
    for name, (encoding, value) in stored.items():
        make_photo(tmp_path / f"{name}.jpg", seed=len(lines))
        _png16(tmp_path / f"{name}.png", np.full((HEIGHT, WIDTH), value))
        lines.append(_line(name, {"file": f"{name}.png", "encoding": encoding}))
    make_photo(tmp_path / "nyu.jpg", seed=10)
    raw = np.full((HEIGHT, WIDTH), 800)
    raw[:, :70] = 2047                          # the Kinect's "no reading" over most of the box's left half
    _nyu_pgm(tmp_path / "nyu.pgm", raw)
    lines.append(_line("nyu", {"file": "nyu.pgm", "encoding": "nyu_raw"}))
    make_photo(tmp_path / "float.jpg", seed=11)
    np.save(tmp_path / "float.npy", np.full((HEIGHT, WIDTH), 2.75, dtype=np.float32))
    lines.append(_line("float", {"file": "float.npy", "encoding": "metres_float"}))
    make_photo(tmp_path / "plain.jpg", seed=12)
    _png16(tmp_path / "plain.png", np.full((HEIGHT, WIDTH), 4200))
    lines.append(_line("plain", "plain.png"))   # no encoding: a 16-bit PNG is millimetres, as documented
    write_sidecar(tmp_path, lines)
    refs, rejects = _listed(tmp_path)
    assert rejects == {}
    depths = {name: _depth_of(refs, tmp_path, name) for name in ("mm", "kitti", "tum", "nyu", "float", "plain")}
    # 3840 / 256 = 15 m; 7500 / 5000 = 1.5 m; NYU: 351.3 / (1092.5 - 800) = 351.3 / 292.5 = 1.2010256... m,
    # the 2047s (no reading) left out, not taken as a depth.
    assert depths == {"mm": 1.5, "kitti": 15.0, "tum": 1.5, "nyu": 1.201026, "float": 2.75, "plain": 4.2}


def test_a_raw_nyu_pgm_without_its_encoding_is_refused_naming_the_format(tmp_path):
    make_photo(tmp_path / "raw.jpg", seed=1)
    _nyu_pgm(tmp_path / "raw.pgm", np.full((HEIGHT, WIDTH), 800))
    make_photo(tmp_path / "as_mm.jpg", seed=2)
    _nyu_pgm(tmp_path / "as_mm.pgm", np.full((HEIGHT, WIDTH), 800))
    make_photo(tmp_path / "png_as_nyu.jpg", seed=3)
    _png16(tmp_path / "png_as_nyu.png", np.full((HEIGHT, WIDTH), 1500))
    make_photo(tmp_path / "picture.jpg", seed=4)
    Image.fromarray(np.full((HEIGHT, WIDTH), 90, dtype=np.uint8)).save(tmp_path / "picture.png")
    make_photo(tmp_path / "both.jpg", seed=5)
    _png16(tmp_path / "both.png", np.full((HEIGHT, WIDTH), 1500))
    write_sidecar(tmp_path, [_line("raw", "raw.pgm"),
                             _line("as_mm", {"file": "as_mm.pgm", "encoding": "millimetre_png"}),
                             _line("png_as_nyu", {"file": "png_as_nyu.png", "encoding": "nyu_raw"}),
                             _line("picture", {"file": "picture.png", "encoding": "millimetre_png"}),
                             _line("both", {"file": "both.png", "encoding": "tum", "scale": 0.001})])
    refs, rejects = _listed(tmp_path)
    assert refs == {}
    reasons = {uri.rsplit("/", 1)[1]: reason for uri, (reason, _) in rejects.items()}
    assert reasons == {"raw.jpg": "depth_encoding", "as_mm.jpg": "depth_encoding", "png_as_nyu.jpg": "depth_encoding",
                       "picture.jpg": "bad_depth_map", "both.jpg": "depth_encoding"}
    detail = {uri.rsplit("/", 1)[1]: text for uri, (_, text) in rejects.items()}
    assert "16-bit PGM" in detail["raw.jpg"] and "set depth_map.encoding to nyu_raw" in detail["raw.jpg"]
    assert "encoding millimetre_png expects" in detail["as_mm.jpg"] and "16-bit PGM" in detail["as_mm.jpg"]
    assert "encoding nyu_raw expects" in detail["png_as_nyu.jpg"] and "16-bit PNG" in detail["png_as_nyu.jpg"]
    assert "8-bit PNG" in detail["picture.jpg"]
    assert "both encoding tum and scale" in detail["both.jpg"]


def test_depths_no_scene_of_the_encoding_holds_reject_their_image(tmp_path):
    def room(name, stored, encoding=None, label="wardrobe"):
        make_photo(tmp_path / f"{name}.jpg", seed=len(lines) + 20)
        depth = np.full((HEIGHT, WIDTH), 1200)
        depth[30:90, 40:120] = stored           # the box's pixels
        _png16(tmp_path / f"{name}.png", depth)
        lines.append(_line(name, {"file": f"{name}.png", **({"encoding": encoding} if encoding else {})}, label))

    lines = []
    room("read_as_mm", 54800)                   # 54.8 m in a room
    room("tum_far", 60000, "tum")               # 12 m: a deep hall, still a room
    room("kitti_road", 14029, "kitti")          # 54.8 m (14029 / 256) down a road: LiDAR reads that far
    room("kitti_beyond", 33280, "kitti")        # 130 m: beyond KITTI's LiDAR
    room("too_near", 50, label="cup")           # 5 cm from the camera
    write_sidecar(tmp_path, lines)
    refs, rejects = _listed(tmp_path)
    assert {_depth_of(refs, tmp_path, name) for name in ("tum_far", "kitti_road")} == {12.0, 54.800781}
    reasons = {uri.rsplit("/", 1)[1]: reason for uri, (reason, _) in rejects.items()}
    assert reasons == {"read_as_mm.jpg": "implausible_depth", "kitti_beyond.jpg": "implausible_depth",
                       "too_near.jpg": "implausible_depth"}
    detail = {uri.rsplit("/", 1)[1]: text for uri, (_, text) in rejects.items()}
    assert re.search(r"'wardrobe' measures 54\.8 m .*millimetre_png, farther than 20 m \(no room is that deep\)",
                     detail["read_as_mm.jpg"]), detail["read_as_mm.jpg"]
    assert "set depth_map.encoding" in detail["read_as_mm.jpg"]
    assert "130 m" in detail["kitti_beyond.jpg"] and "farther than 120 m" in detail["kitti_beyond.jpg"]
    assert "'cup' measures 0.05 m" in detail["too_near.jpg"] and "nearer than 0.1 m" in detail["too_near.jpg"]


def test_the_schema_names_exactly_the_encodings_read():
    spec = load_schema("source_metadata")["properties"]["depth_map"]["properties"]["encoding"]
    assert set(spec["enum"]) == set(ENCODINGS)


# --- six photos, a near and a far box each -------------------------------------------------------

NEAR = {"chair": 0, "lamp": 1, "stool": 2, "bin": 3, "basket": 4, "kettle": 5}     # label -> photo, 1.5 m
FAR = {"wardrobe": 0, "door": 1, "shelf": 2, "window": 3, "sofa": 4, "chair": 5}   # 4.2 m; a second chair


def make_rooms(folder):
    """Six photos, each with a near box (1.5 m) and a far box (4.2 m) in a 16-bit millimetre depth
    map named as docs/sidecar-format.md shows; "chair" is the near object of one photo and the far
    object of another, so no viewer told "the chair" knows which is meant."""
    lines = []
    for k in range(6):
        make_photo(folder / f"room{k}.jpg", seed=700 + k)
        depth = np.full((HEIGHT, WIDTH), 4200)
        depth[60:, :80] = 1500
        depth[:6, :6] = 0                     # a hole, as real maps have
        _png16(folder / "depth" / f"room{k}.png", depth)
        near, far = (next(label for label, photo in table.items() if photo == k) for table in (NEAR, FAR))
        lines.append({"file": f"room{k}.jpg", "group": "flat", "depth_map": f"depth/room{k}.png",
                      "regions": [{"id": "near", "label": near, "bbox": NEAR_BOX},
                                  {"id": "far", "label": far, "bbox": FAR_BOX}]})
    write_sidecar(folder, lines)


def _answer_from_the_fixture(question):
    """The image the question's answer must be, from the fixture's own depths: the one listed object
    on the asked side of the stated distance (or of the stated object's)."""
    listing = re.search(r"show, one each and in no particular order, (.+?)\. <image>", question).group(1)
    listed = [re.sub(r"^the ", "", n) for n in re.split(r", | and ", listing)]
    assert "chair" not in listed            # named twice in the photos: never listed
    depth_of = {**{label: 1.5 for label in NEAR}, **{label: 4.2 for label in FAR if label != "chair"}}
    photo_of = {**NEAR, **FAR}
    stated = re.search(r"only one is (less|more) than ([\d.]+) m from the camera", question)
    side, limit = stated.groups() if stated else (None, None)
    if stated:
        assert 2.25 <= float(limit) <= 2.8      # 1.5 times beyond 1.5 m and 1.5 times short of 4.2 m
    reference = re.search(r"In <image>, the (\w+) is ([\d.]+) m from the camera", question)
    if reference:
        side = "less" if "only one is nearer" in question else "more"
        limit = reference.group(2)
    meeting = [photo_of[label] + 1 for label in listed if (depth_of[label] < float(limit)) == (side == "less")]
    assert len(meeting) == 1, (question, meeting)
    return f"Image {meeting[0]}"


@pytest.fixture(scope="module")
def rooms_build(tmp_path_factory):
    work = tmp_path_factory.mktemp("rooms")
    make_rooms(work / "rooms")
    (work / "m.yaml").write_text(
        "seed: 11\nsources:\n  - {name: rooms, kind: folder, location: rooms, licence: CC0-1.0, attribution: tests, "
        "tasks: [depth_relationship]}\n")
    run_build(str(work / "m.yaml"), str(work / "out"), [])
    return work / "out"


def test_six_photos_with_depth_maps_give_depth_questions_whose_answers_hold(rooms_build):
    samples = list(iter_samples(shard_paths(str(rooms_build))))
    assert samples and {s["task"] for s in samples} == {"depth_relationship"}
    for sample in samples:
        chosen = next(o["text"] for o in sample["options"] if o["label"] == sample["answer"])
        assert chosen == _answer_from_the_fixture(sample["question"])
        assert sample["ground_truth"] == {"verified": True, "method": "metadata:depth_m"}
    report = json.loads((rooms_build / "report.json").read_text())
    assert sum(report["samples"]["by_task"]["depth_relationship"].values()) == len(samples)


def _revisited_chair(depths: list):
    """One office chair seen from a different place in each frame (its kind alone in each), with the
    frame's own plant; 640 x 480 frames, boxes 160 px and more."""
    metadata = tuple({"regions": [{"id": "chair", "label": "office chair", "bbox": [0.1, 0.4, 0.45, 0.95],
                                   "attributes": {"depth_m": d}},
                                  {"id": f"plant{k}", "label": f"plant {k}", "bbox": [0.6, 0.1, 0.9, 0.5],
                                   "attributes": {"depth_m": 3.0}}]} for k, d in enumerate(depths))
    return TaskContext(task="depth_relationship", metadata=metadata, transforms=(None,) * len(depths),
                       sizes=((640, 480),) * len(depths), questions=question_defaults())


def test_one_object_seen_from_several_places_gives_where_it_is_nearest_and_farthest():
    """Frames as an RGB-D sequence gives them: the same chair at 1.0, 2.0, 2.6 and 1.2 m. Nearest: frame 1;
    frame 4 (1.2 m, under 1.3 times 1.0) is too close to call and never an option. Farthest: frame 3."""
    ctx = _revisited_chair([1.0, 2.0, 2.6, 1.2])
    for seed in range(5):
        nearest = depth_relationship.nearest_same_object(ctx, random.Random(seed))
        assert nearest.answer == "Image 1" and sorted(nearest.distractors) == ["Image 2", "Image 3"]
        assert nearest.text.startswith("Four of the images show the office chair. <image> shows it. <image> shows it.")
        assert "1.0" not in nearest.text and "2.6" not in nearest.text   # no depth is stated
        farthest = depth_relationship.farthest_same_object(ctx, random.Random(seed))
        assert farthest.answer == "Image 3" and sorted(farthest.distractors) == ["Image 1", "Image 2", "Image 4"]
        for question, template in ((nearest, depth_relationship.nearest_same_object),
                                   (farthest, depth_relationship.farthest_same_object)):
            probes = [random.Random(f"probe{seed}{i}") for i in range(PROBES)]
            assert refusal(template, question, ctx, probes) == ""
    # Seen clearly nearer in only one other frame: no question (two wrong options are needed).
    assert depth_relationship.nearest_same_object(_revisited_chair([1.0, 1.2, 2.0, 1.1]), random.Random(0)) is None
