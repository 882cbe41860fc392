"""One OpenAI-compatible Chat Completions endpoint, as the openai drafter and the solver use it.

``ChatEndpoint.reply(messages, schema_name, schema)`` returns the model's reply: from the
content-addressed response cache, or from a call made politely (own retries with backoff, a retry
budget and rate limits from ``calls``) that asks for a strict ``json_schema``, shaped as the
endpoint takes it (``refusals``: a parameter it refuses is learnt from its error and left out or
renamed from then on, and the request sent again). Only replies the caller can use are cached
(a draft that parses, a choice that reads, a refusal or a content filter: the model's answer too);
a request that failed, or a reply that does not parse, stores nothing, so the next build asks
again. ``reply`` is thread-safe; what it counted (calls, retries, errors by cause,
tokens, cache hits) is collected with ``drain_stats()`` so the caller can bump Beam counters on
its own thread.
"""
import collections
import functools
import hashlib
import json
import os
import threading

from ..storage import read_bytes
from .cache import ResponseCache, cache_key
from .calls import CallFailed, RateLimiter, RetryBudget, clipped, with_retries
from .refusals import COUNTERS, RequestShape, refused
from .requests import response_format
from .text import reply_text


# openai is imported in the functions that use it, not here: a build without an LLM (and each of its
# worker processes) then never pays its 0.5 s import.

SAID_KINDS = 10   # different error messages of a server counted per client (a bound on counter names)


def strings_mapped(node, fn):
    """``node`` (JSON-like) with ``fn`` applied to every string in it."""
    if isinstance(node, str):
        return fn(node)
    if isinstance(node, list):
        return [strings_mapped(n, fn) for n in node]
    if isinstance(node, dict):
        return {k: strings_mapped(v, fn) for k, v in node.items()}
    return node


def _hash_data_url(text: str) -> str:
    if not text.startswith("data:"):
        return text
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def _images_hashed(request):
    """The request with every data URL replaced by its hash: the cache key names images by content."""
    return strings_mapped(request, _hash_data_url)


def api_key(settings: dict) -> str:
    """The endpoint's key: the contents of ``api_key_file`` (a file or URI read through Beam's
    FileSystems, so a Dataflow worker reads it from the bucket with its own credentials and the
    key is never part of the job's options or graph), else OPENAI_API_KEY, else empty."""
    if settings.get("api_key_file"):
        return read_bytes(settings["api_key_file"]).decode("utf-8").strip()
    return os.environ.get("OPENAI_API_KEY", "")


def client_for(settings: dict, timeout: float, max_retries: int):
    """An openai client of the endpoint ``settings`` name. The key is read here and handed to the
    client only: never logged, cached or written."""
    import openai
    return openai.OpenAI(api_key=api_key(settings) or "not-needed", base_url=settings["base_url"], timeout=timeout,
                         max_retries=max_retries)


def _empty_reply(completion) -> str:
    """Why a 200 reply holds no answer: the error object some servers send under 200, or no choices."""
    error = getattr(completion, "error", None) or (getattr(completion, "model_extra", None) or {}).get("error")
    if isinstance(error, dict):
        error = error.get("message") or json.dumps(error)
    return f"the server answered 200 with an error: {clipped(error)}" if error else \
        "the server answered 200 with no choices"


class ChatEndpoint:
    """``settings`` is a ``$defs/openai_drafter`` section of the manifest schema, defaults filled."""

    def __init__(self, settings: dict):
        self.settings = settings

    def setup(self):
        s = self.settings
        self.client = client_for(s, s["timeout"], max_retries=0)   # retries are ours (calls.py)
        self.cache = ResponseCache(s["cache_location"]) if s["cache_location"] else None
        self.budget = RetryBudget(s["retry_budget"])
        self.limiter = RateLimiter(s["requests_per_minute"], s["tokens_per_minute"])
        self.shape = RequestShape()  # what the endpoint takes, learnt from what it refuses
        self.said = set()            # the server's messages counted so far
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

    def _create(self, sent: list, schema_name: str, schema: dict, params: dict, shape: RequestShape):
        s = self.settings
        optional = {shape.tokens_key: s["max_tokens"], **({"temperature": s["temperature"]} if shape.temperature else {})}
        return self.client.chat.completions.create(
            model=s["model"], messages=sent, response_format=response_format(schema_name, schema, shape.structured),
            **optional, **params)

    def _adapted(self, failure: CallFailed, sent_shape: RequestShape):
        """The shape to send again with when ``failure`` refuses a parameter the request used, learnt
        for the endpoint (with what other threads learnt meanwhile); None when it refuses nothing
        the request used. A request in flight while another thread learnt the same is sent again."""
        param = refused(failure)
        without = sent_shape.without(param) if param else None
        if without is None:
            return None
        with self.lock:
            if self.shape.without(param) is not None:
                self.stats[COUNTERS[param]] += 1
            self.shape = self.shape.merged(without)
            return self.shape

    def _completion(self, sent: list, schema_name: str, schema: dict, params: dict):
        s = self.settings
        retry = dict(max_retries=s["max_retries"], base=s["retry_base_delay"], cap=s["retry_max_delay"],
                     budget=self.budget, count=self.count)
        shape = self.shape
        while True:
            try:
                return with_retries(functools.partial(self._create, sent, schema_name, schema, params, shape), **retry)
            except CallFailed as failure:
                shape = self._adapted(failure, shape)
                if shape is None:
                    self._note_said(failure)
                    raise

    def _note_said(self, failure: CallFailed) -> None:
        """Count what the server said when a request failed for good (``said.<HTTP status: message>``,
        for the report), at most SAID_KINDS different messages per endpoint client."""
        said = str(failure)
        if not said.startswith("HTTP "):
            return
        with self.lock:
            if said in self.said or len(self.said) < SAID_KINDS:
                self.said.add(said)
                self.stats[f"said.{said}"] += 1

    def _call(self, sent: list, schema_name: str, schema: dict, params: dict) -> dict:
        estimate = len(json.dumps(sent)) // 4 + self.settings["max_tokens"]
        entry = self.limiter.acquire(estimate)
        completion = self._completion(sent, schema_name, schema, params)
        usage = completion.usage
        self.limiter.settle(entry, usage.total_tokens if usage else estimate)
        if usage:
            self.count("prompt_tokens", usage.prompt_tokens)
            self.count("completion_tokens", usage.completion_tokens)
        if not completion.choices:
            raise CallFailed("bad_reply", _empty_reply(completion))
        choice = completion.choices[0]
        return {"content": reply_text(choice.message.content), "finish_reason": choice.finish_reason,
                "refusal": getattr(choice.message, "refusal", None)}

    def reply(self, sent: list, schema_name: str, schema: dict, keep=None, **params) -> dict:
        """The model's reply ({content, finish_reason, refusal}) to ``sent``, asking for JSON shaped
        by ``schema``. ``params`` are further request parameters (such as ``seed``); they are part of
        the cache key, with the endpoint's base URL and model. Only a reply ``keep(reply)`` finds
        usable is stored (one that does not parse is asked for again by the next build). Raises
        CallFailed when the request failed for good (out of retries, or a client error): nothing is
        cached then."""
        s = self.settings
        key = cache_key({"base_url": s["base_url"].rstrip("/"), "model": s["model"], "temperature": s["temperature"],
                         "max_tokens": s["max_tokens"], "messages": _images_hashed(sent), **params})
        reply = self.cache.get(key) if self.cache and s["cache"] else None
        if reply is not None:
            self.count("cache_hits")
            return reply
        reply = self._call(sent, schema_name, schema, params)
        if self.cache and (keep is None or keep(reply)):
            self.cache.put(key, reply)
        return reply
