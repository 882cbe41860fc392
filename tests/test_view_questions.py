"""view_3d questions a viewer can decide (issue 25): options at least drafter.questions'
view_min_degrees apart the short way round the circle, turns stated the short way (at most 180
degrees, clockwise or counterclockwise), cameras far apart in elevation not compared by azimuth
alone, rolled frames rejected, and a warning (a ``narrow_scene`` record, which mir build prints)
for a scene whose cameras cover less than half a circle. Scenes are written as NeRF
transforms.json and built with `mir build`; the rules at their edges are checked on TaskContexts.
Expected turns and gaps are worked out here from the cameras' azimuths, not by view_3d's own
helpers."""
import itertools
import json
import math
import random
import re

import numpy as np
import pandas as pd

from conftest import make_photo
from pipeline.cli import main
from pipeline.manifest import parse_manifest
from pipeline.readback.shards import iter_samples, shard_paths
from pipeline.sources import list_source
from pipeline.tasks.base import TaskContext, question_defaults
from pipeline.tasks.view_3d import TASK, circle_order, turn_to_view, view_after_turn

SIZE = (64, 48)
START = " is the view the camera starts from"
REFERENCE = " is what it sees after "
# A stated turn: "20 degrees clockwise", "a 20-degree counterclockwise circle", "180 degrees, half way round".
STATED = re.compile(r"(\d+(?:\.\d+)?)(?: degrees |-degree )(clockwise|counterclockwise)"
                    r"|(180)(?: degrees,|-degree circle,) half way round")


# --- scenes in the NeRF layout ---------------------------------------------------------------------

def _camera(azimuth: float, elevation: float, roll: float = 0.0) -> list:
    """A Blender camera-to-world matrix (+Z up, looking along its -Z) at ``azimuth`` (from +X towards
    +Y) and ``elevation`` around the origin, turned ``roll`` degrees about its viewing axis."""
    a, e, r = (math.radians(v) for v in (azimuth, elevation, roll))
    position = 4.0 * np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    forward = -position / np.linalg.norm(position)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    matrix = np.eye(4)
    matrix[:3, 0] = math.cos(r) * right + math.sin(r) * up
    matrix[:3, 1] = -math.sin(r) * right + math.cos(r) * up
    matrix[:3, 2], matrix[:3, 3] = -forward, position
    return matrix.tolist()


def _write_scene(folder, cameras: list) -> dict:
    """A transforms.json scene of (azimuth, elevation, roll) cameras; {image path: azimuth}."""
    frames, azimuths = [], {}
    for k, (azimuth, elevation, roll) in enumerate(cameras):
        path = make_photo(folder / "train" / f"r_{k}.png", seed=1000 * len(cameras) + k, size=SIZE)
        azimuths[str(path)] = azimuth
        frames.append({"file_path": f"./train/r_{k}", "transform_matrix": _camera(azimuth, elevation, roll)})
    (folder / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.69, "frames": frames}))
    return azimuths


def _source(folder, name="scene"):
    entry = {"name": name, "kind": "views", "location": str(folder), "licence": "CC0-1.0", "attribution": "tests"}
    return parse_manifest({"sources": [entry]}, str(folder)).sources[0]


def _listed(folder):
    items = list(list_source(_source(folder)))
    return ({i.uri: i.metadata for i in items if not isinstance(i, dict)},
            {r["subject"]: (r["reason"], r["detail"]) for r in items if isinstance(r, dict)})


def _narrow(source: str, scene: str, degrees: str) -> str:
    return (f"source {source!r}: scene {scene!r}: its cameras cover {degrees} degrees of azimuth, less than half a "
            "circle; few of its views are far enough apart for view questions")


def test_a_scene_covering_92_degrees_is_warned_of_once_and_still_listed(tmp_path):
    _write_scene(tmp_path / "narrow", [(4 * k, 25, 0) for k in range(23)] + [(92, 25, 0)])
    refs, rejects = _listed(tmp_path / "narrow")
    assert len(refs) == 24
    assert rejects == {str(tmp_path / "narrow"): ("narrow_scene", _narrow("scene", "narrow", "92"))}


def test_coverage_is_measured_across_zero_and_a_half_circle_is_no_warning(tmp_path):
    """Cameras at 300..360 and 0..120 cover 180 degrees (the widest gap, 120 to 300, is outside them),
    though their azimuths run from 0 to 357: neither that span nor the gap decides it."""
    _write_scene(tmp_path / "wrapped", [(a, 20, 0) for a in (300, 330, 357, 10, 60, 120)])
    refs, rejects = _listed(tmp_path / "wrapped")
    assert len(refs) == 6 and rejects == {}
    _write_scene(tmp_path / "short", [(a, 20, 0) for a in (300, 330, 357, 10, 60, 119.5)])
    assert _listed(tmp_path / "short")[1] == {str(tmp_path / "short"): ("narrow_scene", _narrow("scene", "short",
                                                                                                "179.5"))}


def test_a_rolled_camera_is_rejected_and_a_slightly_rolled_one_kept(tmp_path):
    azimuths = _write_scene(tmp_path / "s", [(0, 20, 0), (60, 20, 35), (120, 20, -10), (180, 20, 180), (240, 20, 0)])
    refs, rejects = _listed(tmp_path / "s")
    paths = sorted(azimuths)
    assert sorted(refs) == [paths[0], paths[2], paths[4]]
    assert rejects[paths[1]] == ("rolled_camera", "transforms.json frame 1: the camera rolls 35 degrees (more than 20): "
                                                  "turns read otherwise in a tilted picture")
    assert rejects[paths[3]][0] == "rolled_camera" and "rolls 180 degrees" in rejects[paths[3]][1]


# --- a build: every view question, checked against the cameras ------------------------------------

def _stated_turns(text: str) -> list:
    """Every turn a text states, as (size in degrees, "clockwise" | "counterclockwise" | None at 180)."""
    return [(float(m.group(1)), m.group(2)) if m.group(1) else (180.0, None) for m in STATED.finditer(text)]


def _short_way(start: float, end: float) -> float:
    """The turn from azimuth ``start`` to ``end`` the short way: counterclockwise positive, in (-180, 180]."""
    turn = (end - start) % 360
    return turn - 360 if turn > 180 else turn


def _rounded(degrees: float, places: int) -> float:
    """Half up, as a reader rounds (Python's round() goes to the even neighbour: 18.5 -> 18)."""
    return math.floor(degrees * 10 ** places + 0.5) / 10 ** places


def _signed(size: float, way) -> float:
    return -size if way == "clockwise" else size


def _gap(a: float, b: float) -> float:
    return abs(_short_way(a, b))


def _own_image(question: str, opening: str) -> int:
    return next(k for k, part in enumerate(question.split("<image>")) if k and part.startswith(opening))


def _checked_views(question: str, options: list, answer: str, azimuth: list, places: int) -> list:
    """Checks what a view question states against the cameras (``azimuth`` per image) and returns
    the azimuths of the views its options stand for."""
    start = _own_image(question, START)
    if options[0].startswith("Image "):               # view_after_turn: the views themselves
        (size, way), = _stated_turns(question)
        target = int(answer.split()[1])
        assert _rounded(abs(_short_way(azimuth[start - 1], azimuth[target - 1])), places) == size
        assert way is None or _signed(size, way) * _short_way(azimuth[start - 1], azimuth[target - 1]) > 0
        return [azimuth[int(o.split()[1]) - 1] for o in options]
    if "," in options[0]:                             # circle_order: every view is ordered
        assert _stated_turns(question) == []
        return list(azimuth)
    reference = _own_image(question, REFERENCE)       # turn_to_view: turns from the start
    target = int(re.search(r"as in Image (\d+)\?", question).group(1))
    for image, text in ((reference, question.split("<image>")[reference]), (target, answer)):
        (size, way), = _stated_turns(text.split(". ")[0])
        true = _short_way(azimuth[start - 1], azimuth[image - 1])
        assert _rounded(abs(true), places) == size and (way is None or _signed(size, way) * true > 0), (text, true)
    views = []
    for option in options:
        (size, way), = _stated_turns(option)
        assert way is not None                        # no option is the turn either way leads to
        views.append(azimuth[start - 1] + _signed(size, way))
    return views


def _build(tmp_path, cameras_by_scene: dict, view_min_degrees=None) -> tuple:
    """Build the scenes (one views source each) with mir build; (view_3d samples, {uri: azimuth},
    images.parquet). The build must succeed."""
    azimuths, lines = {}, []
    for name, cameras in cameras_by_scene.items():
        azimuths.update(_write_scene(tmp_path / name, cameras))
        lines.append(f"  - {{name: {name}, kind: views, location: {tmp_path / name}, licence: CC0-1.0, "
                     "attribution: tests, tasks: [view_3d]}\n")
    questions = f"drafter: {{questions: {{view_min_degrees: {view_min_degrees}}}}}\n" if view_min_degrees else ""
    (tmp_path / "m.yaml").write_text(f"seed: 5\ngrouping: {{min_images: 4, target_images: 7}}\n{questions}"
                                     "sources:\n" + "".join(lines))
    assert main(["build", "--manifest", str(tmp_path / "m.yaml"), "--output", str(tmp_path / "out"), "--quiet"]) == 0
    samples = [s for s in iter_samples(shard_paths(str(tmp_path / "out"))) if s["task"] == "view_3d"]
    return samples, azimuths, pd.read_parquet(tmp_path / "out" / "images.parquet")


def _scene_cameras(seed: int, count: int, span: float) -> list:
    """``count`` cameras at azimuths drawn over ``span`` degrees (some pairs a few degrees apart,
    half degrees among them) and elevations 15 to 30."""
    rng = random.Random(seed)
    return [(round(rng.uniform(0, span) * 2) / 2, rng.uniform(15, 30), 0) for _ in range(count)]


def _smallest_gaps(samples, azimuths, places) -> list:
    gaps = []
    for sample in samples:
        azimuth = [azimuths[facts["uri"]] for facts in sample["image_facts"]]
        texts = [o["text"] for o in sample["options"]]
        answer = next(o["text"] for o in sample["options"] if o["label"] == sample["answer"])
        views = _checked_views(sample["question"], texts, answer, azimuth, places)
        gaps.append(min(_gap(a, b) for a, b in itertools.combinations(views, 2)))
        stated = _stated_turns(" ".join([sample["question"], *texts, sample["reasoning"]["conclusion"]]))
        assert all(size <= 180 for size, _ in stated), stated
    return gaps


def test_built_view_questions_keep_their_options_apart_and_turn_the_short_way(tmp_path, capsys):
    cameras = {"ring": _scene_cameras(1, 42, 360) + [(45, 20, 40)], "arc": _scene_cameras(2, 21, 92) + [(0, 20, 0),
                                                                                                       (92, 20, 0)]}
    samples, azimuths, images = _build(tmp_path, cameras)
    gaps = _smallest_gaps(samples, azimuths, places=0)
    assert len(samples) >= 8 and min(gaps) >= 15, (len(samples), sorted(gaps)[:5])
    assert {"view_after_turn", "turn_to_view"} <= {s["provenance"]["template"] for s in samples}
    rolled = images[images["uri"] == str(tmp_path / "ring" / "train" / "r_42.png")]
    assert list(rolled["reason"]) == ["rolled_camera"]
    assert [line for line in capsys.readouterr().err.splitlines() if "warning" in line] == [
        f"mir: warning: {_narrow('arc', 'arc', '92')}"]


def test_a_finer_setting_lets_options_come_closer_but_never_under_it(tmp_path):
    samples, azimuths, _ = _build(tmp_path, {"ring": _scene_cameras(1, 42, 360)}, view_min_degrees=10)
    gaps = _smallest_gaps(samples, azimuths, places=0)
    assert min(gaps) >= 10 and any(gap < 15 for gap in gaps), sorted(gaps)[:5]


# --- the rules at their edges, on contexts ------------------------------------------------------------

def _context(azimuths, elevations=None, **questions) -> TaskContext:
    elevations = elevations or [20] * len(azimuths)
    metadata = tuple({"camera": {"azimuth_deg": a, "elevation_deg": e}} for a, e in zip(azimuths, elevations))
    return TaskContext(task="view_3d", metadata=metadata, transforms=(None,) * len(metadata),
                       sizes=(SIZE,) * len(metadata), questions={**question_defaults(), **questions})


def _questions(template, ctx, draws=200) -> list:
    return [q for q in (template(ctx, random.Random(k)) for k in range(draws)) if q is not None]


def _drawn(question, start: int, target: int) -> bool:
    return _own_image(question.text, START) == start and question.answer == f"Image {target}"


def test_a_340_5_degree_turn_is_stated_as_a_short_clockwise_one():
    """From azimuth 0 to 340.5 the camera turns 19.5 degrees clockwise: whole degrees at the default
    margin (rounded half up, 20), tenths when the margin is finer than 2 degrees; 18.5 rounds up to 19."""
    for questions, wanted in (({}, "20 degrees clockwise"), ({"view_min_degrees": 1}, "19.5 degrees clockwise")):
        ctx = _context([0, 340.5, 120, 200], **questions)
        question = next(q for q in _questions(view_after_turn, ctx) if _drawn(q, 1, 2))
        assert f"it then circles the object {wanted} (seen from above)" in question.text
        assert wanted in question.rationale and "340" not in question.text + question.rationale + question.summary
    question = next(q for q in _questions(view_after_turn, _context([0, 18.5, 120, 200])) if _drawn(q, 1, 2))
    assert "circles the object 19 degrees counterclockwise (seen from above)" in question.text


def test_a_half_circle_turn_names_no_direction_and_is_never_an_option():
    ctx = _context([0, 180, 90, 250, 310])
    question = next(q for q in _questions(view_after_turn, ctx) if _drawn(q, 1, 2))
    assert "it then circles the object 180 degrees, half way round, keeping" in question.text
    assert not re.search(r"\bclockwise|counterclockwise", question.text.split("<image>")[1].split(".")[0])
    for question in _questions(turn_to_view, ctx):
        assert not any("180" in option for option in [question.answer, *question.distractors])


def test_options_closer_than_the_margin_give_no_question_rather_than_a_near_duplicate():
    """Views 10 degrees apart: at the default 15, whichever is the start, no two of the others are
    apart from it and from each other, and one option is no question; at 10 all three others may be."""
    assert _questions(view_after_turn, _context([0, 10, 20, 30])) == []
    assert {len(q.distractors) for q in _questions(view_after_turn, _context([0, 10, 20, 30], view_min_degrees=10))
            if _own_image(q.text, START) == 1} == {2}
    assert circle_order(_context([0, 90, 104, 200]), random.Random(0)) is None
    assert circle_order(_context([0, 90, 105, 200]), random.Random(0)) is not None


def test_every_pair_of_options_is_apart_the_short_way_round():
    """Views at 350 and 5 are 15 degrees apart across 0 (not 345), 350 and 2 only 12: a rule comparing
    the numbers as they are, or checking only the answer against each distractor, lets 350 and 2 in."""
    for template in (view_after_turn, turn_to_view):
        ctx = _context([100, 350, 5, 2, 200, 260])
        together = False
        for question in _questions(template, ctx):
            azimuth = [m["camera"]["azimuth_deg"] for m in ctx.metadata]
            views = _checked_views(question.text, [question.answer, *question.distractors], question.answer,
                                   azimuth, places=0)
            assert all(_gap(a, b) >= 15 for a, b in itertools.combinations(views, 2)), views
            together |= {350, 5} <= {round(v % 360) for v in views}
        assert together, template.__name__


def test_cameras_far_apart_in_elevation_are_not_compared_by_azimuth():
    """A camera at 75 degrees (looking down on the object) among cameras at 20 and 50: it is never
    the start, an option or the reference, and no order of all the views is asked; the camera at 50
    is 30 above the others, within the bound, and one at 51 is not."""
    ctx = _context([0, 60, 120, 180, 240, 300], [20, 20, 75, 20, 50, 20])
    for template in (view_after_turn, turn_to_view):
        for question in _questions(template, ctx):
            used = set(re.findall(r"Image (\d)", " ".join([question.text, question.answer, *question.distractors])))
            roles = {k for k, part in enumerate(question.text.split("<image>")) if k and "another view" not in part
                     and "one more view" not in part and "further view" not in part}
            assert "3" not in used and 3 not in roles, question.text
    assert circle_order(ctx, random.Random(0)) is None
    assert any("5" in [q.answer[-1], *(d[-1] for d in q.distractors)] for q in _questions(view_after_turn, ctx))
    higher = _context([0, 60, 120, 180, 240, 300], [20, 20, 75, 20, 51, 20])
    assert not any("5" in [q.answer[-1], *(d[-1] for d in q.distractors)] for q in _questions(view_after_turn, higher))


def test_no_stated_turn_exceeds_180_over_varied_contexts():
    rng = random.Random(3)
    stated = []
    for _ in range(150):
        ctx = _context([round(rng.uniform(0, 360), 1) for _ in range(rng.randint(4, 7))])
        for template in TASK.templates:
            question = template(ctx, random.Random(rng.random()))
            if question:
                stated += _stated_turns(" ".join([question.text, question.answer, *question.distractors,
                                                  question.rationale]))
    assert stated and max(size for size, _ in stated) <= 180
    assert {"clockwise", "counterclockwise"} <= {way for _, way in stated}
