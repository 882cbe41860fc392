"""What counts as interleaved, the text-only baseline, and the figures report.json gives of both."""
import collections

import pytest

from pipeline.interleaving import is_interleaved, text_only_choice
from pipeline.output.report import interleaving_figures, sample_facts


@pytest.mark.parametrize("question, expected", [
    # MIR's own example: text of its own between the images.
    ("Is the hand or is the tower in <image1> bigger? Assume the car in <image2> is the same size as in <image3>.",
     True),
    ("<image> was taken at 0 s. <image> follows 0.5 s later. <image> ends the clip. Which object moves?", True),
    # A front-loaded list: only labels between the images.
    ("Image 1: <image> Image 2: <image> Image 3: <image> Which image shows the cat?", False),
    ("<image><image> Which is bigger?", False),
    # One stretch of real text is not enough when another gap holds only a label.
    ("The car in <image> is 4.5 m long. Image 2: <image> Image 3: <image> Which is longer?", False),
    ("Only one image: <image> What is it?", False),
])
def test_interleaved_means_text_of_its_own_between_every_two_images(question, expected):
    assert is_interleaved(question) is expected


def test_text_only_baseline_picks_the_option_the_words_support():
    question = "In <image> a red ball rolls. In <image> a kite flies high. Which object is red?"
    assert text_only_choice(question, ["the red ball", "the kite", "the tree"]) == 0
    # A tie (both named) or no support at all picks nothing; image labels and placeholders never count.
    assert text_only_choice(question, ["the ball", "the kite"]) is None
    assert text_only_choice("<image> was taken at 5 s. <image> at 6 s. Which?", ["Image 5", "Image 6"]) is None


def _sample(task, question, grounded):
    return {"task": task, "split": "train", "answer": "A", "difficulty": {"level": "easy"}, "images": [{}] * 3,
            "question": question, "reasoning": {"text2region": [{"image": i} for i in grounded]}}


def test_report_counts_interleaved_samples_and_the_images_their_grounding_reaches():
    interleaved = "<image> is first. <image> is second. <image> is third. Which?"
    front_loaded = "Image 1: <image> Image 2: <image> Image 3: <image> Which?"
    samples = [_sample("speed_comparison", interleaved, [1, 3]),
               _sample("speed_comparison", front_loaded, [2, 2]),
               _sample("view_3d", interleaved, [1, 2, 3])]
    counts = collections.Counter(fact for s in samples for fact in sample_facts(s))
    figures = interleaving_figures(counts)
    assert figures["by_task"]["speed_comparison"] == {"samples": 2, "interleaved_share": 0.5,
                                                      "mean_grounded_images": 1.5, "grounded_two_or_more_share": 0.5}
    assert figures["by_task"]["view_3d"] == {"samples": 1, "interleaved_share": 1.0, "mean_grounded_images": 3.0,
                                             "grounded_two_or_more_share": 1.0}
    assert figures["all"] == {"samples": 3, "interleaved_share": 0.6667, "mean_grounded_images": 2.0,
                              "grounded_two_or_more_share": 0.6667}


def test_unstated_numbers_are_those_the_reasoning_cites_beyond_the_question():
    from pipeline.interleaving import unstated_numbers
    draft = {"question": "<image> was taken at 0.5 s. <image> follows 1 s later. Which is faster?",
             "options": [{"label": "A", "text": "the car"}, {"label": "B", "text": "2 times"}],
             "reasoning": {"summary": "Frames 1 and 2 of the 2 images are 1 s apart.",
                           "captions": ["A tag reading 50% off.", "A car."],   # read off the picture
                           "text2region": [{"text": "the car at 3 m"}],
                           "region2region": [{"relation": "moves 40 px", "explanation": "depth 1.4 vs 2 m"}],
                           "conclusion": "It moved 2 times as far in 0.5 s. Answer: B"}}
    assert unstated_numbers(draft) == {"3", "40", "1.4"}


def _refusal(monkeypatch, **question_fields) -> str:
    """Why the grounded drafter refuses a fixed question (one template, three images)."""
    import dataclasses

    from pipeline.drafters import grounded
    from pipeline.drafters.base import DraftRejected
    from pipeline.records import Context, ContextImage, HashedImage
    from pipeline.tasks import TASKS
    from pipeline.tasks.base import Question

    fields = dict(template="fixed", text="In <image> one thing stands. In <image> another lies still. In <image> a third "
                                         "runs. Which animal is asleep?",
                  answer="the cat", distractors=["the cup", "the dog"], summary="Three photos, three things.",
                  captions=["A cup.", "An animal asleep.", "An animal running."],
                  text2region=[{"text": "a cat", "image": 2, "bbox": [0, 0, 1, 1], "label": "cat"},
                               {"text": "a dog", "image": 3, "bbox": [0, 0, 1, 1], "label": "dog"}],
                  region2region=[], rationale="The cat lies still.", verified_by="test")
    fields.update(question_fields)

    def fixed(ctx, rng):
        return Question(**fields)

    monkeypatch.setitem(grounded.TASKS, "weight_comparison",
                        dataclasses.replace(TASKS["weight_comparison"], templates=(fixed,)))
    images = tuple(ContextImage(HashedImage(id=f"{i:064x}", uri=f"/x/{i}.jpg", source="s", width=10, height=10,
                                            phash="0" * 16, metadata={})) for i in range(3))
    drafter = grounded.GroundedDrafter(seed=1)
    drafter.setup()
    context = Context(id="c", task="weight_comparison", split="train", group="g", images=images)
    try:
        drafter.draft(context, [{"width": 10, "height": 10}] * 3)
    except DraftRejected as rejected:
        return str(rejected)
    return ""


def test_the_grounded_drafter_refuses_captions_that_give_the_answer_and_unstated_numbers(monkeypatch):
    assert _refusal(monkeypatch) == ""
    assert "fixed: answer_in_captions" in _refusal(monkeypatch, captions=["A cup.", "The cat asleep.", "A dog."])
    assert "fixed: unstated_number" in _refusal(monkeypatch, rationale="The cat, 4 kg, lies still.")
    # The text names the options the regions are labelled with: knowing cats and dogs ranks them.
    assert "fixed: answer_from_knowledge" in _refusal(monkeypatch, text="In <image> a cup. In <image> a cat. "
                                                                        "In <image> a dog. Which animal is asleep?")
    unlabelled = [{"text": "it", "image": 2, "bbox": [0, 0, 1, 1], "label": "feline"},
                  {"text": "it", "image": 3, "bbox": [0, 0, 1, 1], "label": "canine"}]
    assert "fixed: answer_in_text" in _refusal(monkeypatch, text="In <image> a table. In <image> a sleeping cat. "
                                                                 "In <image> a garden. Which animal is asleep?",
                                               text2region=unlabelled)


def test_each_placeholder_gets_the_sentence_that_holds_it():
    from pipeline.interleaving import image_sentences
    question = "<image> was taken at 0 s. Half a second later comes <image>; then <image> and <image> close it. Why?"
    assert image_sentences(question) == ["<image> was taken at 0 s.", "Half a second later comes <image>;",
                                         "then <image> and <image> close it.", "then <image> and <image> close it."]
