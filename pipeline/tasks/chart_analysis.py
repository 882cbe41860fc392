"""chart_analysis: read and compare values across charts, from each chart's data table."""
from .base import (Question, Task, caption_of, image_list, image_options, link, number, whole_image,
                   whole_ref)

MARGIN = 1.05   # a chart's top value must beat its runner-up by this factor to count as the top


def _table(metadata) -> dict:
    """First column -> value (second column), numeric rows only."""
    return {str(row[0]): row[1] for row in metadata["data"]["rows"]
            if len(row) >= 2 and isinstance(row[1], (int, float))}


def _title(metadata) -> str:
    return metadata["data"].get("title") or metadata["data"]["columns"][1]


def _top(table: dict):
    """The category holding the clearly highest value, or None."""
    ranked = sorted(table.items(), key=lambda kv: kv[1], reverse=True)
    if len(ranked) >= 2 and ranked[1][1] > 0 and ranked[0][1] < MARGIN * ranked[1][1]:
        return None
    return ranked[0][0] if ranked else None


def _chart(ctx, i: int) -> dict:
    return whole_image(f"the chart in Image {i}", i, _title(ctx.metadata[i - 1]))


def unique_top(ctx, rng):
    """A category that tops exactly one of the charts: which chart is it?"""
    tops = {i: _top(_table(m)) for i, m in enumerate(ctx.metadata, start=1)}
    unique = sorted(c for c in set(tops.values()) if c is not None and list(tops.values()).count(c) == 1)
    if len(ctx) < 3 or not unique:
        return None
    category = rng.choice(unique)
    answer = next(i for i, c in tops.items() if c == category)
    first_column = ctx.metadata[answer - 1]["data"]["columns"][0]
    return Question(
        template="unique_top",
        text=f"{image_list(len(ctx))} Each image is a chart. In which chart does the {first_column} "
             f"'{category}' have the highest value of all its {first_column} entries?",
        answer=f"Image {answer}",
        distractors=image_options(answer, len(ctx), rng),
        summary=f"The charts plot different quantities; the task is to find the only chart whose highest value "
                f"belongs to '{category}'.",
        captions=[caption_of(m) for m in ctx.metadata],
        text2region=[_chart(ctx, i) for i in range(1, len(ctx) + 1)],
        region2region=[link(whole_ref(answer, _title(ctx.metadata[answer - 1])),
                            whole_ref(i, _title(ctx.metadata[i - 1])), "has a different top entry than",
                            f"In Image {i} the highest value belongs to '{top}', in Image {answer} to '{category}'.")
                       for i, top in tops.items() if i != answer and top is not None],
        rationale=f"Only in Image {answer} ({_title(ctx.metadata[answer - 1])}) is '{category}' the highest entry.",
        verified_by="metadata:data_table")


def read_value(ctx, rng):
    """The value a chart shows for one category; distractors are the other values of that chart."""
    charts = [i for i, m in enumerate(ctx.metadata, start=1) if len(set(_table(m).values())) >= 3]
    if not charts:
        return None
    image = rng.choice(charts)
    table = _table(ctx.metadata[image - 1])
    category = rng.choice(sorted(table))
    answer = number(table[category])
    others = sorted({number(v) for v in table.values()} - {answer})
    first_column = ctx.metadata[image - 1]["data"]["columns"][0]
    return Question(
        template="read_value",
        text=f"{image_list(len(ctx))} Each image is a chart. In the chart of Image {image}, what value is "
             f"shown for the {first_column} '{category}'?",
        answer=answer,
        distractors=rng.sample(others, min(3, len(others))),
        summary=f"The question points to one chart (Image {image}) and asks for the value it shows for '{category}'.",
        captions=[caption_of(m) for m in ctx.metadata],
        text2region=[_chart(ctx, image)],
        region2region=[link(whole_ref(image, f"{first_column} {category}"), whole_ref(image, "value axis"),
                            "reads as", f"The mark for '{category}' in Image {image} stands at {answer}.")],
        rationale=f"Reading the chart in Image {image}, '{category}' stands at {answer}.",
        verified_by="metadata:data_table")


TASK = Task(id="chart_analysis", category="analytical", grouping="group",
            needs=lambda metadata: "data" in metadata, templates=(unique_top, read_value))
