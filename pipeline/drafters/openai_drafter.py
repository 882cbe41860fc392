"""The ``openai`` drafter: any OpenAI-compatible Chat Completions endpoint writes the draft.

One ``draft()`` call: compute the grounded question (when metadata fixes an answer), ask the
model (cache first), check the reply with the judge of ``mir validate``, re-ask once listing
the problems, compare the model's answer with the grounded one, then reorder the options
deterministically and remap every label the reasoning cites. ``draft()`` is thread-safe, so the
Draft stage runs many at once; what it counted is collected with ``drain_stats()``.
"""
import json
import re

from ..images.views import marked
from ..llm.calls import CallFailed
from ..llm.endpoint import ChatEndpoint, strings_mapped
from ..llm.requests import messages, reask
from ..interleaving import is_interleaved, knowledge_hold, unstated_numbers
from ..llm.text import first_json_object
from ..samples.judge import CONCLUSION_ANSWER
from ..schemas import load_schema
from .base import Drafted, DraftRejected
from .grounded import GroundedDrafter
from .options import label_options
from .prompting import load_prompt, user_content
from .sample import draft_problems

CITATION = re.compile(r"\[option ([A-H])\]")
NOT_INTERLEAVED = ("$.question: the images are listed before the question instead of placed in its text: write "
                   "each image's own text around its <image> (the facts bound to it next to it), with text of its "
                   "own between every two images")

FROM_KNOWLEDGE = ("List the objects the images show in no particular order instead of saying which image shows which, "
                  "and never make the options things the question's text names")


def _normal(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".")


def citation_problems(draft: dict) -> list:
    labels = {o["label"] for o in draft["options"]}
    cited = set(CITATION.findall(json.dumps(draft["reasoning"])))
    return [f"$.reasoning: cites [option {x}] but there is no option {x}" for x in sorted(cited - labels)]


def relabelled(draft: dict, seed: int, context_id: str) -> dict:
    """The draft with options in the balanced order of options.label_options, and every
    ``[option X]`` citation and the final "Answer: X" following its option to its new label."""
    texts = {o["label"]: o["text"] for o in draft["options"]}
    others = [text for label, text in texts.items() if label != draft["answer"]]
    options, answer = label_options(texts[draft["answer"]], others, seed, context_id)
    new_label = {old: next(o["label"] for o in options if o["text"] == text) for old, text in texts.items()}
    reasoning = strings_mapped(draft["reasoning"], lambda s: CITATION.sub(lambda m: f"option {new_label[m.group(1)]}", s))
    ending = CONCLUSION_ANSWER.search(reasoning["conclusion"])
    stem = reasoning["conclusion"][:ending.start()] if ending else reasoning["conclusion"] + " "
    reasoning["conclusion"] = f"{stem}Answer: {answer}"
    return dict(draft, options=options, answer=answer, reasoning=reasoning)


class OpenAIDrafter:
    name = "openai"

    def __init__(self, settings: dict, seed: int, questions: dict = None):
        self.settings, self.seed, self.questions = settings, seed, questions
        self.reads_pixels = settings["vision"]  # images go to the model as data URLs

    def setup(self):
        self.endpoint = ChatEndpoint(self.settings)
        self.endpoint.setup()
        self.grounded = GroundedDrafter(seed=self.seed, questions=self.questions)
        self.grounded.setup()

    def count(self, name: str, n: int = 1) -> None:
        self.endpoint.count(name, n)

    def drain_stats(self) -> dict:
        """What was counted since the last call; Beam counters must be bumped on the DoFn's thread."""
        return self.endpoint.drain_stats()

    def _reply(self, sent: list, usable) -> dict:
        try:
            return self.endpoint.reply(sent, "draft", load_schema("draft"), keep=usable)
        except CallFailed as failure:
            raise DraftRejected(failure.cause, f"LLM request failed: {failure}") from None

    # --- one draft ---------------------------------------------------------------------------

    def _read(self, reply: dict, context, images, as_drafted):
        """(draft, problems, reason): the parsed draft and what is wrong with it."""
        if reply["refusal"] or reply["finish_reason"] == "content_filter":
            raise DraftRejected("refused", f"the model refused: {reply['refusal'] or 'content filter'}")
        if reply["finish_reason"] == "length":
            return None, ["the reply was cut off at the token limit: write shorter reasoning"], "truncated"
        draft = first_json_object(reply["content"])
        if draft is None:
            return None, ["the reply holds no JSON object"], "invalid_json"
        problems = [str(p) for p in draft_problems(context, as_drafted(draft), images)]
        problems = problems or citation_problems(draft) or [
            f"$.reasoning: cites {n}, which neither the question's text nor an option states: cite only facts the "
            "text states or a reader can see" for n in sorted(unstated_numbers(draft))]
        if problems:
            return draft, problems, "invalid_draft"
        if not is_interleaved(draft["question"]):
            return draft, [NOT_INTERLEAVED], "not_interleaved"
        if hold := knowledge_hold(draft):
            return draft, [f"$.question: answerable from knowledge without the images: {hold}. {FROM_KNOWLEDGE}"], \
                "answer_from_knowledge"
        return draft, [], ""

    def _checked_draft(self, context, images, sent: list, as_drafted) -> dict:
        def usable(reply: dict) -> bool:
            """A draft without problems, or the model's refusal, is kept in the cache."""
            try:
                return not self._read(reply, context, images, as_drafted)[1]
            except DraftRejected:
                return True

        reply = self._reply(sent, usable)
        draft, problems, reason = self._read(reply, context, images, as_drafted)
        if problems:
            self.count("reasks")
            reply = self._reply(reask(sent, reply["content"] or "", problems), usable)
            draft, problems, reason = self._read(reply, context, images, as_drafted)
        if problems:
            raise DraftRejected(reason, "; ".join(problems[:3]))
        return draft

    def _grounded(self, context, images):
        try:
            return self.grounded.draft(context, images)
        except DraftRejected:
            return None  # metadata fixes no answer here: the model's answer stands unverified

    def _check_answer(self, draft: dict, grounded) -> None:
        said = next(o["text"] for o in draft["options"] if o["label"] == draft["answer"])
        truth = next(o["text"] for o in grounded.draft["options"] if o["label"] == grounded.draft["answer"])
        agreed = _normal(said) == _normal(truth)
        self.count("grounding.agreed" if agreed else "grounding.disagreed")
        if not agreed:
            raise DraftRejected("answer_mismatch", f"the model answered {said!r}; the metadata says {truth!r}")

    def draft(self, context, images) -> Drafted:
        try:
            return self._draft(context, images)
        except DraftRejected as rejected:
            self.count(f"failures.{rejected.reason}")
            raise

    def _draft(self, context, images) -> Drafted:
        prompt = load_prompt(context.task)
        grounded = self._grounded(context, images)
        if grounded and grounded.marks:  # the model sees the boxes the question points at, as the sample will
            context = marked(context, grounded.marks)
        content = user_content(context, images, grounded, vision=self.settings["vision"],
                               side=self.settings["image_side"])
        def as_drafted(draft: dict) -> Drafted:
            return Drafted(draft=draft, drafter=self.name, template=grounded.template if grounded else "free",
                           model=self.settings["model"], prompt_id=prompt.id, prompt_hash=prompt.hash,
                           verified=grounded is not None,
                           method=f"{grounded.method}+llm_agreed" if grounded else "llm:unverified",
                           marks=grounded.marks if grounded else {})

        draft = self._checked_draft(context, images, messages(prompt, content), as_drafted)
        if grounded:
            self._check_answer(draft, grounded)
        return as_drafted(relabelled(draft, self.seed, context.id))
