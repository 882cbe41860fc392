"""cooking_process: the steps of one procedure, shown shuffled; their order and what comes next."""
from .base import (Question, Task, caption_of, image_list, link, permutation_distractors, sequence_text,
                   whole_image, whole_ref)


def _in_order(ctx) -> list:
    """Image numbers sorted by step order; None when two images claim the same step."""
    orders = [m["order"] for m in ctx.metadata]
    if len(set(orders)) != len(orders):
        return None
    return sorted(range(1, len(ctx) + 1), key=lambda i: orders[i - 1])


def _steps(ctx, images) -> list:
    return [whole_image(f"the step in Image {i}", i, f"step: {caption_of(ctx.metadata[i - 1])}") for i in images]


def _chain(ctx, order) -> list:
    return [link(whole_ref(a, "step"), whole_ref(b, "step"), "comes before",
                 f"\"{caption_of(ctx.metadata[a - 1]).rstrip('.')}\" has to happen before "
                 f"\"{caption_of(ctx.metadata[b - 1]).rstrip('.')}\".") for a, b in zip(order, order[1:])]


def _intro(ctx) -> str:
    return f"{image_list(len(ctx))} The images show the steps of one procedure in a shuffled order."


def step_order(ctx, rng):
    order = _in_order(ctx)
    if order is None or len(order) < 3:
        return None
    return Question(
        template="step_order",
        text=f"{_intro(ctx)} In which order must the steps be done?",
        answer=sequence_text(order),
        distractors=[sequence_text(p) for p in permutation_distractors(order, rng)],
        summary="The images are the steps of one procedure, shuffled; each step needs what the earlier ones made.",
        captions=[caption_of(m) for m in ctx.metadata], text2region=_steps(ctx, order), region2region=_chain(ctx, order),
        rationale=f"Following what each step needs, the steps go {sequence_text(order)}.",
        verified_by="metadata:step_order")


def next_step(ctx, rng):
    order = _in_order(ctx)
    if order is None or len(order) < 3:
        return None
    position = rng.randrange(len(order) - 1)
    current, following = order[position], order[position + 1]
    return Question(
        template="next_step",
        text=f"{_intro(ctx)} Which image shows the step that comes directly after the step in Image {current}?",
        answer=f"Image {following}",
        distractors=[f"Image {i}" for i in rng.sample([i for i in order if i not in (current, following)],
                                                      min(3, len(order) - 2))],
        summary=f"The images are the shuffled steps of one procedure; the task is to find the step after Image {current}.",
        captions=[caption_of(m) for m in ctx.metadata], text2region=_steps(ctx, [current, following]),
        region2region=_chain(ctx, [current, following]),
        rationale=f"After \"{caption_of(ctx.metadata[current - 1]).rstrip('.')}\" comes "
                  f"\"{caption_of(ctx.metadata[following - 1]).rstrip('.')}\", shown in Image {following}.",
        verified_by="metadata:step_order")


TASK = Task(id="cooking_process", category="sequential", grouping="sequence", shuffled=True,
            needs=lambda metadata: "order" in metadata and bool(metadata.get("caption")),
            templates=(step_order, next_step))
