"""The offline drafter: questions computed from metadata by each task's templates."""
import random

from ..interleaving import answer_from_knowledge, option_images, singles_out, text_only_choice, unstated_numbers
from ..records import content_id
from ..tasks import TASKS
from ..tasks.base import TaskContext, answer_ignores_images, leaks_answer, question_defaults
from .base import Drafted, DraftRejected
from .options import label_options


def _task_context(context, images, questions: dict) -> TaskContext:
    return TaskContext(task=context.task,
                       metadata=tuple(slot.image.metadata for slot in context.images),
                       transforms=tuple(slot.transform for slot in context.images),
                       sizes=tuple((im["width"], im["height"]) for im in images),
                       questions=questions)


PROBES = 6   # extra draws per template to see whether its answer depends on the images drawn


def refusal(template, question, ctx, probe_rngs) -> str:
    """Why a question must not be asked ("" when it may): its text singles out the answer, the
    text-only baseline (``interleaving.text_only_choice``: the option the question's words support
    best) picks the answer, a caption singles it out, or the answer is the same whatever images
    the template draws, or the text binds to the option images facts that knowledge then ranks
    (``interleaving.answer_from_knowledge``) (in each case answerable without the images); or its
    reasoning cites a number the question does not state (a fact no reader could have)."""
    if leaks_answer(question):
        return "answer_in_question"
    options = [question.answer, *question.distractors]
    if answer_from_knowledge(question.text, options, [e["label"] for e in question.text2region]):
        return "answer_from_knowledge"
    if text_only_choice(question.text, options) == 0:
        return "answer_in_text"
    if any(singles_out(caption, question.answer, question.distractors) for caption in question.captions):
        return "answer_in_captions"
    if unstated_numbers(to_draft(question, [{"label": "", "text": t} for t in options], "")):
        return "unstated_number"
    # Where the options are images, the same answer for every draw says only that the context holds
    # one fitting image; which one it is, answer_from_knowledge has made sure the text does not say.
    if option_images(options) is None and answer_ignores_images(template, ctx, probe_rngs):
        return "answer_ignores_images"
    return ""


def to_draft(question, options, answer_label) -> dict:
    return {"question": question.text, "options": options, "answer": answer_label,
            "reasoning": {"summary": question.summary, "captions": list(question.captions),
                          "text2region": list(question.text2region),
                          "region2region": list(question.region2region),
                          "conclusion": f"{question.rationale} Answer: {answer_label}"}}


class GroundedDrafter:
    name = "grounded"
    reads_pixels = False  # questions come from metadata and derivations alone

    def __init__(self, seed: int, questions: dict = None):
        """``questions``: the manifest's drafter.questions settings (None: the schema's defaults)."""
        self.seed, self.questions = seed, questions or question_defaults()

    def setup(self):
        pass

    def draft(self, context, images) -> Drafted:
        task = TASKS[context.task]
        ctx = _task_context(context, images, self.questions)
        rng = random.Random(content_id("templates", self.seed, context.id))
        refused = []
        for template in rng.sample(task.templates, len(task.templates)):
            question = template(ctx, rng)
            if question is None:
                continue
            probes = [random.Random(content_id("probe", self.seed, context.id, i)) for i in range(PROBES)]
            why = refusal(template, question, ctx, probes)
            if not why:
                break
            refused.append(f"{question.template}: {why}")
        else:
            # A task may know why none of its templates found anything (a clip with too little motion).
            unfit = getattr(task, "unfit", None)
            unfitting = unfit(ctx) if unfit and not refused else None
            if unfitting:
                raise DraftRejected(*unfitting)
            raise DraftRejected("no_grounded_question",
                                f"no {context.task} template can be answered from this context's metadata"
                                + (f" (refused {', '.join(refused)})" if refused else ""))
        options, label = label_options(question.answer, question.distractors, self.seed, context.id)
        # The "prompt" of this drafter is what it wrote: the sample's id follows from the question, its
        # options and answer, so code that is refactored and writes the same samples keeps their ids.
        written = content_id(question.text, options, label, length=12)
        return Drafted(draft=to_draft(question, options, label), drafter=self.name, template=question.template, model=None,
                       prompt_id=f"grounded/{context.task}", prompt_hash=written, verified=True,
                       method=question.verified_by, marks=question.marks)
