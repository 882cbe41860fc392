"""Shortcuts: how well a reader who never looks at the images does, by the options' shape alone or
by the question's words. Each strategy picks an option without the images; a fair question leaves
every one of them at chance. The suite measures them per template over generated contexts, and a
build reports them per task (report.json "shortcuts", the card).

A strategy that ties between options is credited with its share of the tie (1/k when the answer is
one of k tied picks), so no tie-break rule can make it look better or worse than it is.

The strategies:
- ``nearest`` / ``farthest``: the option closest to (farthest from) all the others (orderings by
  positions that differ, numbers by their difference, other texts by the words they share): an
  answer drawn first and distractors made from it sits at the centre.
- ``longest`` / ``shortest``: by characters.
- ``first_label`` / ``last_label``: the answer's place in the list.
- ``usual_answer``: the option text most often right, over the other samples, for the same
  wording of the question (leave-one-out): a prior such as "the rocket always moves up".
- ``word_overlap``: the option whose words the question's text holds most (``interleaving``).
"""
import collections
import re

from .interleaving import PLACEHOLDER, text_only_scores

STRATEGIES = ("nearest", "farthest", "longest", "shortest", "first_label", "last_label", "usual_answer",
              "word_overlap")
_SEQUENCE = re.compile(r"^\s*\d+(?:\s*,\s*\d+)+\s*$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORDS = re.compile(r"\w+")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _distance_of(texts: list):
    """The distance between two options, chosen by what all the options are."""
    if all(_SEQUENCE.match(t) for t in texts):
        def ordering(a, b):
            x, y = _NUMBER.findall(a), _NUMBER.findall(b)
            return sum(p != q for p, q in zip(x, y)) + abs(len(x) - len(y))
        return ordering
    numbers = [_NUMBER.findall(t) for t in texts]
    if all(len(n) == 1 for n in numbers) and len({_NUMBER.sub("#", t) for t in texts}) == 1:
        return lambda a, b: abs(float(_NUMBER.search(a).group()) - float(_NUMBER.search(b).group()))

    def words(a, b):
        x, y = set(_WORDS.findall(a.lower())), set(_WORDS.findall(b.lower()))
        return 1 - len(x & y) / len(x | y) if x | y else 0.0
    return words


def _credit(scores: list, answer: int, best=max) -> float:
    """The share of the answer among the options with the best score."""
    top = best(scores)
    tied = [i for i, s in enumerate(scores) if s == top]
    return 1 / len(tied) if answer in tied else 0.0


def _answer_index(sample: dict) -> int:
    return [o["label"] for o in sample["options"]].index(sample["answer"])


def option_credits(sample: dict) -> dict:
    """Per strategy but ``usual_answer`` (which needs the other samples), the credit it earns on
    ``sample`` ({"question", "options": [{"label", "text"}], "answer": label}): 1 when it picks
    the answer, its share of a tie, 0 otherwise."""
    texts = [o["text"] for o in sample["options"]]
    answer = _answer_index(sample)
    distance = _distance_of(texts)
    spread = [sum(distance(t, u) for u in texts) for t in texts]
    lengths = [len(t) for t in texts]
    return {"nearest": _credit(spread, answer, min), "farthest": _credit(spread, answer, max),
            "longest": _credit(lengths, answer, max), "shortest": _credit(lengths, answer, min),
            "first_label": float(answer == 0), "last_label": float(answer == len(texts) - 1),
            "word_overlap": _credit(text_only_scores(sample["question"], texts), answer)}


def wording(question: str) -> str:
    """The question's own sentence (after its last image) with numbers and quotations masked: what
    samples of one template and one kind of ask share."""
    asked = PLACEHOLDER.split(question)[-1]
    return _NUMBER.sub("#", _QUOTED.sub("'…'", asked)).strip()


def answer_table_entries(sample: dict):
    """The (wording, option text, was it the answer) entries a sample adds to the usual-answer table."""
    key, answer = wording(sample["question"]), _answer_index(sample)
    return [(key, o["text"], i == answer) for i, o in enumerate(sample["options"])]


def answer_table(samples) -> dict:
    """(wording, option text) -> [times shown, times right], over ``samples``."""
    table = collections.defaultdict(lambda: [0, 0])
    for sample in samples:
        for key, text, right in answer_table_entries(sample):
            table[(key, text)][0] += 1
            table[(key, text)][1] += right
    return dict(table)


def usual_answer_credit(sample: dict, table: dict) -> float:
    """The credit of picking the option most often right for the same wording in the *other* samples
    (``sample``'s own entries taken out of ``table``); options never seen elsewhere rate unknown,
    and with nothing known the pick is a guess (chance)."""
    rates = []
    for key, text, right in answer_table_entries(sample):
        shown, was_right = table.get((key, text), (0, 0))
        shown, was_right = shown - 1, was_right - right
        rates.append(was_right / shown if shown > 0 else -1.0)
    if max(rates) < 0:
        return 1 / len(rates)
    return _credit(rates, _answer_index(sample))


def figures_of(totals: dict) -> dict:
    """{"samples", "chance", "accuracy"} from summed credits: ``totals["samples"]``, ``totals["chance"]``
    (the sum of 1 / number of options) and each strategy's summed credit."""
    n = totals.get("samples", 0)
    if not n:
        return {"samples": 0, "chance": None, "accuracy": {s: None for s in STRATEGIES}}
    return {"samples": n, "chance": round(float(totals["chance"] / n), 4),
            "accuracy": {s: round(float(totals[s] / n), 4) for s in STRATEGIES}}


def shortcut_figures(samples: list) -> dict:
    """Over ``samples``: how many, chance (the mean of 1 / number of options) and each strategy's
    accuracy."""
    samples = list(samples)
    table = answer_table(samples)
    totals = collections.Counter(samples=len(samples), chance=sum(1 / len(s["options"]) for s in samples))
    for sample in samples:
        totals.update(option_credits(sample))
        totals["usual_answer"] += usual_answer_credit(sample, table)
    return figures_of(totals)


def worst_excess(figures: dict) -> tuple:
    """(strategy, accuracy above chance) of the strategy that beats chance by the most."""
    if not figures["samples"]:
        return None, 0.0
    name = max(STRATEGIES, key=lambda s: figures["accuracy"][s])
    return name, round(figures["accuracy"][name] - figures["chance"], 4)
