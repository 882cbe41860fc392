"""MOTChallenge tracks in, questions a viewer can answer out (issue 25): a generated MOT17 sequence of
pedestrians, two of them walking right at clearly different speeds among others who stand still,
built with `mir build`; the answers are worked out here from the walkers' speeds, and no text names
an object by its track id."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.readback.shards import iter_samples, shard_paths, shard_task
from tests.conftest import ROOT

WIDTH, HEIGHT = 640, 360
BOX = (40, 90)   # a pedestrian's box, in pixels


# Track id -> (start x, top y, speed in px/s) of the pedestrians: FAST walks right at 60 px/s, SLOW
# right at 24 px/s from further right and higher up (FAST overtakes it 4.4 s in), the rest stand
# still. Ids no time or count in a question could spell.
FAST, SLOW = 31, 47
WALKERS = {FAST: (40, 230, 60), SLOW: (200, 40, 24), 58: (520, 20, 0), 62: (110, 60, 0), 73: (380, 250, 0)}
STILL_CROWD = {track: (x, y, 0) for track, (x, y, _) in WALKERS.items()}


def make_walkers(folder, fps: int = 10, frames: int = 60, walkers: dict = WALKERS) -> None:
    """A MOT17 sequence of ``frames`` frames at ``fps``: seqinfo.ini, img1/ (each frame drawn with its
    pedestrians) and gt/gt.txt (class 1, visibility 1)."""
    (folder / "img1").mkdir(parents=True)
    (folder / "gt").mkdir()
    (folder / "seqinfo.ini").write_text(f"[Sequence]\nname={folder.name}\nimDir=img1\nframeRate={fps}\n"
                                        f"seqLength={frames}\nimWidth={WIDTH}\nimHeight={HEIGHT}\nimExt=.jpg\n")
    background = (np.random.default_rng(1).random((9, 16, 3)) * 120 + 60).astype("uint8")
    lines = []
    for f in range(1, frames + 1):
        image = Image.fromarray(background).resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(image)
        for track, (x, y, speed) in sorted(walkers.items()):
            left = round(x + speed * (f - 1) / fps)
            draw.rectangle([left, y, left + BOX[0], y + BOX[1]], fill=(30 + 15 * track, 40, 200 - 10 * track))
            lines.append(f"{f},{track},{left},{y},{BOX[0]},{BOX[1]},1,1,1.0")
        image.save(folder / "img1" / f"{f:06d}.jpg", quality=90)
    (folder / "gt" / "gt.txt").write_text("\n".join(lines) + "\n")


def build(tmp_path, **source) -> tuple:
    """(samples by task, draft rejects, the finished process) of a `mir build` of tmp_path/mot with
    the two motion tasks."""
    options = "".join(f", {key}: {value}" for key, value in source.items())
    (tmp_path / "m.yaml").write_text(
        "seed: 3\nsources:\n  - {name: tracks, kind: mot, location: mot, licence: CC0-1.0, attribution: tests, "
        f"tasks: [motion_detection, speed_comparison]{options}}}\n")
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "build", "--manifest", str(tmp_path / "m.yaml"),
                           "--output", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "Traceback" not in done.stderr, done.stderr
    samples = {}
    for path in shard_paths(str(tmp_path / "out")) if done.returncode == 0 else []:
        samples.setdefault(shard_task(path), []).extend(iter_samples([path]))
    rejects_file = tmp_path / "out" / "rejects" / "draft.jsonl"
    rejects = [json.loads(line) for line in rejects_file.read_text().splitlines()] if rejects_file.exists() else []
    return samples, rejects, done


def _where(track: int, seconds: float) -> tuple:
    """The centre (x, y) in pixels of a walker at ``seconds``, as make_walkers draws it."""
    x, y, speed = WALKERS[track]
    return x + speed * seconds + BOX[0] / 2, y + BOX[1] / 2


def _fast_walker_words(question: str, options: list) -> str:
    """The words the options use for FAST: the two walkers told apart where the question says, in the
    frame it names ("tell them apart by where they are in the frame taken at 3 s")."""
    seconds = float(re.search(r"(?:told apart by|tell them apart by) where they are in the frame taken at ([\d.]+) s",
                              question).group(1))
    (fx, fy), (sx, sy) = _where(FAST, seconds), _where(SLOW, seconds)
    if "the one further left" in options:
        return "the one further left" if fx < sx else "the one further right"
    assert "the lower one" in options and fy > sy   # FAST walks below SLOW
    return "the lower one"


@pytest.fixture(scope="module")
def walkers_build(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("walkers")
    make_walkers(tmp_path / "mot" / "WALK-01")
    return build(tmp_path, frame_step=5)   # 10 fps: frames 0.5 s apart


def test_two_walkers_among_people_standing_give_motion_and_speed_questions(walkers_build):
    samples, rejects, done = walkers_build
    assert done.returncode == 0, done.stdout + done.stderr
    assert {"motion_detection", "speed_comparison"} <= set(samples), (samples.keys(), rejects)
    for sample in (s for asked in samples.values() for s in asked):
        options = {o["label"]: o["text"] for o in sample["options"]}
        # "Two of the pedestrians move ...; the other pedestrians stay where they are": the set asked about
        # is the walkers, named by what the frames show.
        assert "Two of the pedestrians move between" in sample["question"], sample["question"]
        assert sorted(options.values()) in (["the one further left", "the one further right"],
                                            ["the higher one", "the lower one"])
        # Over the same frames the faster walker covers more ground: the answer either task must give.
        assert options[sample["answer"]] == _fast_walker_words(sample["question"], list(options.values()))
        assert sample["ground_truth"]["verified"] is True


_TRACK_IDS = re.compile(r"#\s*\d|\b(?:" + "|".join(str(t) for t in WALKERS) + r")\b")


def test_no_text_names_an_object_by_its_track_id(walkers_build):
    samples, _, _ = walkers_build
    for sample in (s for asked in samples.values() for s in asked):
        reasoning = sample["reasoning"]
        texts = [sample["question"], *(o["text"] for o in sample["options"]), *reasoning["captions"],
                 reasoning["summary"], reasoning["conclusion"], *(e["text"] for e in reasoning["text2region"]),
                 *(e["label"] for e in reasoning["text2region"]),
                 *(e["explanation"] for e in reasoning["region2region"])]
        assert not [t for t in texts if _TRACK_IDS.search(t)], [t for t in texts if _TRACK_IDS.search(t)]


@pytest.mark.parametrize("walkers, fps, step", [(STILL_CROWD, 10, 5), (WALKERS, 30, 1)],
                         ids=["still crowd", "walkers at 30 fps, every frame"])
def test_too_little_motion_is_the_reject_reason(tmp_path, walkers, fps, step):
    """People standing still, and walkers seen in consecutive frames of a 30 fps clip (FAST moves 10 px
    over six frames, 1.6% of the width), give no question, and the rejects say why."""
    make_walkers(tmp_path / "mot" / "SEQ-01", fps=fps, frames=12 * step, walkers=walkers)   # 12 frames used
    samples, rejects, _ = build(tmp_path, frame_step=step)
    assert samples == {}
    assert rejects and {r["reason"] for r in rejects} == {"too_little_motion"}
    assert all("too little motion" in r["detail"] and "frame_step" in r["detail"] for r in rejects)
