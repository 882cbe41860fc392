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
