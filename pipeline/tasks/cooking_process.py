"""cooking_process: a recipe's instructions as text, in their true order, and its step pictures shown
shuffled; which picture shows which instruction, what comes next, and the pictures' true order.

The instructions are one numbered list in the text, and the text says that the pictures follow in a
shuffled order; each picture gets a neutral phrase of its own (never an instruction), so nothing in
the text ties a picture to a step: only what a picture shows does.
"""
from .base import (Question, Task, caption_of, image_options, interleaved, link, balanced_orderings,
                   sequence_text, whole_image, whole_ref)

# Neutral phrases for the pictures, in the order they are shown; none names or numbers a step.
_SHOWN = ("<image> is one of them,", "<image> is another,", "<image> is one more,", "<image> is a further one,",
          "<image> is yet another,", "<image> is another still,", "<image> is one more of them,")


def _in_order(ctx) -> list:
    """Image numbers sorted by step order; None when two images claim the same step or the same
    instruction (a quoted instruction must name one picture)."""
    orders = [m["order"] for m in ctx.metadata]
    said = [_instruction(ctx, i) for i in range(1, len(ctx) + 1)]
    if len(set(orders)) != len(orders) or len(set(said)) != len(said):
        return None
    return sorted(range(1, len(ctx) + 1), key=lambda i: orders[i - 1])


def _instruction(ctx, image: int) -> str:
    return caption_of(ctx.metadata[image - 1]).strip().rstrip(".")


def _recipe(ctx) -> str:
    """The procedure's name when every step picture gives the same one."""
    names = {(m.get("attributes") or {}).get("procedure") for m in ctx.metadata}
    name = names.pop() if len(names) == 1 else None
    return f"the recipe \"{name}\"" if isinstance(name, str) and name else "a recipe"


def _texts(ctx, order, marked=None, mark=""):
    """Per picture its text: the first holds the numbered instructions (true order) and says the pictures
    are shuffled; each picture gets a neutral phrase, except ``marked``, which gets ``mark``."""
    steps = "; ".join(f"({k}) {_instruction(ctx, image)}" for k, image in enumerate(order, start=1))
    out = []
    for i in range(1, len(ctx) + 1):
        phrase = mark if i == marked else _SHOWN[(i - 1) % len(_SHOWN)] if i < len(ctx) \
            else "and <image> is the last one shown."
        if i == 1:
            phrase = (f"The steps of {_recipe(ctx)} are, in order: {steps}. Here are pictures of these steps, "
                      f"in a shuffled order, so where a picture stands says nothing about its step: {phrase}")
        out.append(phrase)
    return out


def _step_number(order, image: int) -> int:
    return order.index(image) + 1


def _ground(ctx, images, phrases=None) -> list:
    """Text2Region: each picture in ``images`` as a whole, named by its instruction as the text quotes it
    (or by the phrase ``phrases`` gives it)."""
    phrases = phrases or {}
    return [whole_image(phrases.get(i, _instruction(ctx, i)), i, f"step picture: {_instruction(ctx, i)}")
            for i in images]


def _chain(ctx, order, pairs) -> list:
    return [link(whole_ref(a, "step picture"), whole_ref(b, "step picture"), "comes before",
                 f"Image {a} shows \"{_instruction(ctx, a)}\", step ({_step_number(order, a)}), and Image {b} shows "
                 f"\"{_instruction(ctx, b)}\", step ({_step_number(order, b)}), which comes next.")
            for a, b in pairs]


def _captions(ctx) -> list:
    return [f"A picture of the step \"{_instruction(ctx, i)}\"." for i in range(1, len(ctx) + 1)]


def step_order(ctx, rng):
    order = _in_order(ctx)
    if order is None or len(order) < 3:
        return None
    return Question(
        template="step_order",
        text=interleaved(_texts(ctx, order),
                         "Which order of the pictures follows the instructions from the first step to the last?"),
        answer=sequence_text(order),
        distractors=[sequence_text(p) for p in balanced_orderings(order, rng)],
        summary="The text lists the recipe's instructions in order and shows their pictures shuffled; matching "
                "each picture to the instruction it shows puts the pictures in order.",
        captions=_captions(ctx), text2region=_ground(ctx, order),
        region2region=_chain(ctx, order, list(zip(order, order[1:]))),
        rationale="Matching each picture to the instruction it shows and reading the instructions in their "
                  f"numbered order gives the pictures in the order {sequence_text(order)}.",
        verified_by="metadata:step_order")


def image_of_step(ctx, rng):
    """Which picture shows a drawn instruction (quoted and numbered as in the list)."""
    order = _in_order(ctx)
    if order is None or len(order) < 3:
        return None
    image = rng.choice(order)
    step = _step_number(order, image)
    # The pictures of the steps around it tell similar-looking pictures apart.
    around = [i for i in (order[step - 2] if step > 1 else None, order[step] if step < len(order) else None) if i]
    quoted = f"step ({step}), \"{_instruction(ctx, image)}\""
    pairs = [(a, b) for a, b in zip(order, order[1:]) if image in (a, b)]
    return Question(
        template="image_of_step",
        text=interleaved(_texts(ctx, order), f"Which image shows {quoted}?"),
        answer=f"Image {image}",
        distractors=image_options(image, len(ctx), rng, among=order),
        summary=f"The text lists the recipe's instructions and shows their pictures shuffled; the task is to find "
                f"the picture of step ({step}).",
        captions=_captions(ctx), text2region=_ground(ctx, [image, *around], {image: quoted}),
        region2region=_chain(ctx, order, pairs),
        rationale=f"Of the pictures, only Image {image} shows \"{_instruction(ctx, image)}\"; the pictures of the "
                  "steps before and after it show what comes just before and after it.",
        verified_by="metadata:step_order")


def next_step(ctx, rng):
    """One picture is marked in the text as the step just finished: which picture shows the next step?"""
    order = _in_order(ctx)
    if order is None or len(order) < 3:
        return None
    position = rng.randrange(len(order) - 1)
    current, following = order[position], order[position + 1]
    mark = "<image> shows the step the cook has just finished," if current < len(ctx) \
        else "and <image> shows the step the cook has just finished."
    done = "the step the cook has just finished"
    return Question(
        template="next_step",
        text=interleaved(_texts(ctx, order, marked=current, mark=mark),
                         "Which image shows the step that comes directly after the one the cook has just finished?"),
        answer=f"Image {following}",
        distractors=[f"Image {i}" for i in rng.sample([i for i in order if i not in (current, following)],
                                                      min(3, len(order) - 2))],
        summary="The text lists the recipe's instructions, shows their pictures shuffled and marks one picture as the "
                "step just finished; the task is to find the picture of the instruction after it.",
        captions=_captions(ctx),
        text2region=_ground(ctx, [current, following], {current: done}),
        region2region=_chain(ctx, order, [(current, following)]),
        rationale=f"The picture marked as just finished, Image {current}, shows \"{_instruction(ctx, current)}\", "
                  f"step ({position + 1}); the next instruction, \"{_instruction(ctx, following)}\", is shown in "
                  f"Image {following}.",
        verified_by="metadata:step_order")


TASK = Task(id="cooking_process", category="sequential", grouping="sequence", shuffled=True,
            needs=lambda metadata: "order" in metadata and bool(metadata.get("caption")),
            templates=(step_order, image_of_step, next_step))
