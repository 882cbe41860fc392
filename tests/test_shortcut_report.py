"""report.json "shortcuts", the card's table of them and the build summary's warning, on hand-made
samples whose every strategy's accuracy is worked out by hand below (the credits of
pipeline/shortcuts.py: 1 for the answer, a tie's share, 0 otherwise)."""
import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.commands.build import _shortcut_summary
from pipeline.output.card import _shortcut_table
from pipeline.output.shortcut_report import ShortcutTotals, SumCredits, sample_credits, shortcut_section
from pipeline.shortcuts import answer_table

CRATES = "The first crate <image> stands by the second crate <image>. Which is heavier?"
PARCELS = "A parcel <image> lies next to a box <image>. How heavy is the box?"
KILOS = ["2 kg", "4 kg", "6 kg", "8 kg"]


def sample(task: str, question: str, texts: list, answer: str, n: int = 0) -> dict:
    return {"id": f"{task}-{n:016x}", "task": task, "question": question, "answer": answer,
            "options": [{"label": label, "text": text} for label, text in zip("ABCD", texts)]}


# weight_comparison: single distinct words, so every option is as near and as far as any other
# (nearest and farthest: a three-way tie, 1/3 each); "crate" is the only option word the text holds.
# answer:         anvil  anvil  brick  crate
# longest (8):    0      0      0      0        -> 0
# shortest (5):   1/2    1/2    1/2    1/2      -> 0.5    (two options of five letters each)
# first / last:   1 1 1 0 -> 0.75;  0 0 0 1 -> 0.25
# word overlap:   1/3    1/3    1/3    1        -> 0.5    (no option word in the text: a 3-way tie)
# usual answer, leave-one-out over the same wording: anvil right 2 of 4, brick 1 of 3, feathers 0 of 4,
#   crate 1 of 1: s1, s2 pick brick (1 of 2), s3 picks anvil (2 of 3), s4 anvil (crate unseen) -> 0
WEIGHTS = [sample("weight_comparison", CRATES, ["anvil", "brick", "feathers"], "A", 1),
           sample("weight_comparison", CRATES, ["anvil", "brick", "feathers"], "A", 2),
           sample("weight_comparison", CRATES, ["brick", "anvil", "feathers"], "A", 3),
           sample("weight_comparison", CRATES, ["feathers", "anvil", "crate"], "C", 4)]
# image_puzzle: numbers, "2 kg" .. "8 kg", spread 12, 8, 8, 12; all four characters long; no option
# word in the text (a four-way tie, 1/4).
# answer:         4 kg (B)   8 kg (D)
# nearest:        1/2        0           -> 0.25
# farthest:       0          1/2         -> 0.25
# longest, shortest, word overlap: 1/4 each -> 0.25
# first / last:   0 0 -> 0;  0 1 -> 0.5
# usual answer: y1 sees 8 kg right once elsewhere (picks it), y2 sees 4 kg (picks it) -> 0
PUZZLES = [sample("image_puzzle", PARCELS, KILOS, "B", 5), sample("image_puzzle", PARCELS, KILOS, "D", 6)]

EXPECTED = {
    "strategies": ["nearest", "farthest", "longest", "shortest", "first_label", "last_label", "usual_answer",
                   "word_overlap"],
    "by_task": {
        "image_puzzle": {"samples": 2, "chance": 0.25,
                         "accuracy": {"nearest": 0.25, "farthest": 0.25, "longest": 0.25, "shortest": 0.25,
                                      "first_label": 0.0, "last_label": 0.5, "usual_answer": 0.0,
                                      "word_overlap": 0.25},
                         "worst": {"strategy": "last_label", "above_chance": 0.25}},
        "weight_comparison": {"samples": 4, "chance": 0.3333,
                              "accuracy": {"nearest": 0.3333, "farthest": 0.3333, "longest": 0.0, "shortest": 0.5,
                                           "first_label": 0.75, "last_label": 0.25, "usual_answer": 0.0,
                                           "word_overlap": 0.5},
                              "worst": {"strategy": "first_label", "above_chance": 0.4167}}},
    # Over all six: chance (4/3 + 2/4) / 6 = 11/36; nearest and farthest (4/3 + 1/2) / 6 = 11/36;
    # longest 0.5 / 6; shortest (2 + 0.5) / 6; first 3 / 6; last 2 / 6; word overlap (2 + 0.5) / 6.
    "all": {"samples": 6, "chance": 0.3056,
            "accuracy": {"nearest": 0.3056, "farthest": 0.3056, "longest": 0.0833, "shortest": 0.4167,
                         "first_label": 0.5, "last_label": 0.3333, "usual_answer": 0.0, "word_overlap": 0.4167},
            "worst": {"strategy": "first_label", "above_chance": 0.1944}},
}


def totals_of(samples: list) -> dict:
    """What ShortcutTotals gives, without Beam (for the summary's cases)."""
    table = answer_table(samples)
    per_task = {}
    for s in samples:
        task, credits = sample_credits(s, table)
        per_task[task] = SumCredits().add_input(per_task.get(task, {}), credits)
    return per_task


def test_the_report_section_from_a_beam_pipeline_matches_the_hand_worked_figures():
    with TestPipeline() as p:
        section = (p | beam.Create(PUZZLES + WEIGHTS) | ShortcutTotals() | beam.Map(shortcut_section))
        assert_that(section, equal_to([EXPECTED]))


def test_no_sample_gives_empty_figures():
    empty = shortcut_section({})
    assert empty["by_task"] == {} and empty["all"]["samples"] == 0 and empty["all"]["chance"] is None
    assert empty["all"]["worst"] == {"strategy": None, "above_chance": 0.0}
    assert _shortcut_table({"shortcuts": empty}).splitlines()[-1] == "| all tasks | 0 | - | - | - |"


def test_the_card_shows_chance_the_best_option_only_strategy_and_word_overlap_per_task():
    assert _shortcut_table({"shortcuts": EXPECTED}).splitlines() == [
        "| task | samples | chance | best option-only strategy | word overlap |",
        "|---|---|---|---|---|",
        "| image_puzzle | 2 | 25% | last_label 50% | 25% |",
        "| weight_comparison | 4 | 33% | first_label 75% | 50% |",
        "| all tasks | 6 | 31% | first_label 50% | 42% |"]


def test_the_summary_warns_of_a_shortcut_on_fifty_samples_of_a_task_and_not_on_fewer():
    heavy = WEIGHTS[0]   # the answer always first, always "anvil": first_label (and usual_answer) 100%
    assert _shortcut_summary(shortcut_section(totals_of([heavy] * 49))) == ""
    assert _shortcut_summary(shortcut_section(totals_of([heavy] * 50))) == \
        "; shortcut: first_label right 100% against 33% chance on weight_comparison"
    # The worst task first, and how many more beat chance by over 0.10.
    last = PUZZLES[1]    # always D, "8 kg": last_label 100% against 25%
    assert _shortcut_summary(shortcut_section(totals_of([heavy] * 50 + [last] * 50))) == \
        "; shortcut: last_label right 100% against 25% chance on image_puzzle (and 1 more task)"
    assert _shortcut_summary(shortcut_section(totals_of([heavy] * 50 + [last] * 49))) == \
        "; shortcut: first_label right 100% against 33% chance on weight_comparison"


def test_a_balanced_task_of_fifty_samples_or_more_is_not_flagged():
    # 13 samples per answer position over the same four numbers: every position-, length- or
    # spread-based pick is right a quarter of the time, and the usual answer never (each sample's
    # own answer is the one option seen right less often elsewhere).
    balanced = [sample("image_puzzle", PARCELS, KILOS, label, n) for label in "ABCD" for n in range(13)]
    section = shortcut_section(totals_of(balanced))
    figures = section["by_task"]["image_puzzle"]
    assert figures["samples"] == 52 and figures["chance"] == 0.25
    assert figures["accuracy"] == {"nearest": 0.25, "farthest": 0.25, "longest": 0.25, "shortest": 0.25,
                                   "first_label": 0.25, "last_label": 0.25, "usual_answer": 0.0,
                                   "word_overlap": 0.25}
    assert _shortcut_summary(section) == ""
