"""report.json "shortcuts": how well readers who never look at the images do, per task and over
the build, by the strategies of ``pipeline/shortcuts.py`` (the options' shape, the usual answer
for the same wording, the text-only word-overlap baseline).

Two passes, the Beam way, so memory holds the usual-answer table and never the samples:
1. every sample adds its (wording, option text) -> [shown, right] entries, summed by a combine
   over the whole build (a wording is one template's, so in effect one task's); only entries
   shown in two or more samples are kept, since an entry a sample alone adds is
   unknown to that sample's leave-one-out pick either way (``shortcuts.usual_answer_credit``);
2. each sample's credits (``shortcuts.option_credits`` and ``usual_answer_credit`` against that
   table, a side input) are summed per task by a combine.

Credits are 0, 1 or a tie's share 1/k; they are summed as exact fractions, so the figures do not
depend on the order Beam adds them in.
"""
import fractions

import apache_beam as beam
from apache_beam.pvalue import AsDict

from ..shortcuts import (STRATEGIES, answer_table_entries, figures_of, option_credits, usual_answer_credit,
                         worst_excess)

ALL = "all"
CHANCE, SAMPLES = "chance", "samples"
_LARGEST_TIE = 1000   # a tie's share is 1/k, k at most the number of options


def _exact(credit: float) -> fractions.Fraction:
    return fractions.Fraction(credit).limit_denominator(_LARGEST_TIE)


def table_entries(sample: dict):
    """((wording, option text), (1, 1 if it was the answer else 0)) for each of the sample's options."""
    for key, text, right in answer_table_entries(sample):
        yield (key, text), (1, int(right))


def _sum_pairs(pairs):
    pairs = list(pairs)
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def sample_credits(sample: dict, table: dict):
    """(task, {"samples": 1, "chance": 1/options, strategy: credit, ...}) of one sample."""
    credits = dict(option_credits(sample), usual_answer=usual_answer_credit(sample, table))
    totals = {name: _exact(credits[name]) for name in STRATEGIES}
    return sample["task"], {SAMPLES: 1, CHANCE: fractions.Fraction(1, len(sample["options"])), **totals}


class SumCredits(beam.CombineFn):
    """Adds up ``sample_credits`` dicts key by key."""

    def create_accumulator(self):
        return {}

    def add_input(self, total, credits):
        for key, value in credits.items():
            total[key] = total.get(key, 0) + value
        return total

    def merge_accumulators(self, totals):
        merged = {}
        for total in totals:
            self.add_input(merged, total)
        return merged

    def extract_output(self, total):
        return total


class ShortcutTotals(beam.PTransform):
    """Samples (written) -> one dict {task: summed credits}, for ``shortcut_section``."""

    def expand(self, samples):
        table = (samples
                 | "TableEntries" >> beam.FlatMap(table_entries)
                 | "CountEntries" >> beam.CombinePerKey(_sum_pairs)
                 | "SeenTwice" >> beam.Filter(lambda entry: entry[1][0] > 1))
        return (samples
                | "Credits" >> beam.Map(sample_credits, AsDict(table))
                | "PerTask" >> beam.CombinePerKey(SumCredits())
                | "AllTasks" >> beam.combiners.ToDict())


def _figures(total: dict) -> dict:
    """``shortcuts.figures_of`` the summed credits, plus the strategy that beats chance by most."""
    figures = figures_of(total)
    strategy, excess = worst_excess(figures)
    return dict(figures, worst={"strategy": strategy, "above_chance": excess})


def shortcut_section(totals: dict) -> dict:
    """report.json's "shortcuts": {"strategies", "all", "by_task"} from ``ShortcutTotals``'s dict."""
    overall = SumCredits().merge_accumulators(totals.values())
    return {"strategies": list(STRATEGIES), ALL: _figures(overall),
            "by_task": {task: _figures(total) for task, total in sorted(totals.items())}}
