"""The ``openai`` drafter: any OpenAI-compatible Chat Completions endpoint writes the draft.

One ``draft()`` call: compute the grounded question (when metadata fixes an answer), ask the
model (cache first), check the reply with the judge of ``mir validate``, re-ask once listing
the problems, compare the model's answer with the grounded one, then reorder the options
deterministically and remap every label the reasoning cites. ``draft()`` is thread-safe, so the
Draft stage runs many at once; what it counted is collected with ``drain_stats()``.
"""
import collections
import hashlib
import json
import os
import re
import threading

import openai

from ..judge import CONCLUSION_ANSWER
from ..llm_cache import ResponseCache, cache_key
from . import Drafted, DraftRejected
from .calls import CallFailed, RateLimiter, RetryBudget, with_retries
from .grounded import GroundedDrafter
from .options import label_options
from .prompting import load_prompt, messages, reask, response_format, user_content

CITATION = re.compile(r"\[option ([A-H])\]")
# Prompt tokens an image costs, for the tokens-per-minute estimate made before a call.
IMAGE_TOKENS = 800


def _normal(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".")


def _strings_mapped(node, fn):
    if isinstance(node, str):
        return fn(node)
    if isinstance(node, list):
        return [_strings_mapped(n, fn) for n in node]
    if isinstance(node, dict):
        return {k: _strings_mapped(v, fn) for k, v in node.items()}
    return node


def _hash_data_url(text: str) -> str:
    if not text.startswith("data:"):
        return text
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def _images_hashed(request):
    """The request with every data URL replaced by its hash: the cache key names images by content."""
    return _strings_mapped(request, _hash_data_url)


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
    reasoning = _strings_mapped(draft["reasoning"], lambda s: CITATION.sub(lambda m: f"option {new_label[m.group(1)]}", s))
    ending = CONCLUSION_ANSWER.search(reasoning["conclusion"])
    stem = reasoning["conclusion"][:ending.start()] if ending else reasoning["conclusion"] + " "
    reasoning["conclusion"] = f"{stem}Answer: {answer}"
    return dict(draft, options=options, answer=answer, reasoning=reasoning)


class OpenAIDrafter:
    name = "openai"

    def __init__(self, settings: dict, seed: int):
        self.settings, self.seed = settings, seed

    def setup(self):
        s = self.settings
        # The key is read here and handed to the client only: never logged, cached or written.
        self.client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
                                    base_url=s["base_url"], timeout=s["timeout"], max_retries=0)
        self.grounded = GroundedDrafter(seed=self.seed)
        self.grounded.setup()
        self.cache = ResponseCache(s["cache_location"]) if s["cache_location"] else None
        self.budget = RetryBudget(s["retry_budget"])
        self.limiter = RateLimiter(s["requests_per_minute"], s["tokens_per_minute"])
        self.structured = True  # json_schema until the endpoint rejects it, then JSON mode
        self.stats = collections.Counter()
        self.lock = threading.Lock()

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.stats[name] += n

    def drain_stats(self) -> dict:
        """What was counted since the last call; Beam counters must be bumped on the DoFn's thread."""
        with self.lock:
            drained, self.stats = dict(self.stats), collections.Counter()
        return drained

    # --- one request -------------------------------------------------------------------------

    def _create(self, sent: list):
        return self.client.chat.completions.create(
            model=self.settings["model"], messages=sent, temperature=self.settings["temperature"],
            max_tokens=self.settings["max_tokens"], response_format=response_format(self.structured))

    def _call(self, sent: list) -> dict:
        s = self.settings
        estimate = len(json.dumps(sent)) // 4 + s["max_tokens"]
        entry = self.limiter.acquire(estimate)
        retry = dict(max_retries=s["max_retries"], base=s["retry_base_delay"], cap=s["retry_max_delay"],
                     budget=self.budget, count=self.count)
        try:
            completion = with_retries(lambda: self._create(sent), **retry)
        except CallFailed as failure:
            if failure.cause != "client_error" or not self.structured:
                raise
            self.structured = False  # the endpoint does not take json_schema: JSON mode from now on
            self.count("json_mode_fallbacks")
            completion = with_retries(lambda: self._create(sent), **retry)
        usage = completion.usage
        self.limiter.settle(entry, usage.total_tokens if usage else estimate)
        if usage:
            self.count("prompt_tokens", usage.prompt_tokens)
            self.count("completion_tokens", usage.completion_tokens)
        choice = completion.choices[0]
        return {"content": choice.message.content, "finish_reason": choice.finish_reason,
                "refusal": getattr(choice.message, "refusal", None)}

    def _reply(self, sent: list) -> dict:
        """The model's reply to ``sent``: from the cache, or from a call stored as it arrives."""
        s = self.settings
        key = cache_key({"model": s["model"], "temperature": s["temperature"], "max_tokens": s["max_tokens"],
                         "messages": _images_hashed(sent)})
        reply = self.cache.get(key) if self.cache and s["cache"] else None
        if reply is not None:
            self.count("cache_hits")
        else:
            reply = self._fresh_reply(sent, key)
        if "failed" in reply:
            raise DraftRejected(reply["failed"], f"LLM request failed: {reply['detail']}")
        return reply

    def _fresh_reply(self, sent: list, key: str) -> dict:
        try:
            reply = self._call(sent)
        except CallFailed as failure:
            if failure.cause == "client_error":
                raise DraftRejected(failure.cause, f"LLM request failed: {failure}") from None
            # Out of retries: remembered too, so a rerun makes no calls; --no-cache tries again.
            reply = {"failed": failure.cause, "detail": str(failure)}
        if self.cache:
            self.cache.put(key, reply)
        return reply

    # --- one draft ---------------------------------------------------------------------------

    def _read(self, reply: dict, context, images, as_drafted):
        """(draft, problems, reason): the parsed draft and what is wrong with it."""
        from ..draft import draft_problems  # the Draft stage owns sample assembly
        if reply["refusal"] or reply["finish_reason"] == "content_filter":
            raise DraftRejected("refused", f"the model refused: {reply['refusal'] or 'content filter'}")
        if reply["finish_reason"] == "length":
            return None, ["the reply was cut off at the token limit: write shorter reasoning"], "truncated"
        try:
            draft = json.loads(reply["content"] or "")
        except ValueError:
            return None, ["the reply is not a JSON object"], "invalid_json"
        problems = [str(p) for p in draft_problems(context, as_drafted(draft), images)]
        return draft, problems or citation_problems(draft), "invalid_draft"

    def _checked_draft(self, context, images, sent: list, as_drafted) -> dict:
        reply = self._reply(sent)
        draft, problems, reason = self._read(reply, context, images, as_drafted)
        if problems:
            self.count("reasks")
            reply = self._reply(reask(sent, reply["content"] or "", problems))
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
        content = user_content(context, images, grounded, vision=self.settings["vision"],
                               side=self.settings["image_side"])
        def as_drafted(draft: dict) -> Drafted:
            return Drafted(draft=draft, drafter=self.name, template=grounded.template if grounded else "free",
                           model=self.settings["model"], prompt_id=prompt.id, prompt_hash=prompt.hash,
                           verified=grounded is not None,
                           method=f"{grounded.method}+llm_agreed" if grounded else "llm:unverified")

        draft = self._checked_draft(context, images, messages(prompt, content), as_drafted)
        if grounded:
            self._check_answer(draft, grounded)
        return as_drafted(relabelled(draft, self.seed, context.id))
