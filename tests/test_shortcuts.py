"""Options with no structure: for every template, over 1,000 generated contexts whose questions the
grounded drafter would ask, no strategy that never looks at the images (the option nearest or
farthest from the others, the longest, the shortest, the first or last label, the answer text most
often right for the same wording, the word-overlap baseline) beats chance by more than 0.05."""
import random

import pytest

from pipeline.drafters.grounded import PROBES, refusal
from pipeline.drafters.options import label_options
from pipeline.records import content_id
from pipeline.shortcuts import STRATEGIES, shortcut_figures
from pipeline.tasks import TASKS
from template_contexts import task_context

CONTEXTS = 1000
MARGIN = 0.05
SEED = 5
TEMPLATES = [(task_id, template) for task_id, task in sorted(TASKS.items()) for template in task.templates]


def asked_samples(task_id, template, wanted=CONTEXTS, max_tries=8 * CONTEXTS):
    """Up to ``wanted`` samples (question, labelled options, answer) that ``template`` drafts from
    generated contexts and the grounded drafter would ask, and how many contexts were tried."""
    samples, tries = [], 0
    while len(samples) < wanted and tries < max_tries:
        key = f"{task_id}/{template.__name__}/{tries}"
        tries += 1
        ctx = task_context(task_id, random.Random(key))
        question = template(ctx, random.Random(content_id("draw", key)))
        if question is None:
            continue
        probes = [random.Random(content_id("probe", key, i)) for i in range(PROBES)]
        if refusal(template, question, ctx, probes):
            continue
        options, label = label_options(question.answer, question.distractors, SEED, content_id(key))
        samples.append({"question": question.text, "options": options, "answer": label})
    return samples, tries


@pytest.mark.parametrize("task_id,template", TEMPLATES, ids=[f"{t}:{f.__name__}" for t, f in TEMPLATES])
def test_no_option_only_strategy_beats_chance(task_id, template):
    samples, tries = asked_samples(task_id, template)
    assert len(samples) == CONTEXTS, f"only {len(samples)} questions from {tries} generated contexts"
    figures = shortcut_figures(samples)
    beating = {s: figures["accuracy"][s] for s in STRATEGIES if figures["accuracy"][s] > figures["chance"] + MARGIN}
    assert not beating, f"chance {figures['chance']}: {beating}"
