"""chart_analysis: read and compare values across charts, from each chart's data table.

The text lists what the charts plot (titles and quantities) in no particular order; which chart
is which, and the values, are read from the pictures, so neither the text nor
the reasoning cites a value: the steps say what the marks show in words (which is highest, which
place a category holds, about how many times taller one mark stands than another).
"""
import math

from .base import (Question, Task, clear_winner, count_word, distinct_captions, image_distractors, image_options,
                   interleaved, link, whole_image, whole_ref)

MARGIN = 1.05      # one value must exceed another by this factor to count as clearly larger
RATIO = 1.25       # the largest ratio must beat the runner-up by this factor
MAX_RANKED = 6     # ranks are asked only of charts with at most this many entries

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth")
# About how many times as high one mark stands as another, in words (log-nearest).
MULTIPLES = ((1 / 20, "about a twentieth as"), (1 / 10, "about a tenth as"), (1 / 5, "about a fifth as"),
             (1 / 4, "about a quarter as"), (1 / 3, "about a third as"), (1 / 2, "about half as"),
             (2 / 3, "about two thirds as"), (1, "about as"), (1.5, "about one and a half times as"),
             (2, "about twice as"), (3, "about three times as"), (4, "about four times as"),
             (5, "about five times as"), (7, "about seven times as"), (10, "about ten times as"),
             (20, "about twenty times as"), (50, "about fifty times as"), (100, "about a hundred times as"))


def _table(metadata) -> dict:
    """First column -> value (second column), numeric rows only."""
    return {str(row[0]): row[1] for row in metadata["data"]["rows"]
            if len(row) >= 2 and isinstance(row[1], (int, float))}


def _title(metadata) -> str:
    return metadata["data"].get("title") or _quantity(metadata)


def _entry(metadata) -> str:
    """What the first column holds, e.g. "species", "year"."""
    return str(metadata["data"]["columns"][0]).replace("_", " ")


def _quantity(metadata) -> str:
    """What the values measure, with their unit when the sidecar gives an axis label."""
    return (metadata.get("attributes") or {}).get("y_label") or str(metadata["data"]["columns"][1]).replace("_", " ")


def _kind(metadata) -> str:
    return (metadata.get("attributes") or {}).get("chart_type") or ""


def _mark(metadata) -> str:
    return {"bar": "bar", "line": "point", "scatter": "point"}.get(_kind(metadata), "mark")


def _per_image(ctx) -> list:
    """The charts' titles and quantities, listed once in no particular order (sorted), then each chart
    as one of them: which chart plots what is for the pictures to show, so a remembered table
    points at no image."""
    plotted = sorted(f"'{_title(m)}' ({_quantity(m)} per {_entry(m)})" for m in ctx.metadata)
    listing = f"{count_word(len(ctx))} charts plot, one each and in no particular order, {'; '.join(plotted)}."
    return [f"{listing} <image> is one of them." if i == 1 else "<image> is another of them."
            for i in range(1, len(ctx) + 1)]


def _captions(ctx) -> list:
    """What each chart visibly is: its kind, title and axes, never its values (the sidecar caption
    may list them, and a value the text does not state must not reach the reasoning)."""
    return distinct_captions([f"A {_kind(m) + ' chart' if _kind(m) else 'chart'} titled '{_title(m)}', with "
                              f"{_quantity(m)} on the value axis and one {_mark(m)} per {_entry(m)}."
                              for m in ctx.metadata])


def _chart(ctx, i: int) -> dict:
    return whole_image(f"'{_title(ctx.metadata[i - 1])}'", i, _title(ctx.metadata[i - 1]))


def _ref(ctx, i: int) -> dict:
    return whole_ref(i, _title(ctx.metadata[i - 1]))


def _clearly_above(a: float, b: float) -> bool:
    return a > b and (b <= 0 or a >= MARGIN * b)


def _clearly_top(table: dict, category: str) -> bool:
    return all(_clearly_above(table[category], v) for c, v in table.items() if c != category)


def _clearly_not_top(table: dict, category: str) -> bool:
    return any(_clearly_above(v, table[category]) for c, v in table.items() if c != category)


def _common(ctx) -> list:
    """Categories every chart of the context has, in the first chart's order."""
    tables = [_table(m) for m in ctx.metadata]
    return [c for c in tables[0] if all(c in t for t in tables[1:])]


def unique_top(ctx, rng):
    """A category that clearly tops exactly one chart and clearly does not top any other: which chart?"""
    if len(ctx) < 3:
        return None
    tables = [_table(m) for m in ctx.metadata]
    candidates = []
    for category in _common(ctx):
        tops = [i for i, t in enumerate(tables, start=1) if _clearly_top(t, category)]
        if len(tops) == 1 and all(_clearly_not_top(t, category) for i, t in enumerate(tables, start=1) if i != tops[0]):
            candidates.append((category, tops[0]))
    if not candidates:
        return None
    category, answer = rng.choice(candidates)
    others = [i for i in range(1, len(ctx) + 1) if i != answer]
    entry = _entry(ctx.metadata[answer - 1])
    return Question(
        template="unique_top",
        text=interleaved(_per_image(ctx), f"In which chart does the {entry} '{category}' have the highest value of "
                                          f"all the chart's {entry} entries?"),
        answer=f"Image {answer}",
        distractors=image_options(answer, len(ctx), rng),
        summary=f"The text lists what the charts plot; the task is to find the only chart whose highest "
                f"{_mark(ctx.metadata[answer - 1])} belongs to '{category}'.",
        captions=_captions(ctx),
        text2region=[_chart(ctx, i) for i in range(1, len(ctx) + 1)],
        region2region=[link(_ref(ctx, answer), _ref(ctx, i), "has a different top entry than",
                            f"In Image {answer} the {_mark(ctx.metadata[answer - 1])} for '{category}' stands above "
                            f"all others; in Image {i} another {entry} stands clearly higher than '{category}'.")
                       for i in others],
        rationale=f"Only in Image {answer} ('{_title(ctx.metadata[answer - 1])}') is '{category}' the highest entry.",
        verified_by="metadata:data_table")


def _places(table: dict) -> dict:
    """Category -> its place (0 = largest) in the chart's ranking."""
    ranked = sorted(table, key=table.get, reverse=True)
    return {c: k for k, c in enumerate(ranked)}


def _clear_place(table: dict, category: str) -> bool:
    """Is the category's place unmistakable (no other value too close to its own)?"""
    return all(_clearly_above(table[category], v) or _clearly_above(v, table[category])
               for c, v in table.items() if c != category)


def rank_rise(ctx, rng):
    """Two charts over the same categories, every place in both unmistakable: which is the one
    category that holds a higher place (ranked from the largest value down) in the first chart than
    in the second?"""
    tables = [_table(m) for m in ctx.metadata]
    pairs = []
    for a in range(1, len(ctx) + 1):
        for b in range(1, len(ctx) + 1):
            ta, tb = tables[a - 1], tables[b - 1]
            if a == b or set(ta) != set(tb) or not 3 <= len(ta) <= MAX_RANKED:
                continue
            pa, pb = _places(ta), _places(tb)
            if not all(_clear_place(ta, c) and _clear_place(tb, c) for c in ta):
                continue
            rising = [c for c in sorted(ta) if pa[c] < pb[c]]
            if len(rising) == 1:
                pairs.append((a, b, rising[0], [c for c in sorted(ta) if c != rising[0]]))
    if not pairs:
        return None
    a, b, answer, steady = rng.choice(pairs)
    distractors = rng.sample(steady, min(3, len(steady)))
    pa, pb = _places(tables[a - 1]), _places(tables[b - 1])
    entry = _entry(ctx.metadata[a - 1])
    return Question(
        template="rank_rise",
        text=interleaved(_per_image(ctx), f"Ranking each chart's {entry} entries from the largest value down, which "
                                          f"{entry} holds a higher place in Image {a} than in "
                                          f"Image {b}?"),
        answer=answer,
        distractors=distractors,
        summary=f"The text lists what the charts plot; the task is to rank the {entry} entries of Image {a} and of "
                f"Image {b} by value and find the one that places higher in Image {a}.",
        captions=_captions(ctx),
        text2region=[_chart(ctx, a), _chart(ctx, b)],
        region2region=[link(_ref(ctx, a), _ref(ctx, b), f"places '{c}' {'higher' if c == answer else 'no higher'} than",
                            f"'{c}' is {_place(pa[c])} in Image {a} and {_place(pb[c])} in Image {b}.")
                       for c in [answer, *distractors]],
        rationale=f"'{answer}' is {_place(pa[answer])} {entry} in Image {a} but only {_place(pb[answer])} in "
                  f"Image {b}; every other {entry} holds the same or a lower place "
                  f"in Image {a}.",
        verified_by="metadata:data_table")


def _place(k: int) -> str:
    """A place in a ranking from the largest down, in words: "the largest", "the second largest"."""
    return "the largest" if k == 0 else f"the {ORDINALS[k]} largest"


def _multiple(ratio: float) -> str:
    if ratio > 150:
        return "over a hundred times as"
    return min(MULTIPLES, key=lambda m: abs(math.log(ratio / m[0])))[1]


def largest_ratio(ctx, rng):
    """Two categories every chart has: in which chart is the first one's value the largest multiple of
    the second one's?"""
    if len(ctx) < 3:
        return None
    tables = [_table(m) for m in ctx.metadata]
    positive = [c for c in _common(ctx) if all(t[c] > 0 for t in tables)]
    pairs = [(x, y) for x in positive for y in positive if x != y]
    rng.shuffle(pairs)
    for top, base in pairs:
        ratios = [t[top] / t[base] for t in tables]
        if clear_winner(ratios, RATIO):
            break
    else:
        return None
    best = ratios.index(max(ratios)) + 1
    shown = image_distractors(best, len(ctx), rng)
    mark = _mark(ctx.metadata[best - 1])
    return Question(
        template="largest_ratio",
        text=interleaved(_per_image(ctx), f"In which chart is the ratio of the value for '{top}' to the value for "
                                          f"'{base}' the largest?"),
        answer=f"Image {best}",
        distractors=[f"Image {i}" for i in shown],
        summary=f"The text lists what the charts plot; the task is to compare, chart by chart, how many times the "
                f"value for '{top}' is the value for '{base}', and find the chart where that ratio is largest.",
        captions=_captions(ctx),
        text2region=[_chart(ctx, i) for i in range(1, len(ctx) + 1)],
        region2region=[link(_ref(ctx, best), _ref(ctx, i), f"has a larger '{top}' to '{base}' ratio than",
                            f"In Image {best} the {mark} for '{top}' stands {_multiple(ratios[best - 1])} high as "
                            f"that for '{base}'; in Image {i} it stands {_multiple(ratios[i - 1])} high.")
                       for i in shown],
        rationale=f"Of all the charts, Image {best} ('{_title(ctx.metadata[best - 1])}') shows '{top}' the most "
                  f"times as large as '{base}'.",
        verified_by="metadata:data_table")


TASK = Task(id="chart_analysis", category="analytical", grouping="group",
            needs=lambda metadata: "data" in metadata, templates=(unique_top, rank_rise, largest_ratio))
