"""Public datasets in their own formats (docs/formats.md): MOTChallenge sequences (`mot`), NeRF-style
transforms.json scenes (`views`), per-image depth maps (`depth_map`) and chart CSV tables
(`data_file`). Fixtures are written here in each published layout; expected values are worked out
by hand from the formats' definitions, on fixtures where the plausible wrong rules (0-based
frames, the mean of a depth box, holes counted, the poses' mean as centre, +Y up) give other
answers. The last test builds all four with `mir build`."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from PIL import Image

from pipeline.manifest import parse_manifest
from pipeline.readback.shards import iter_samples, shard_paths, shard_task
from pipeline.sources import list_source
from pipeline.sources.nerf import camera_angles
from tests.conftest import ROOT, make_photo, write_sidecar


def _source(base, kind, location, **options):
    entry = {"name": kind, "kind": kind, "location": str(location), "licence": "CC0-1.0",
             "attribution": "tests", **options}
    return parse_manifest({"sources": [entry]}, str(base)).sources[0]


def _listed(source):
    """(metadata by uri, {subject: reason} of the rejects) of one source."""
    items = list(list_source(source))
    refs = {i.uri: i.metadata for i in items if not isinstance(i, dict)}
    return refs, {r["subject"]: r["reason"] for r in items if isinstance(r, dict)}


# --- MOTChallenge --------------------------------------------------------------------------------

FRAMES = 12          # 000001.jpg .. 000012.jpg at 4 frames per second


def _gt_lines() -> list:
    lines = []
    for f in range(1, FRAMES + 1):
        lines.append(f"{f},1,{5 + 10 * (f - 1)},40,20,40,1,1,1.0")        # a pedestrian walking right
        lines.append(f"{f},2,120,{5 + 4 * (f - 1)},30,20,1,3,0.8")        # a car rolling down, slowly
        lines.append(f"{f},3,20,80,15,30,0,1,1.0")                         # conf 0: ignored
        lines.append(f"{f},4,60,80,10,30,1,1,{0.5 if f == 5 else 0.1}")    # occluded, but in frame 5
        lines.append(f"{f},5,100,60,10,10,1,8,1.0")                        # class 8: a distractor
    lines += ["3,6,abc,10,10,10,1,1,1",    # a bad box: frame 3 is rejected
              "13,1,125,40,20,40,1,1,1",   # frame 13 has no image
              "x,1,1,1,1,1,1,1,1",         # no frame at all
              "0,1,1,1,1,1,1,1,1"]         # frames are numbered from 1
    return lines


def make_mot_sequence(folder) -> None:
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    (folder / "seqinfo.ini").write_text("[Sequence]\nname=TEST-01\nimDir=img1\nframeRate=4\nseqLength=12\n"
                                        "imWidth=160\nimHeight=120\nimExt=.jpg\n")
    for f in range(1, FRAMES + 1):
        make_photo(folder / "img1" / f"{f:06d}.jpg", seed=100 + f)
    (folder / "img1" / "notes.txt").write_text("not a frame")
    (folder / "gt" / "gt.txt").write_text("\n".join(_gt_lines()) + "\n")


def test_mot_frames_are_timed_from_the_frame_rate_and_boxes_filtered(tmp_path):
    seq = tmp_path / "MOT" / "train" / "TEST-01"
    make_mot_sequence(seq)
    refs, rejects = _listed(_source(tmp_path, "mot", tmp_path / "MOT"))
    img = seq / "img1"
    frame5 = refs[str(img / "000005.jpg")]
    # Frame n is at (n - 1) / frameRate seconds: frame 5 at 1 s (not 1.25 s), frame 12 at 2.75 s.
    assert (frame5["sequence"], frame5["order"], frame5["timestamp"]) == ("TEST-01", 4, 1.0)
    assert refs[str(img / "000001.jpg")]["timestamp"] == 0.0
    assert refs[str(img / "000012.jpg")]["timestamp"] == 2.75
    assert frame5["regions"] == [
        {"id": "track1", "label": "pedestrian", "bbox": [0.28125, 0.333333, 0.40625, 0.666667],
         "attributes": {"track_id": "1", "visibility": 1.0}},
        {"id": "track2", "label": "car", "bbox": [0.75, 0.175, 0.9375, 0.341667],
         "attributes": {"track_id": "2", "visibility": 0.8}},
        {"id": "track4", "label": "pedestrian", "bbox": [0.375, 0.666667, 0.4375, 0.916667],
         "attributes": {"track_id": "4", "visibility": 0.5}}]
    # Elsewhere track 4 is less visible than 0.25: two boxes per frame.
    assert [r["id"] for r in refs[str(img / "000006.jpg")]["regions"]] == ["track1", "track2"]
    assert refs[str(img / "notes.txt")] == {"file": "train/TEST-01/img1/notes.txt"}
    assert rejects == {str(img / "000003.jpg"): "bad_metadata", str(img / "000013.jpg"): "missing_file",
                       f"{seq / 'gt' / 'gt.txt'}:{len(_gt_lines()) - 1}": "bad_metadata",
                       f"{seq / 'gt' / 'gt.txt'}:{len(_gt_lines())}": "bad_metadata"}
    assert len(refs) == FRAMES - 1 + 1   # every frame but 3, and notes.txt


def test_mot_labels_and_visibility_threshold_come_from_the_source(tmp_path):
    make_mot_sequence(tmp_path / "seq")
    source = _source(tmp_path, "mot", tmp_path / "seq", labels={"3": "red car", "8": "mannequin"},
                     min_visibility=0.05)
    assert source.dedup_scope == "off"
    refs, _ = _listed(source)
    labels = [r["label"] for r in refs[str(tmp_path / "seq" / "img1" / "000006.jpg")]["regions"]]
    assert labels == ["pedestrian", "red car", "pedestrian", "mannequin"]
    refs, _ = _listed(_source(tmp_path, "mot", tmp_path / "seq", labels={"1": None}))
    assert [r["label"] for r in refs[str(tmp_path / "seq" / "img1" / "000006.jpg")]["regions"]] == ["car"]


def test_mot15_rows_have_no_class_and_are_pedestrians(tmp_path):
    """MOT15's ground truth: frame, id, box, conf, then world x, y, z (-1 in 2D sequences)."""
    seq = tmp_path / "PETS"
    (seq / "img1").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=PETS\nimDir=img1\nframeRate=7\nseqLength=2\n"
                                     "imWidth=160\nimHeight=120\nimExt=.jpg\n")
    make_photo(seq / "img1" / "000001.jpg", seed=1)
    make_photo(seq / "img1" / "000002.jpg", seed=2)
    (seq / "gt").mkdir()
    (seq / "gt" / "gt.txt").write_text("1,1,-10,20,40,40,1,-1,-1,-1\n2,1,0,20,40,40,1,-1,-1,-1\n")
    refs, rejects = _listed(_source(tmp_path, "mot", seq, classes="mot15"))
    assert rejects == {}
    # The box left of the frame is clipped: [-10, 30] px of 160 -> [0, 0.1875].
    assert refs[str(seq / "img1" / "000001.jpg")]["regions"] == [
        {"id": "track1", "label": "pedestrian", "bbox": [0.0, 0.166667, 0.1875, 0.5], "attributes": {"track_id": "1"}}]
    assert refs[str(seq / "img1" / "000002.jpg")]["timestamp"] == round(1 / 7, 6)


def test_mot_frame_step_keeps_every_kth_frame_at_its_own_time(tmp_path):
    make_mot_sequence(tmp_path / "seq")
    refs, rejects = _listed(_source(tmp_path, "mot", tmp_path / "seq", frame_step=3))
    # Frames 1, 4, 7, 10 (and 13, named by gt.txt but missing); 3 is not used, so its bad line is moot.
    assert sorted(m["timestamp"] for m in refs.values() if "timestamp" in m) == [0.0, 0.75, 1.5, 2.25]
    assert {k: v for k, v in rejects.items() if k.endswith(".jpg")} == {
        str(tmp_path / "seq" / "img1" / "000013.jpg"): "missing_file"}


def test_mot_sequence_with_a_bad_seqinfo_rejects_its_frames(tmp_path):
    make_mot_sequence(tmp_path / "seq")
    (tmp_path / "seq" / "seqinfo.ini").write_text("[Sequence]\nname=x\nframeRate=0\nimWidth=160\nimHeight=120\n")
    refs, rejects = _listed(_source(tmp_path, "mot", tmp_path / "seq"))
    assert refs == {} and set(rejects.values()) == {"bad_metadata"} and len(rejects) == FRAMES + 1


# --- depth maps ----------------------------------------------------------------------------------

def _depth_mm() -> np.ndarray:
    """160x120 millimetres. The left half of the top rows: 30% at 2 m, 10% at 5 m, 60% holes, so the
    median of the valid pixels is 2 m while their mean is 2.75 m and the median with holes 0.
    The right half of the top rows is one hole; the bottom rows hold 4 m, with 10 valid pixels
    in an otherwise empty corner."""
    depth = np.full((120, 160), 4000, dtype=np.uint16)
    pattern = np.array([2000, 2000, 2000, 5000, 0, 0, 0, 0, 0, 0], dtype=np.uint16)
    depth[:60, :80] = np.resize(pattern, (60, 80))
    depth[:60, 80:] = 0
    depth[100:, 140:] = 0
    depth[100, 140:150] = 4000
    return depth


def _write_png16(path, array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint16)).save(path)


def _depth_line(file, depth_map, **more) -> dict:
    return {"file": file, "group": "rooms", "depth_map": depth_map,
            "regions": [{"id": "sofa", "label": "sofa", "bbox": [0.0, 0.0, 0.5, 0.5]},
                        {"id": "window", "label": "window", "bbox": [0.5, 0.0, 1.0, 0.5]},
                        {"id": "rug", "label": "rug", "bbox": [0.0, 0.5, 0.5, 1.0]},
                        {"id": "cat", "label": "cat", "bbox": [0.875, 0.833333, 1.0, 1.0]}], **more}


def test_depth_is_the_median_of_valid_pixels_in_each_box(tmp_path):
    folder = tmp_path / "nyu"
    make_photo(folder / "room.jpg", seed=1)
    _write_png16(folder / "depth" / "room.png", _depth_mm())
    make_photo(folder / "kitti.jpg", seed=2)
    _write_png16(folder / "depth" / "kitti.png", np.full((120, 160), 896))     # 896 / 256 = 3.5 m
    make_photo(folder / "float.jpg", seed=3)
    np.save(folder / "depth" / "float.npy", np.full((120, 160), 1.25, dtype=np.float32))
    write_sidecar(folder, [_depth_line("room.jpg", "depth/room.png"),
                           _depth_line("kitti.jpg", {"file": "depth/kitti.png", "scale": 0.00390625}),
                           _depth_line("float.jpg", "depth/float.npy")])
    refs, rejects = _listed(_source(tmp_path, "folder", folder))
    assert rejects == {}

    def depths(name):
        return {r["id"]: r.get("attributes", {}).get("depth_m") for r in refs[str(folder / name)]["regions"]}
    # sofa: median of valid = 2 m; window: all holes; rug: 4 m; cat: 10 valid pixels of 300, too few.
    assert depths("room.jpg") == {"sofa": 2.0, "window": None, "rug": 4.0, "cat": None}
    assert depths("kitti.jpg") == {"sofa": 3.5, "window": 3.5, "rug": 3.5, "cat": 3.5}
    assert depths("float.jpg") == {"sofa": 1.25, "window": 1.25, "rug": 1.25, "cat": 1.25}


def test_a_csv_listing_names_depth_maps_and_tables_too(tmp_path):
    make_photo(tmp_path / "room.jpg", seed=1)
    _write_png16(tmp_path / "room.png", _depth_mm())
    make_photo(tmp_path / "chart.png", seed=2)
    (tmp_path / "chart.csv").write_text("year,visitors\n2019,1200\n")
    regions = json.dumps(_depth_line("room.jpg", "")["regions"])
    (tmp_path / "rows.csv").write_text(
        "file,depth_map,data_file,regions\n"
        f'room.jpg,"{{""file"": ""room.png"", ""scale"": 0.002}}",,"{regions.replace(chr(34), 2 * chr(34))}"\n'
        "chart.png,,chart.csv,\n")
    refs, rejects = _listed(_source(tmp_path, "manifest", tmp_path / "rows.csv"))
    assert rejects == {}
    # Millimetre values at 2 mm per unit: the sofa's median of 2000 units is 4 m.
    assert [r.get("attributes", {}).get("depth_m") for r in refs[str(tmp_path / "room.jpg")]["regions"]] == [
        4.0, None, 8.0, None]
    assert refs[str(tmp_path / "chart.png")]["data"] == {"columns": ["year", "visitors"], "rows": [[2019, 1200]]}


def test_unusable_depth_maps_reject_their_image(tmp_path):
    folder = tmp_path / "nyu"
    for i, name in enumerate(["small", "eight_bit", "gone", "outside", "plain"]):
        make_photo(folder / f"{name}.jpg", seed=i)
    _write_png16(folder / "small.png", np.full((60, 80), 1000))
    Image.fromarray(np.full((120, 160), 9, dtype=np.uint8)).save(folder / "eight_bit.png")
    _write_png16(tmp_path / "elsewhere.png", np.full((120, 160), 1000))
    write_sidecar(folder, [_depth_line("small.jpg", "small.png"), _depth_line("eight_bit.jpg", "eight_bit.png"),
                           _depth_line("gone.jpg", "gone.png"), _depth_line("outside.jpg", "../elsewhere.png")])
    refs, rejects = _listed(_source(tmp_path, "folder", folder))
    assert rejects == {str(folder / "small.jpg"): "depth_map_size", str(folder / "eight_bit.jpg"): "bad_depth_map",
                       str(folder / "gone.jpg"): "missing_file", str(folder / "outside.jpg"): "outside_source"}
    # The depth maps are annotations, like the sidecar: no row of their own.
    assert list(refs) == [str(folder / "plain.jpg")]


# --- chart tables --------------------------------------------------------------------------------

def test_chart_csv_becomes_the_data_table(tmp_path):
    folder = tmp_path / "charts"
    make_photo(folder / "sales.png", seed=1)
    make_photo(folder / "plain.png", seed=2)
    make_photo(folder / "indexed.png", seed=3)
    (folder / "sales.csv").write_text("Fruit sales in 2020\nfruit,Sales (tonnes)\napple,50\nbanana,20.5\n"
                                      "cherry,n/a\n\n")
    pd.DataFrame({"city": ["Oslo", "Rome"], "people": ["709,037", "2,750,000"]}).to_csv(folder / "indexed.csv")
    (folder / "plain.csv").write_text("year,visitors\n2019,1200\n2020,300,\n")
    write_sidecar(folder, [{"file": "sales.png", "group": "g", "data_file": "sales.csv"},
                           {"file": "plain.png", "group": "g",
                            "data_file": {"file": "plain.csv", "title": "Museum visitors", "unit": "thousands"}},
                           {"file": "indexed.png", "group": "g", "data_file": "indexed.csv"}])
    refs, rejects = _listed(_source(tmp_path, "folder", folder))
    assert refs[str(folder / "sales.png")]["data"] == {
        "title": "Fruit sales in 2020", "columns": ["fruit", "Sales (tonnes)"],
        "rows": [["apple", 50], ["banana", 20.5], ["cherry", "n/a"]]}
    plain = refs[str(folder / "plain.png")]
    assert plain["data"] == {"title": "Museum visitors", "columns": ["year", "visitors"],
                             "rows": [[2019, 1200], [2020, 300]]}
    assert plain["attributes"] == {"y_label": "visitors (thousands)"}
    # pandas' unnamed index column is left out; grouped thousands are numbers.
    assert refs[str(folder / "indexed.png")]["data"] == {"columns": ["city", "people"],
                                                        "rows": [["Oslo", 709037], ["Rome", 2750000]]}
    assert rejects == {} and len(refs) == 3   # the tables are annotations, not images


def test_chart_tables_that_do_not_parse_reject_their_chart(tmp_path):
    folder = tmp_path / "charts"
    for i, name in enumerate(["ragged", "latin1", "one_column", "gone", "both"]):
        make_photo(folder / f"{name}.png", seed=i)
    (folder / "ragged.csv").write_text("fruit,kg\napple,1\nbanana,2,3\n")
    (folder / "latin1.csv").write_bytes("fruit,kg\ncr\xe8me,1\n".encode("latin-1"))
    (folder / "one_column.csv").write_text("fruit\napple\n")
    (folder / "both.csv").write_text("fruit,kg\napple,1\n")
    table = {"columns": ["fruit", "kg"], "rows": [["apple", 1]]}
    write_sidecar(folder, [{"file": f"{n}.png", "data_file": f"{n}.csv"} for n in ["ragged", "latin1", "one_column", "gone"]]
                  + [{"file": "both.png", "data_file": "both.csv", "data": table}])
    refs, rejects = _listed(_source(tmp_path, "folder", folder))
    assert {k: v for k, v in rejects.items() if k.endswith(".png")} == {
        str(folder / "ragged.png"): "bad_chart_table", str(folder / "latin1.png"): "bad_chart_table",
        str(folder / "one_column.png"): "bad_chart_table", str(folder / "gone.png"): "missing_file",
        str(folder / "both.png"): "bad_metadata"}


# --- multi-view scenes ---------------------------------------------------------------------------

CENTRE = np.array([1.0, 2.0, 0.5])   # what every camera looks at, away from the origin


def _look_at(azimuth: float, elevation: float, radius: float = 4.0) -> list:
    """A Blender camera-to-world matrix (+Z up, the camera looking along its -Z) at the given
    azimuth (from +X towards +Y) and elevation around CENTRE."""
    a, e = math.radians(azimuth), math.radians(elevation)
    position = CENTRE + radius * np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    forward = (CENTRE - position) / np.linalg.norm(CENTRE - position)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = right, up, -forward, position
    return matrix.tolist()


def make_scene(folder) -> None:
    """A Blender-style scene: six train views at 30 degrees elevation every 60 degrees of azimuth
    (paths without extension), and test views: one high (azimuth 90, elevation 60), one NaN pose,
    one singular pose, one missing image, one outside the scene."""
    for k in range(6):
        make_photo(folder / "train" / f"r_{k}.png", seed=200 + k)
    make_photo(folder / "test" / "r_0.png", seed=300)
    make_photo(folder / "test" / "r_1.png", seed=301)
    make_photo(folder / "test" / "r_2.png", seed=302)
    train = {"camera_angle_x": 0.6911112070083618,
             "frames": [{"file_path": f"./train/r_{k}", "transform_matrix": _look_at(60 * k, 30)} for k in range(6)]}
    nan_pose = _look_at(10, 10)
    nan_pose[0][3] = float("nan")
    test = {"camera_angle_x": 0.6911112070083618,
            "frames": [{"file_path": "./test/r_0", "transform_matrix": _look_at(90, 60)},
                       {"file_path": "./test/r_1", "transform_matrix": nan_pose},
                       {"file_path": "./test/r_2", "transform_matrix": [[0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1],
                                                                        [0, 0, 0, 1]]},
                       {"file_path": "./test/r_9", "transform_matrix": _look_at(120, 30)},
                       {"file_path": "../elsewhere", "transform_matrix": _look_at(150, 30)}]}
    (folder / "transforms_train.json").write_text(json.dumps(train))
    (folder / "transforms_test.json").write_text(json.dumps(test))   # the NaN is written as JSON's NaN


def test_views_azimuth_and_elevation_about_the_look_at_point(tmp_path):
    scene = tmp_path / "scenes" / "chair"
    make_scene(scene)
    refs, rejects = _listed(_source(tmp_path, "views", tmp_path / "scenes"))
    cameras = {uri[len(str(scene)) + 1:]: m["camera"] for uri, m in refs.items()}
    assert cameras == {**{f"train/r_{k}.png": {"azimuth_deg": 60.0 * k, "elevation_deg": 30.0} for k in range(6)},
                       "test/r_0.png": {"azimuth_deg": 90.0, "elevation_deg": 60.0}}
    assert {m["group"] for m in refs.values()} == {"chair"}
    assert refs[str(scene / "train" / "r_1.png")]["attributes"] == {"fov_x_deg": 39.597755}
    assert rejects == {str(scene / "test" / "r_1.png"): "bad_pose", str(scene / "test" / "r_2.png"): "bad_pose",
                       str(scene / "test" / "r_9.png"): "missing_file",
                       str(tmp_path / "scenes" / "elsewhere.png"): "outside_source"}


Y_UP = np.array([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]])   # world z -> y, y -> -z


def test_views_find_a_y_up_world_and_follow_an_explicit_up(tmp_path):
    """The same scene in a y-up world: found as such, azimuths turn the same way (0 is now the
    +z axis, where the first camera is not: it sat on +x, now azimuth 90). Forced to +z, the
    first camera lies on its side (its picture rolled 90 degrees) and is rejected as rolled_camera,
    while the high test camera, upright (old (0, cos 60, sin 60) from the centre, new
    (0, sin 60, -cos 60)), reads as azimuth 90 at elevation -30."""
    scene = tmp_path / "chair"
    make_scene(scene)
    for name in ("transforms_train.json", "transforms_test.json"):
        data = json.loads((scene / name).read_text())
        for frame in data["frames"]:
            frame["transform_matrix"] = (Y_UP @ np.array(frame["transform_matrix"])).tolist()
        (scene / name).write_text(json.dumps(data))
    refs, _ = _listed(_source(tmp_path, "views", scene))
    assert {uri[len(str(scene)) + 1:]: m["camera"] for uri, m in refs.items()} == {
        **{f"train/r_{k}.png": {"azimuth_deg": (60.0 * k + 90) % 360, "elevation_deg": 30.0} for k in range(6)},
        "test/r_0.png": {"azimuth_deg": 180.0, "elevation_deg": 60.0}}
    forced, rejected = _listed(_source(tmp_path, "views", scene, up="+z"))
    assert rejected[str(scene / "train" / "r_0.png")] == "rolled_camera"
    assert forced[str(scene / "test" / "r_0.png")]["camera"] == {"azimuth_deg": 90.0, "elevation_deg": -30.0}


def test_azimuth_turns_counter_clockwise_about_the_chosen_up_axis():
    centre = np.zeros(3)
    # +z up: +x is azimuth 0 and +y is 90; a camera above the centre on +z is at elevation 90.
    assert camera_angles([0.0, 2.0, 0.0], centre, "+z") == (90.0, 0.0)
    assert camera_angles([0.0, -2.0, 2.0], centre, "+z") == (270.0, 45.0)
    # +y up (right-handed: +z is azimuth 0, +x is 90): the same camera is elsewhere.
    assert camera_angles([0.0, 2.0, 0.0], centre, "+y") == (0.0, 90.0)
    assert camera_angles([2.0, 0.0, 0.0], centre, "+y") == (90.0, 0.0)
    assert camera_angles(centre, centre, "+z") is None


def test_views_with_parallel_axes_have_no_centre(tmp_path):
    make_photo(tmp_path / "a.png", seed=1)
    make_photo(tmp_path / "b.png", seed=2)
    forward = np.eye(4)
    shifted = np.eye(4)
    shifted[0, 3] = 1.0
    (tmp_path / "transforms.json").write_text(json.dumps({"frames": [
        {"file_path": "a.png", "transform_matrix": forward.tolist()},
        {"file_path": "b.png", "transform_matrix": shifted.tolist()}]}))
    refs, rejects = _listed(_source(tmp_path, "views", tmp_path / "transforms.json"))
    assert refs == {} and rejects == {str(tmp_path / "a.png"): "bad_pose", str(tmp_path / "b.png"): "bad_pose"}


# --- a build from all four ------------------------------------------------------------------------

ROOMS = {"sofa": 1000, "lamp": 1600, "table": 2600, "plant": 4200, "piano": 6800, "clock": 11000}   # mm
SALES = {"apple": [50, 10, 15, 20, 40], "banana": [20, 60, 25, 10, 35], "cherry": [10, 20, 70, 30, 5],
         "date": [5, 30, 5, 80, 12]}


def make_rooms(folder) -> None:
    """Six photos, each with one object whose depth map (millimetres, a hole in one corner) puts it
    at a different distance."""
    lines = []
    for i, (label, millimetres) in enumerate(ROOMS.items()):
        make_photo(folder / f"{label}.jpg", seed=400 + i)
        depth = np.full((120, 160), millimetres, dtype=np.uint16)
        depth[:20, :20] = 0
        _write_png16(folder / "depth" / f"{label}.png", depth)
        lines.append({"file": f"{label}.jpg", "group": "rooms", "depth_map": f"depth/{label}.png",
                      "regions": [{"id": label, "label": label, "bbox": [0.1, 0.1, 0.5, 0.6]}]})
    write_sidecar(folder, lines)


def make_charts(folder) -> None:
    """Five charts over the same fruit, each with its CSV table (title line, header, rows)."""
    lines = []
    for k in range(5):
        make_photo(folder / f"sales_{k}.png", seed=500 + k)
        rows = "".join(f"{fruit},{values[k]}\n" for fruit, values in SALES.items())
        (folder / f"sales_{k}.csv").write_text(f"Fruit sold in market {k + 1}\nfruit,Sales (tonnes)\n{rows}")
        lines.append({"file": f"sales_{k}.png", "group": "fruit", "data_file": f"sales_{k}.csv"})
    write_sidecar(folder, lines)


def test_a_build_from_the_four_formats_yields_their_tasks(tmp_path):
    make_mot_sequence(tmp_path / "mot" / "TEST-01")
    make_rooms(tmp_path / "rooms")
    make_charts(tmp_path / "charts")
    make_scene(tmp_path / "scenes" / "chair")
    sources = [("tracks", "mot", "mot"), ("rooms", "folder", "rooms"), ("charts", "folder", "charts"),
               ("chair", "views", "scenes")]
    # The MOT fixture's people are 20 px wide: named only where the build allows boxes that small.
    (tmp_path / "m.yaml").write_text("seed: 3\ndrafter: {questions: {min_region_side: 16}}\nsources:\n" + "".join(
        f"  - {{name: {name}, kind: {kind}, location: {where}, licence: CC0-1.0, attribution: tests}}\n"
        for name, kind, where in sources))
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(tmp_path / "m.yaml"),
                           "--output", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    out = str(tmp_path / "out")
    tasks = {}
    for path in shard_paths(out):
        tasks.setdefault(shard_task(path), []).extend(sample["id"] for sample in iter_samples([path]))
    assert {"speed_comparison", "motion_detection", "depth_relationship", "view_3d", "chart_analysis"} <= set(tasks)
    table = pd.read_parquet(tmp_path / "out" / "images.parquet")
    img1 = tmp_path / "mot" / "TEST-01" / "img1"
    statuses = dict(zip(table["uri"], table["reason"].fillna(table["status"])))
    # Every file of the image folder, and the frame the ground truth names but lacks, has its row.
    assert {str(img1 / f"{f:06d}.jpg") for f in range(1, 14)} | {str(img1 / "notes.txt")} <= set(statuses)
    assert (statuses[str(img1 / "000003.jpg")], statuses[str(img1 / "000013.jpg")],
            statuses[str(img1 / "notes.txt")]) == ("bad_metadata", "missing_file", "unsupported_format")
    assert statuses[str(tmp_path / "scenes" / "chair" / "test" / "r_1.png")] == "bad_pose"
    # Depth maps and tables are annotations: no rows.
    assert not any(uri.endswith((".csv", "depth/sofa.png")) for uri in statuses)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert all(check["holds"] for check in report["conservation"].values())
