"""Ordering and labelling options so that the answer's position is balanced over a build."""
import random
import string

from ..records import content_id


def label_options(answer: str, distractors: list, seed: int, context_id: str):
    """Return (options, answer label). The answer's position is drawn uniformly from the
    context id and seed, so over a build each position holds the answer about equally often."""
    n = len(distractors) + 1
    position = int(content_id("answer_position", seed, context_id), 16) % n
    others = list(distractors)
    random.Random(content_id("distractor_order", seed, context_id)).shuffle(others)
    texts = others[:position] + [answer] + others[position:]
    labels = string.ascii_uppercase[:n]
    return [{"label": label, "text": text} for label, text in zip(labels, texts)], labels[position]
