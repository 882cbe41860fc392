"""The one judge: every rule of issue 3, in both record formats, through the Python API."""
import copy
import math

import pytest

from pipeline.samples import mir_format
from pipeline.samples.judge import MAX_DEPTH, MAX_TEXT_CHARS, ImageChecker, Judge, Problem, validate_record
from pipeline.samples.safe_input import KeyedDict
from pipeline.schemas import load_schema
from tests.mir_fixtures import json_sample, mir_list_style, mir_record, sample_record, write_images


def paths(problems) -> list:
    return [p.path for p in problems]


def only(problems, path: str, *words) -> Problem:
    """Exactly one problem, at ``path``, whose message has every word."""
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.path == path, problems
    for word in words:
        assert word in problem.message, problems
    return problem


@pytest.fixture
def images(tmp_path):
    return write_images(tmp_path / "imgs")


@pytest.fixture
def checker(tmp_path):
    return ImageChecker(str(tmp_path / "imgs"))


@pytest.fixture
def mir(images):
    return mir_record(images)


# ------------------------------------------------------------------------------ valid records

def test_valid_records_in_both_formats_have_no_problems(images, checker):
    assert validate_record(sample_record()) == []
    assert validate_record(json_sample(sample_record())) == []
    assert validate_record(sample_record(), images=checker) == []
    assert validate_record(mir_record(images), images=checker) == []
    assert validate_record(mir_list_style(images), images=checker) == []


@pytest.mark.parametrize("name", ["sample", "mir_native"])
def test_schema_examples_are_valid(name):
    for example in load_schema(name)["examples"]:
        assert validate_record(example) == []


def test_detection_per_record(images):
    assert mir_format.detect(sample_record()) == "sample"
    assert mir_format.detect(mir_record(images)) == "mir"
    assert mir_format.detect(mir_list_style(images)) == "mir"
    assert mir_format.detect({"images": ["a.jpg"], "question": "<image>", "options": {"A": "x", "B": "y"}}) == "mir"
    assert mir_format.detect({}) == "sample"


def test_forced_format_judges_by_that_schema(images):
    assert validate_record(mir_record(images), schema="sample")
    assert validate_record(sample_record(), schema="mir")
    assert validate_record(mir_record(images), schema="mir") == []


def test_the_pipeline_call_opens_no_image():
    """The build's Validate stage calls validate_record(sample): derived uris and bytes that
    would not decode are not looked at without an ImageChecker."""
    record = sample_record()
    record["images"][0]["bytes"] = b"not an image"
    record["image_facts"][1]["uri"] = "/nowhere/at/all.jpg"
    record["images"][1] = {"bytes": None, "path": "/nowhere/at/all.jpg"}
    assert validate_record(record) == []


def test_mir_variants_that_are_valid(images, checker):
    variants = [
        mir_record(images, caption="One caption for every image."),
        mir_record(images, options=["Image 1", "Image 2", "Image 3"]),
        mir_record(images, options=["(A) Image 1", "(B) Image 2", "(C) Image 3"]),
        mir_record(images, options={"B": "Image 2", "A": "Image 1", "C": "Image 3"}),
        mir_record(images, conclusion="The brightest is image 2. Answer: B"),
        mir_record(images, conclusion="Therefore, B is correct."),
        mir_record(images, conclusion="Image 2 is the brightest one."),  # names option B by its text
        mir_record(images, answer="B", conclusion="Image 2 wins."),
        mir_record(images, answer="b"),
        mir_record(images, question="<image2> <image1> <image3> Which is brightest?"),
        mir_record(images, text2img=[{"text": "sky", "image": 2, "bbox": [0.1, 0.1, 0.9, 0.5], "label": "sky"}]),
        mir_record(images, task="image_puzzle", category="sequential"),
        mir_record(images, task="Something Else", category="whatever"),  # unknown task: nothing to agree with
        mir_record(images, id="q1", extra_key={"kept": True}),
        mir_record(images, reasoning=["step one", "step two"]),
    ]
    for record in variants:
        assert validate_record(record, images=checker) == [], record


# ------------------------------------------------------------------- placeholders per image

def test_placeholder_count_must_match_images(mir):
    record = sample_record()
    record["question"] = record["question"].replace("<image>", "", 1)
    only(validate_record(record), "$.question", "2 image placeholders for 3 images")
    only(validate_record(dict(mir, question=mir["question"] + " <image>")), "$.question", "4 image placeholders")


def test_numbered_placeholders_in_range(mir):
    problems = validate_record(dict(mir, question="<image1> <image2> <image4> Which?"))
    only(problems, "$.question", "<image4>", "out of range")
    assert "out of range" in validate_record(dict(mir, question="<image0> <image1> <image2> ?"))[0].message
    only(validate_record(dict(mir, question="<image1> <image1> <image2> ?")), "$.question", "no placeholder for image 3")
    record = sample_record()
    record["question"] = "<image1> <image2> <image3> Which image shows the red ball?"
    assert validate_record(record) == []
    record["question"] = "<image1> <image2> <image9> Which image shows the red ball?"
    only(validate_record(record), "$.question", "<image9>")


# ---------------------------------------------------------------------- one caption per image

def test_one_caption_per_image(mir):
    record = sample_record()
    record["reasoning"]["captions"].pop()
    only(validate_record(record), "$.reasoning.captions", "2 captions for 3 images")
    only(validate_record(dict(mir, caption=mir["caption"] + ["extra"])), "$.caption", "4 captions for 3 images")


# ------------------------------------------------------------------ regions, images and boxes

def test_text2region_image_in_range(mir):
    record = sample_record()
    record["reasoning"]["text2region"][0]["image"] = 4
    only(validate_record(record), "$.reasoning.text2region[0].image", "out of range")
    record = sample_record()
    record["reasoning"]["region2region"][0]["to"]["image"] = 9
    only(validate_record(record), "$.reasoning.region2region[0].to.image", "out of range")
    structured = [{"text": "sky", "image": 5, "bbox": [0.1, 0.1, 0.9, 0.5], "label": "sky"}]
    only(validate_record(dict(mir, text2img=structured)), "$.text2img[0].image", "out of range")
    only(validate_record(dict(mir, text2img="The sky of image 7 is bright.")), "$.text2img", "image 7")
    only(validate_record(dict(mir, img2img=["fine", "<image4> is bright"])), "$.img2img[1]", "image 4")


@pytest.mark.parametrize("bbox, words", [
    ([0.5, 0.2, 0.4, 0.6], ["x0 < x1"]),
    ([0.1, 0.6, 0.5, 0.6], ["y0 < y1"]),
    ([0.1, 0.2, 1.5, 0.6], ["1.5"]),
    ([-0.1, 0.2, 0.5, 0.6], ["-0.1"]),
])
def test_boxes_inside_unit_square_and_ordered(bbox, words, mir):
    # In our format the schema finds a coordinate outside [0, 1] (and says which one).
    record = sample_record()
    record["reasoning"]["text2region"][0]["bbox"] = bbox
    problems = validate_record(record)
    assert len(problems) == 1 and problems[0].path.startswith("$.reasoning.text2region[0].bbox"), problems
    assert all(word in problems[0].message for word in words), problems
    record = sample_record()
    record["reasoning"]["region2region"][0]["from"]["bbox"] = bbox
    problems = validate_record(record)
    assert len(problems) == 1 and problems[0].path.startswith("$.reasoning.region2region[0].from.bbox"), problems
    structured = [{"text": "sky", "image": 1, "bbox": bbox, "label": "sky"}]
    only(validate_record(dict(mir, text2img=structured)), "$.text2img[0].bbox", *words)


# -------------------------------------------------------------------------------- the answer

def test_answer_is_an_option_label(mir):
    only(validate_record(dict(sample_record(), answer="D")), "$.answer", "'D' is not an option label")
    only(validate_record(dict(mir, answer="E")), "$.answer", "'E' is not an option label")
    only(validate_record(dict(mir, answer="the sky")), "$.answer", "not an option label")


def test_schema_and_semantic_rules_do_not_repeat_each_other():
    only(validate_record(dict(sample_record(), answer="Z")), "$.answer")


@pytest.mark.parametrize("conclusion", ["E", "(e)", "The answer is E.", "Answer: E", "I choose option E."])
def test_mir_conclusion_names_an_option_label(conclusion, mir):
    only(validate_record(dict(mir, conclusion=conclusion)), "$.conclusion", "E", "not an option label")


def test_mir_conclusion_and_answer_agree(mir):
    only(validate_record(dict(mir, answer="A", conclusion="The answer is C.")), "$.conclusion",
         "names C but the answer is A")


def test_mir_conclusion_that_names_nothing(mir):
    only(validate_record(dict(mir, conclusion="It is hard to say.")), "$.conclusion", "names no option")
    only(validate_record(dict(mir, conclusion="Option A or option C.")), "$.conclusion", "several options")


def test_our_conclusion_agrees_with_the_answer():
    record = sample_record()
    record["reasoning"]["conclusion"] = "Image 3 it is. Answer: C"
    only(validate_record(record), "$.reasoning.conclusion", "names C but the answer is B")


# ----------------------------------------------------------------------------------- options

def test_option_labels_unique_and_consecutive(mir):
    record = sample_record()
    record["options"][2]["label"] = "D"
    only(validate_record(record), "$.options", "not consecutive from A")
    record["options"][2]["label"] = "B"
    only(validate_record(record), "$.options", "'B' appears 2 times")
    only(validate_record(dict(mir, options={"A": "Image 1", "C": "Image 3"}, conclusion="A")), "$.options",
         "not consecutive")
    only(validate_record(dict(mir, options=["A. Image 1", "A. Image 2"], conclusion="A")), "$.options",
         "'A' appears 2 times")
    only(validate_record(dict(mir, options=["A. Image 1", "C. Image 2"], conclusion="A")), "$.options", "not consecutive")
    problems = validate_record(dict(mir, options={"a": "Image 1", "b": "Image 2"}), schema="mir")
    assert "$.options.a" in paths(problems) and "not a capital letter" in problems[0].message
    only(validate_record(dict(mir, options=["A. Image 1", "Image 2"])), "$.options", "no label prefix")


def test_duplicate_option_keys_are_reported_where_they_are(mir):
    options = KeyedDict({"A": "Image 1", "B": "Image 2"})
    options.duplicate_keys = ("A",)
    only(validate_record(dict(mir, options=options)), "$.options.A", "appears more than once")


def test_option_texts_distinct(mir):
    record = sample_record()
    record["options"][2]["text"] = "image 1 "
    only(validate_record(record), "$.options", "A and C have the same text")
    only(validate_record(dict(mir, options={"A": "Image 1", "B": "Image 1"})), "$.options", "same text")
    only(validate_record(dict(mir, options={"A": "Image 1", "B": "  "})), "$.options", "B has no text")


# ------------------------------------------------------------------------------------ images

def test_image_paths_stay_inside_the_root(tmp_path, mir, checker):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes((tmp_path / "imgs" / "img0.jpg").read_bytes())
    only(validate_record(dict(mir, images=["img0.jpg", "../secret.jpg", "img2.jpg"]), images=checker),
         "$.images[1]", "escapes the images root")
    only(validate_record(dict(mir, images=["img0.jpg", str(outside), "img2.jpg"]), images=checker),
         "$.images[1]", "absolute path outside")
    inside = str(tmp_path / "imgs" / "img1.jpg")
    assert validate_record(dict(mir, images=["img0.jpg", inside, "img2.jpg"]), images=checker) == []
    assert validate_record(dict(mir, images=["img0.jpg", "sub/../img1.jpg", "img2.jpg"]), images=checker) == []


def test_image_paths_exist_and_decode(tmp_path, mir, checker):
    (tmp_path / "imgs" / "fake.jpg").write_text("this is text")
    (tmp_path / "imgs" / "half.jpg").write_bytes((tmp_path / "imgs" / "img0.jpg").read_bytes()[:200])
    (tmp_path / "imgs" / "folder.jpg").mkdir()
    cases = {"missing.jpg": "not found", "fake.jpg": "does not decode", "half.jpg": "does not decode",
             "folder.jpg": "folder", "https://example.com/a.jpg": "URL", "file:///etc/hosts": "URL",
             "img:1.jpg": "not found"}
    for name, words in cases.items():
        only(validate_record(dict(mir, images=["img0.jpg", name, "img2.jpg"]), images=checker), "$.images[1]", words)
    # Without a checker (mir validate --no-images) image files are not opened.
    assert validate_record(dict(mir, images=["img0.jpg", "missing.jpg", "img2.jpg"])) == []


def test_embedded_bytes_must_decode(checker):
    record = sample_record()
    record["images"][1]["bytes"] = b"\x89PNG but not really"
    only(validate_record(record, images=checker), "$.images[1].bytes", "does not decode")
    # Bytes that decode but are not the image the facts name (swapped with image 0's).
    record = sample_record()
    record["images"][1]["bytes"] = record["images"][0]["bytes"]
    only(validate_record(record, images=checker), "$.images[1].bytes", "not the image image_facts[1] names")
    record = sample_record()
    record["image_facts"] = record["image_facts"][:2]
    only(validate_record(record), "$.image_facts", "2 image_facts entries for 3 images")
    record = json_sample(sample_record())
    record["images"][0]["bytes"] = "not base64!"
    only(validate_record(record), "$.images[0].bytes", "not valid base64")


# ----------------------------------------------------------------------------- unique ids

def test_ids_unique_across_records(images):
    judge = Judge()
    assert judge.check(sample_record(), "a.jsonl:1") == []
    only(judge.check(sample_record(), "b.json:0"), "$.id", "already used by a.jsonl:1")
    assert judge.check(mir_record(images, id="q1"), "c.json:0") == []
    only(judge.check(mir_record(images, id="q1"), "c.json:1"), "$.id", "already used by c.json:0")
    assert judge.check(mir_record(images, id=1), "c.json:2") == []
    assert judge.check(mir_record(images), "c.json:3") == judge.check(mir_record(images), "c.json:4") == []


# --------------------------------------------------------------------- task and category

def test_task_and_category_agree(images):
    only(validate_record(dict(sample_record(), category="analytical")), "$.category",
         "location_relationship belongs to spatial")
    only(validate_record(mir_record(images, task="Speed Comparison", category="spatial")), "$.category",
         "belongs to sequential")
    only(validate_record(mir_record(images, task="view_3d", category="Analytical")), "$.category")


# ---------------------------------------------------------------- values no schema catches

def test_non_finite_numbers(mir):
    for value in (math.nan, math.inf, -math.inf):
        record = sample_record()
        record["difficulty"]["pass_rate"] = value
        only(validate_record(record), "$.difficulty.pass_rate", "not a JSON number")
    structured = [{"text": "sky", "image": 1, "bbox": [0.1, math.nan, 0.5, 0.6], "label": "sky"}]
    assert "$.text2img[0].bbox[1]" in paths(validate_record(dict(mir, text2img=structured)))


def test_long_texts(mir):
    problem = only(validate_record(dict(mir, summary="x" * (MAX_TEXT_CHARS + 1))), "$.summary", "over the")
    assert len(problem.message) < 200
    record = sample_record()
    record["question"] = record["question"] + "y" * 5_000_000
    problems = validate_record(record)
    assert "$.question" in paths(problems) and all(len(p.message) < 300 for p in problems)


def test_long_keys(mir):
    record = dict(mir)
    record["k" * (MAX_TEXT_CHARS + 1)] = 1
    only(validate_record(record), "$", "a key of", "over the")


def test_embedded_image_bytes_are_not_texts():
    record = json_sample(sample_record())
    record["images"][0]["bytes"] = "A" * (MAX_TEXT_CHARS + 4)
    assert validate_record(record) == []


def test_deep_nesting_is_one_problem(mir):
    deep = "leaf"
    for _ in range(MAX_DEPTH * 3):
        deep = [deep]
    problems = validate_record(dict(mir, extra=deep))
    only(problems, problems[0].path, f"more than {MAX_DEPTH} levels")
    assert problems[0].path.startswith("$.extra[0]")


@pytest.mark.parametrize("value, kind", [([], "a list"), ("text", "a string"), (3, "a number"), (None, "null")])
def test_a_record_must_be_an_object(value, kind):
    only(validate_record(value), "$", kind)


def test_duplicate_keys_anywhere():
    record = KeyedDict(copy.deepcopy(sample_record()))
    record.duplicate_keys = ("answer",)
    only(validate_record(record), "$.answer", "more than once")
