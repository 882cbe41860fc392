"""Behaviours a small change to the code that decides answers, splits, difficulty and rejects could
break without any other test noticing. Every expected value here is a literal or is worked out in
the test from the fixture, never by the function under test; every fixture is chosen so that the
plausible wrong rules (a box's edge for its centre, the complement of a share, ``<`` for ``<=``)
give a different answer from the right one."""
import collections
import dataclasses
import hashlib
import os
import random
import re

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import region
from mir_fixtures import mir_record, sample_record, write_images

from pipeline.difficulty.heuristic import heuristic_difficulty, heuristic_level
from pipeline.drafters.options import label_options
from pipeline.images.near_duplicates import closest_match
from pipeline.manifest import Source
from pipeline.records import HashedImage
from pipeline.samples.judge import ImageChecker, validate_record
from pipeline.stages.group_contexts import GroupContexts, chunk_sizes, split_of, window_starts
from pipeline.stages.score_difficulty import ScoreDifficulty
from pipeline.stages.validate import Validate
from pipeline.tasks import TASKS
from pipeline.tasks.base import TaskContext

SOURCES = {"gen": Source(name="gen", kind="folder", location="/gen", licence="CC0-1.0", attribution="tests",
                         dedup_scope="global", tasks=("location_relationship",))}


def _image(name: str, metadata: dict) -> HashedImage:
    return HashedImage(id=hashlib.sha256(name.encode()).hexdigest(), uri=f"/gen/{name}.jpg", source="gen",
                       width=200, height=150, phash="0" * 16, metadata=dict(metadata, file=f"{name}.jpg"))


# --- splits ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.1, 0.3])
def test_the_test_split_holds_test_fraction_of_the_keys(fraction):
    """2000 keys of their own: the test share is within 0.03 of ``test_fraction`` (more than four
    standard deviations of a fair draw at this size); the complement, or a share ignoring the
    fraction, is far outside."""
    images = [_image(f"k{n}", {}) for n in range(2000)]
    share = sum(split_of(image, 7, fraction) == "test" for image in images) / len(images)
    assert abs(share - fraction) <= 0.03, share
    assert {split_of(image, 7, 0.0) for image in images} == {"train"}
    assert {split_of(image, 7, 1.0) for image in images} == {"test"}


def test_the_split_follows_the_seed():
    """Another seed draws other splits: of 400 keys at a share of 0.5, about half change."""
    images = [_image(f"s{n}", {}) for n in range(400)]
    changed = sum(split_of(image, 7, 0.5) != split_of(image, 8, 0.5) for image in images)
    assert 140 <= changed <= 260, changed


def test_split_follows_the_sequence_then_the_group_then_the_image():
    """Images sharing a sequence (or else a group) share a split whatever their ids; the sequence
    outranks the group."""
    def split(name, **metadata):
        return split_of(_image(name, metadata), 3, 0.5)
    for key in ("a", "b", "c", "d", "e", "f"):
        assert len({split(f"{key}{n}", sequence=f"seq-{key}", group=f"g{n}") for n in range(12)}) == 1
        assert len({split(f"{key}{n}", group=f"grp-{key}") for n in range(12)}) == 1
    # Without either, each image is its own key: 40 images do not all land in one split.
    assert len({split(f"solo{n}") for n in range(40)}) == 2


def test_group_contexts_cuts_test_fraction_of_the_groups_into_test():
    """400 groups of four photos, test_fraction 0.25: the share of groups whose context is in the
    test split is within 0.08 of 0.25 (about 3.5 standard deviations), each group in one split."""
    grouping = {"min_images": 4, "target_images": 4, "max_images": 4, "test_fraction": 0.25}
    images = [_image(f"g{g}_{k}", {"group": f"g{g}", "regions": [region(f"thing {k}", [0.1 + 0.2 * k, 0.1, 0.2 + 0.2 * k, 0.3])]})
              for g in range(400) for k in range(4)]

    def check(contexts):
        by_group = collections.defaultdict(set)
        for c in contexts:
            by_group[c.group].add(c.split)
        assert len(by_group) == 400 and all(len(s) == 1 for s in by_group.values())
        share = sum(s == {"test"} for s in by_group.values()) / 400
        assert abs(share - 0.25) <= 0.08, share

    with TestPipeline() as p:
        contexts = (p | beam.Create(images) | GroupContexts(SOURCES, 5, grouping))["contexts"]
        assert_that(contexts | beam.Filter(lambda c: c.task == "location_relationship"), check)


@pytest.mark.parametrize("n, target, sizes", [
    (3, 6, []), (4, 6, [4]), (8, 6, [8]), (13, 6, [7, 6]),
    (16, 6, [6, 5, 5]),         # 16 / 6 rounds to 3 contexts (flooring would make two of 8)
    (17, 6, [6, 6, 5]), (21, 6, [6, 5, 5, 5]),
    (9, 2, [5, 4]),             # target 2 < min 4: fewer, larger contexts, none under 4
    (30, 20, [8, 8, 7, 7]),     # target 20 > max 8: more, smaller contexts, none over 8
    (16, 16, [8, 8]),           # one step up from one context is enough
    (7, 2, [7]),                # down all the way to one context
    (10, 3, [5, 5]),            # one step down from three
])
def test_contexts_are_cut_near_the_target_within_the_bounds(n, target, sizes):
    """Sizes worked out by hand: k = n / target rounded, raised while a context would exceed the
    maximum, lowered while one would fall under the minimum; the remainder spread from the first."""
    assert chunk_sizes(n, target, 4, 8) == sizes


# --- location_relationship: centres, not edges -----------------------------------------------------

# Boxes of different sizes, so a box's centre, its near edge and its far edge each rank the images
# differently: by centre image 2 is the most left and up (0.25) and image 3 the most right and down
# (0.70); by the left/top edge image 1 (0.00) is; by the right/bottom edge image 1 (0.90) is.
UNEVEN = ([0.00, 0.00, 0.90, 0.90], [0.20, 0.20, 0.30, 0.30], [0.55, 0.55, 0.85, 0.85])


def _location_context(boxes) -> TaskContext:
    metadata = tuple({"regions": [region(f"item {chr(97 + i)}", box)]} for i, box in enumerate(boxes))
    # 800 x 600: the smallest box, 0.1 of a side, is 60 px, over the default min_region_side of 32.
    return TaskContext(task="location_relationship", metadata=metadata, transforms=(None,) * len(boxes),
                       sizes=((800, 600),) * len(boxes))


def _template(name: str):
    return next(t for t in TASKS["location_relationship"].templates if t.__name__ == name)


@pytest.mark.parametrize("name, answer", [("leftmost_object", "Image 2"), ("highest_object", "Image 2"),
                                          ("rightmost_object", "Image 3"), ("lowest_object", "Image 3")])
def test_extremes_compare_box_centres(name, answer):
    question = _template(name)(_location_context(UNEVEN), random.Random(0))
    assert question.answer == answer
    assert sorted(question.distractors) == sorted({"Image 1", "Image 2", "Image 3"} - {answer})


@pytest.mark.parametrize("name", ["leftmost_object", "highest_object", "rightmost_object", "lowest_object"])
def test_an_extreme_needs_three_named_objects(name):
    assert _template(name)(_location_context(UNEVEN[:2]), random.Random(0)) is None
    assert _template(name)(_location_context(UNEVEN), random.Random(0)) is not None


def test_an_extreme_too_close_to_call_asks_nothing():
    """Centres 0.04 apart (under the 0.05 margin) give no question; 0.06 apart give one."""
    def boxes(gap):
        return ([0.10, 0.1, 0.20, 0.2], [0.10 + gap, 0.1, 0.20 + gap, 0.2], [0.60, 0.1, 0.70, 0.2])
    assert _template("leftmost_object")(_location_context(boxes(0.04)), random.Random(0)) is None
    assert _template("leftmost_object")(_location_context(boxes(0.06)), random.Random(0)).answer == "Image 1"


# A reference and four others, one clearly in each quadrant of it by box centres; item a's box is
# large and starts at the corner, so by left/top edges it would be higher and further left of the
# reference instead of lower and further right.
QUADRANT_BOXES = ([0.25, 0.25, 0.35, 0.35], [0.0, 0.0, 0.9, 0.9], [0.05, 0.05, 0.15, 0.15], [0.0, 0.6, 0.1, 0.7],
                  [0.6, 0.0, 0.7, 0.1])


def _by_rule(boxes, ref: int, where: str, point, listed) -> list:
    """Images (1-based, among ``listed``) whose ``point(box)`` lies ``where`` of the reference's, by
    at least 0.1 on each axis."""
    vertical, horizontal = where.split(" and further ")
    out = []
    for i, box in enumerate(boxes, start=1):
        (x, y), (rx, ry) = point(box), point(boxes[ref - 1])
        dy, dx = (y - ry) * (1 if vertical == "lower" else -1), (x - rx) * (1 if horizontal == "right" else -1)
        if i in listed and dx >= 0.1 and dy >= 0.1:
            out.append(i)
    return out


def test_relative_position_compares_centres_each_axis_with_itself():
    """The answer is the one image whose object's centre lies in the asked quadrant of the
    reference's centre; comparing left/top edges, or x with y, would give other answers."""
    def centre(b):
        return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2

    def edges(b):
        return b[0], b[1]

    def swapped(b):
        return centre(b)[::-1]

    ctx = _location_context(QUADRANT_BOXES)
    others_differ = {"edges": 0, "swapped": 0}
    for seed in range(24):
        question = _template("relative_position")(ctx, random.Random(seed))
        ref = int(re.search(r"in Image (\d)\?", question.text).group(1))
        where = re.search(r"sits (\w+ and further \w+) in its own image", question.text).group(1)
        listed = [k for k, part in enumerate(question.text.split("<image>")[1:], start=1)
                  if part.startswith(" shows one of them")]
        answer = [int(question.answer.split()[-1])]
        assert _by_rule(QUADRANT_BOXES, ref, where, centre, listed) == answer, question.text
        for rule, point in (("edges", edges), ("swapped", swapped)):
            others_differ[rule] += _by_rule(QUADRANT_BOXES, ref, where, point, listed) != answer
    assert all(others_differ.values()), others_differ


# --- the heuristic difficulty ----------------------------------------------------------------

def _with_relations(pairs) -> dict:
    """A sample whose region2region links the image pairs given."""
    def ref(i):
        return {"image": i, "label": f"thing {i}", "bbox": [0.1, 0.1, 0.2, 0.2]}
    return {"reasoning": {"region2region": [{"from": ref(a), "to": ref(b), "relation": "left of",
                                             "explanation": "x"} for a, b in pairs]}}


@pytest.mark.parametrize("pairs, level", [
    ([], "easy"),
    ([(1, 2)], "easy"),
    ([(1, 2), (2, 3), (1, 3)], "easy"),             # three images, three relations: the limits
    ([(1, 2), (2, 3), (3, 4)], "hard"),             # four images
    ([(1, 2), (2, 1), (1, 2), (2, 1)], "hard"),     # two images, four relations
    ([(1, 1), (1, 1), (1, 1)], "easy"),
    ([(1, 2), (3, 4)], "hard"),
])
def test_heuristic_levels(pairs, level):
    sample = _with_relations(pairs)
    assert heuristic_level(sample) == level
    assert heuristic_difficulty(sample) == {"level": level, "pass_rate": None, "samples": 0, "method": "heuristic:v1"}


def test_score_difficulty_without_a_solver_stamps_the_heuristic_levels():
    easy, hard = sample_record(), sample_record()
    easy["id"], hard["id"] = "location_relationship-00000000000000e1", "location_relationship-00000000000000f2"
    easy["difficulty"] = hard["difficulty"] = None
    hard["reasoning"] = dict(hard["reasoning"], region2region=_with_relations([(1, 2), (2, 3), (3, 1), (1, 2)])[
        "reasoning"]["region2region"])
    with TestPipeline() as p:
        scored = (p | beam.Create([easy, hard]) | ScoreDifficulty())["samples"]
        assert_that(scored | beam.Map(lambda s: (s["id"], s["difficulty"]["level"], s["difficulty"]["method"])),
                    equal_to([(easy["id"], "easy", "heuristic:v1"), (hard["id"], "hard", "heuristic:v1")]))


# --- Validate's rejects -----------------------------------------------------------------------

def test_validate_rejects_with_stage_reason_subject_and_the_problems():
    good = sample_record()
    one = dict(sample_record(), id="location_relationship-1111111111111111", context_id="1111111111111111",
               answer="H")
    many = dict(sample_record(), id="location_relationship-2222222222222222", context_id="2222222222222222",
                answer="H", split="holdout", category="temporal", task="location_relationship")
    many["reasoning"] = dict(many["reasoning"], captions=["only one"])
    three = dict(many, id="location_relationship-3333333333333333", context_id="3333333333333333",
                 reasoning=sample_record()["reasoning"])
    with TestPipeline() as p:
        out = p | beam.Create([good, one, many, three]) | Validate()
        assert_that(out["samples"] | beam.Map(lambda s: s["id"]), equal_to([good["id"]]), label="passed")
        assert_that(out["rejects"] | beam.Map(lambda r: (r["stage"], r["reason"], r["subject"], r["subject_kind"],
                                                         r["source"], r["task"])),
                    equal_to([("validate", "invalid_sample", "1111111111111111", "context", "photos",
                               "location_relationship"),
                              ("validate", "invalid_sample", "2222222222222222", "context", "photos",
                               "location_relationship"),
                              ("validate", "invalid_sample", "3333333333333333", "context", "photos",
                               "location_relationship")]), label="rejects")
        assert_that(out["rejects"] | beam.Map(lambda r: (r["subject"], r["detail"])),
                    equal_to([("1111111111111111", "$.answer: answer 'H' is not an option label (labels: A, B, C)"),
                              ("2222222222222222", "$.category: 'temporal' is not one of ['sequential', 'spatial', "
                                                   "'analytical']; $.split: 'holdout' is not one of ['train', 'test']; "
                                                   "$.answer: answer 'H' is not an option label (labels: A, B, C) "
                                                   "(+1 more)"),
                              # three problems: all shown, nothing "more"
                              ("3333333333333333", "$.category: 'temporal' is not one of ['sequential', 'spatial', "
                                                   "'analytical']; $.split: 'holdout' is not one of ['train', 'test']; "
                                                   "$.answer: answer 'H' is not an option label (labels: A, B, C)")]),
                    label="details")


# --- the judge's messages that a build never meets ------------------------------------------------

def _messages(record, images=None) -> list:
    return [str(p) for p in validate_record(record, images=images)]


def test_judge_image_numbers_and_boxes_in_free_structured_text(tmp_path):
    names = write_images(tmp_path, 3)
    record = mir_record(names, text2img=[{"image": 4, "bbox": [0.1, 0.2, 0.5]},
                                         {"image": 3, "box": [0.1, "a", 0.2, 0.3]},
                                         {"image": 0, "bbox": [0.1, 0.2, 0.3, 0.4]}])
    assert _messages(record) == [
        "$.text2img[0].image: image 4 is out of range: the record has 3 images",
        "$.text2img[0].bbox: a box is four numbers [x0, y0, x1, y1]",
        "$.text2img[1].box: a box is four numbers [x0, y0, x1, y1]",
        "$.text2img[2].image: image 0 is out of range: the record has 3 images"]
    fine = mir_record(names, text2img=[{"image": 3, "bbox": [0.1, 0.2, 0.5, 0.6]}, {"image": 1}])
    assert _messages(fine) == []


def test_judge_an_image_number_out_of_range_in_a_sample():
    record = sample_record(3)
    record["reasoning"]["text2region"][0]["image"] = 4
    assert _messages(record) == ["$.reasoning.text2region[0].image: image 4 is out of range: the record has 3 images"]
    record["reasoning"]["text2region"][0]["image"] = 3
    assert _messages(record) == []


def test_judge_an_option_that_is_not_text(tmp_path):
    names = write_images(tmp_path, 3)
    record = mir_record(names, options=["A. Image 1", {"text": "Image 2"}, "C. Image 3"])
    assert "$.options: option B is an object, not text" in _messages(record)


def test_judge_image_files_nul_size_limit_and_unreadable(tmp_path):
    names = write_images(tmp_path, 3)
    sizes = [os.path.getsize(tmp_path / n) for n in names]
    at_limit = ImageChecker(str(tmp_path), max_file_bytes=max(sizes))
    assert _messages(mir_record(names), at_limit) == []      # a file as large as the limit is accepted
    below = ImageChecker(str(tmp_path), max_file_bytes=max(sizes) - 1)
    biggest = sizes.index(max(sizes))
    assert _messages(mir_record(names), below) == [
        f"$.images[{biggest}]: '{names[biggest]}' is {max(sizes):,} bytes, over the {max(sizes) - 1:,}-byte limit "
        "for an image"]
    with_nul = mir_record([names[0], names[1], "img\x002.jpg"])
    assert _messages(with_nul, ImageChecker(str(tmp_path))) == ["$.images[2]: the path contains a NUL character"]
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("needs /proc/self/mem: a regular file every read of which fails")
    os.symlink("/proc/self/mem", tmp_path / "mem.jpg")
    unreadable = mir_record([names[0], names[1], "mem.jpg"])
    assert _messages(unreadable, ImageChecker(str(tmp_path))) == [
        "$.images[2]: 'mem.jpg' cannot be read: Input/output error"]


# --- dedup: which compared pair a duplicate's row names ---------------------------------------------

def test_closest_match_ties_go_to_full_hashes_then_the_earlier_crop():
    """a's crop 1 is 2 bits from b's full hash, and b's crop 3 is 2 bits from a's full hash: the
    tie goes to the earlier crop (a's crop 1), not to whichever side is listed first; a tie with
    the full pair goes to the full pair."""
    full_a, full_b, far = 0, 0x3FF, 0xFFFF0000
    a = [full_a, full_b ^ 0b11] + [full_b ^ far] * 5
    b = [full_b, far, far, 0b11, far, far, far]
    hexed = [tuple(f"{h:016x}" for h in side) for side in (a, b)]
    assert closest_match(*hexed) == (2, 1, 0)
    assert closest_match(hexed[1], hexed[0]) == (2, 0, 1)
    # The same crop on each side, equally close: a's full hash against b's crop comes first.
    same_slot = [(0, full_b ^ far, full_b ^ 0b11, full_b ^ far, full_b ^ far, full_b ^ far, full_b ^ far),
                 (full_b, far, 0b11, far, far, far, far)]
    assert closest_match(*[tuple(f"{h:016x}" for h in side) for side in same_slot]) == (2, 0, 2)
    a[0], b[0] = full_b ^ 0b11, 0   # the full pair (8 bits apart) ties with b's full and a's crop 1
    tied = [tuple(f"{h:016x}" for h in side) for side in (a, b)]
    assert closest_match(*tied) == (8, 0, 0)


# --- options: the answer's position is balanced --------------------------------------------------------

def test_the_answer_takes_each_position_about_equally_often():
    """1200 contexts of four options: each label holds the answer 300 +- 60 times (over four
    standard deviations); the options keep every text once, labelled A to D in order."""
    counts = collections.Counter()
    for n in range(1200):
        options, label = label_options("right", ["w1", "w2", "w3"], 7, f"context-{n}")
        assert [o["label"] for o in options] == ["A", "B", "C", "D"]
        assert sorted(o["text"] for o in options) == ["right", "w1", "w2", "w3"]
        assert next(o["text"] for o in options if o["label"] == label) == "right"
        counts[label] += 1
    assert set(counts) == {"A", "B", "C", "D"} and all(240 <= c <= 360 for c in counts.values()), counts
    # The distractors' order varies too: "w1" is not always the first distractor shown.
    firsts = {next(o["text"] for o in label_options("right", ["w1", "w2", "w3"], 7, f"c{n}")[0]
                   if o["text"] != "right") for n in range(50)}
    assert firsts == {"w1", "w2", "w3"}


def test_judge_listed_options_must_run_from_a_in_order_while_a_mapping_may_be_in_any_order(tmp_path):
    names = write_images(tmp_path, 3)
    listed = mir_record(names, options=["B. Image 2", "A. Image 1", "C. Image 3"])
    assert _messages(listed) == ["$.options: labels B, A, C are not consecutive from A (expected A, B, C)"]
    assert _messages(mir_record(names, options={"B": "Image 2", "A": "Image 1", "C": "Image 3"})) == []
    assert _messages(mir_record(names, options={"A": "Image 1", "B": "Image 2", "D": "Image 3"})) == [
        "$.options: labels A, B, D are not consecutive from A (expected A, B, C)"]


def test_the_answer_position_follows_the_seed_and_is_stable():
    """The draw is part of what a seed reproduces: these literals change only when the draw does
    (which moves the answer of every published sample), and another seed moves some answers."""
    assert label_options("right", ["w1", "w2", "w3"], 7, "context-0") == (
        [{"label": "A", "text": "w2"}, {"label": "B", "text": "w1"}, {"label": "C", "text": "right"},
         {"label": "D", "text": "w3"}], "C")
    assert label_options("right", ["w1", "w2", "w3"], 7, "context-1")[1] == "D"
    moved = sum(label_options("r", ["a", "b", "c"], 7, f"c{n}")[1] != label_options("r", ["a", "b", "c"], 8, f"c{n}")[1]
                for n in range(100))
    assert 50 <= moved <= 95, moved   # three in four, for independent draws


@pytest.mark.parametrize("n, size, starts", [(4, 2, [0, 1, 2]), (3, 3, [0]), (5, 3, [0, 1, 2]),
                                             (7, 3, [0, 1, 2, 3, 4]), (7, 4, [0, 2]), (11, 4, [0, 2, 4, 6])])
def test_short_windows_step_by_half_a_window_rounded_down_and_at_least_one(n, size, starts):
    assert window_starts(n, size) == starts


# --- weight_comparison: "clearly" heavier or lighter is a factor of 1.5, the bound included --------------

def _weights_context(weights) -> TaskContext:
    metadata = tuple({"regions": [region(f"thing {chr(97 + i)}", [0.2, 0.2, 0.6, 0.6], weight_kg=w)]}
                     for i, w in enumerate(weights))
    return TaskContext(task="weight_comparison", metadata=metadata, transforms=(None,) * len(weights),
                       sizes=((200, 150),) * len(weights))


def _weight_template(name):
    return next(t for t in TASKS["weight_comparison"].templates if t.__name__ == name)


def test_heavier_than_stated_counts_exactly_one_and_a_half_times_as_clearly_heavier():
    # Worked out by hand: only the 10 kg thing can be the reference (15 >= 1.5 x 10, and 6 and 5
    # are clearly lighter); every other reference leaves no two clear distractors.
    for seed in range(6):
        question = _weight_template("heavier")(_weights_context([10, 15, 6, 5]), random.Random(seed))
        assert question.answer == "Image 2" and sorted(question.distractors) == ["Image 3", "Image 4"]
        assert "weighs 10 kg" in question.text
    # 13 is less than 1.5 x 10 (and 7 more than 10 / 1.5): no reference has one clear answer.
    assert all(_weight_template("heavier")(_weights_context([10, 13, 7, 6]), random.Random(s)) is None
               for s in range(6))


def test_lighter_than_stated_counts_two_thirds_as_clearly_lighter():
    for seed in range(6):
        question = _weight_template("lighter")(_weights_context([15, 10, 30, 40]), random.Random(seed))
        assert question.answer == "Image 2" and sorted(question.distractors) == ["Image 3", "Image 4"]
        assert "weighs 15 kg" in question.text
    assert all(_weight_template("lighter")(_weights_context([15, 11, 30, 40]), random.Random(s)) is None
               for s in range(6))


def test_relative_position_needs_both_axes_apart():
    """Centres 0.5 apart across but 0.02 apart up and down (or the reverse): no question."""
    across = ([0.1, 0.40, 0.3, 0.60], [0.6, 0.42, 0.8, 0.62])
    updown = ([0.40, 0.1, 0.60, 0.3], [0.42, 0.6, 0.62, 0.8])
    for boxes in (across, updown):
        assert all(_template("relative_position")(_location_context(boxes), random.Random(s)) is None
                   for s in range(4))


def test_the_grounded_drafter_refuses_a_question_whose_text_names_the_answer(monkeypatch):
    from test_interleaving import _refusal
    leaked = "In <image> a cup stands. In <image> the cat sleeps. In <image> a dog runs. Which animal is asleep?"
    assert "fixed: answer_in_question" in _refusal(monkeypatch, text=leaked)
    # Every option named in the text gives nothing away.
    fair = ("In <image> the cup stands. In <image> the cat sleeps. In <image> the dog runs. "
            "Which of them is asleep?")
    assert "answer_in_question" not in _refusal(monkeypatch, text=fair)


def test_a_shuffled_window_is_never_shown_in_its_true_order():
    from pipeline.stages.group_contexts import _display_order
    for size in (2, 3):
        for n in range(100):
            frames = [_image(f"w{n}_{k}", {}) for k in range(size)]
            shown = _display_order(frames, 5, f"group-{n}")
            assert shown != frames and sorted(shown, key=lambda im: im.id) == sorted(frames, key=lambda im: im.id)


def test_a_context_varied_to_leave_an_image_out_gets_an_id_of_its_own():
    """Six photos in one group feed three group tasks, each cutting the same six: one task keeps the
    set, the others each leave out a different photo; every context shown is new in id unless it
    is the very context made (same id, same images)."""
    sources = {"gen": dataclasses.replace(SOURCES["gen"], tasks=())}
    grouping = {"min_images": 4, "target_images": 6, "max_images": 8, "test_fraction": 0.0}
    images = [_image(f"v{k}", {"group": "g", "regions": [region(f"thing {k}", [0.1 * k, 0.1, 0.1 * k + 0.2, 0.3],
                                                                  weight_kg=2.0 ** k, depth_m=1.0 + 3 * k)]})
              for k in range(6)]

    def check(both):
        made = {c.id: c for c in both["made"]}
        shown = both["shown"]
        assert len(shown) == 3 and len({c.id for c in shown}) == 3 and all(isinstance(c.id, str) for c in shown)
        sets = [frozenset(s.image.id for s in c.images) for c in shown]
        assert len(set(sets)) == 3 and sorted(len(s) for s in sets) == [5, 5, 6]
        for c, members in zip(shown, sets):
            if c.id in made:
                assert members == frozenset(s.image.id for s in made[c.id].images), c.task
        assert sum(c.id in made for c in shown) == 1

    with TestPipeline() as p:
        out = p | beam.Create(images) | GroupContexts(sources, 5, grouping)
        group_tasks = {"weight_comparison", "depth_relationship", "location_relationship"}
        made = out["made"] | "MadeOfGroupTasks" >> beam.Filter(lambda c: c.task in group_tasks)
        shown = out["contexts"] | "ShownOfGroupTasks" >> beam.Filter(lambda c: c.task in group_tasks)
        keyed = ((made | "KeyMade" >> beam.Map(lambda c: ("all", ("made", c))),
                  shown | "KeyShown" >> beam.Map(lambda c: ("all", ("shown", c))))
                 | beam.Flatten() | beam.GroupByKey()
                 | beam.Map(lambda kv: {kind: [c for k, c in kv[1] if k == kind] for kind in ("made", "shown")}))
        assert_that(keyed, lambda found: check(found[0]))
