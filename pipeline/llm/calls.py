"""Calling an endpoint politely: retries with backoff and jitter, a retry budget, rate limits.

Per-request retries are ours rather than the openai client's because each retry must be counted
by cause, honour Retry-After, draw on a budget shared by the worker, and use a configurable
base delay.
"""
import collections
import json
import random
import threading
import time

# openai is imported in the functions that use it, not here: a build without an LLM (and each of its
# worker processes) then never pays its 0.5 s import.

# failure cause -> is it worth retrying?
RETRYABLE = {"rate_limited": True, "server_error": True, "timeout": True, "connection_error": True,
             "client_error": False, "bad_reply": False}


class CallFailed(Exception):
    """A request that failed for good; ``cause`` is a key of RETRYABLE; ``param`` the request
    parameter the server's error names, when it names one."""

    def __init__(self, cause: str, detail: str, retry_after=None, param=None):
        super().__init__(detail)
        self.cause, self.retry_after, self.param = cause, retry_after, param


def _retry_after(response):
    """Seconds from a Retry-After header (seconds form), or None."""
    try:
        return float(response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None


MESSAGE_CHARS = 300   # of a server's error message kept in rejects, reports and the one-line error


def server_message(exc) -> str:
    """The server's own words in an error reply, on one line, at most MESSAGE_CHARS characters:
    the error object's ``message`` (OpenAI, vLLM, Ollama all send one, at the top level or under
    ``error``; the client hands over the inner object), a bare string, or the body's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        body = inner.get("message") or json.dumps(inner) if isinstance(inner, dict) else inner
    if not body:
        response = getattr(exc, "response", None)
        body = getattr(response, "text", "") if response is not None else ""
    return clipped(body)


def clipped(said) -> str:
    """What a server said, on one line of at most MESSAGE_CHARS characters."""
    text = " ".join(str(said).split())
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 3] + "..."


def _param(exc):
    body = getattr(exc, "body", None)
    return body.get("param") if isinstance(body, dict) and isinstance(body.get("param"), str) else None


def classify(exc: Exception) -> CallFailed:
    """The failure cause of an exception raised by the openai client."""
    import openai
    if isinstance(exc, openai.APITimeoutError):
        return CallFailed("timeout", "the request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return CallFailed("connection_error", f"connection failed: {exc.__class__.__name__}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        cause = ("rate_limited" if status == 429 else "server_error" if status >= 500 or status == 408
                 else "client_error")
        said = server_message(exc)
        return CallFailed(cause, f"HTTP {status}: {said}" if said else f"HTTP {status}", _retry_after(exc.response),
                          _param(exc))
    return CallFailed("client_error", f"{exc.__class__.__name__}")


class RetryBudget:
    """Retries allowed per worker: a floor plus a share of the requests made, so an endpoint that
    keeps failing ends in rejects rather than in retrying forever."""
    FLOOR = 10

    def __init__(self, ratio: float):
        self.ratio, self.requests, self.retries = ratio, 0, 0
        self.lock = threading.Lock()

    def note_request(self):
        with self.lock:
            self.requests += 1

    def take(self) -> bool:
        with self.lock:
            if self.retries >= self.FLOOR + self.ratio * self.requests:
                return False
            self.retries += 1
            return True


class RateLimiter:
    """Client-side requests- and tokens-per-minute limits over a sliding minute (0 = no limit)."""
    WINDOW = 60.0

    def __init__(self, requests_per_minute: int, tokens_per_minute: int):
        self.rpm, self.tpm = requests_per_minute, tokens_per_minute
        self.sent = collections.deque()  # (time, tokens)
        self.lock = threading.Lock()

    def _wait_needed(self, tokens: int, now: float) -> float:
        while self.sent and now - self.sent[0][0] >= self.WINDOW:
            self.sent.popleft()
        used = sum(t for _, t in self.sent)
        full = (self.rpm and len(self.sent) >= self.rpm) or (self.tpm and self.sent and used + tokens > self.tpm)
        return self.WINDOW - (now - self.sent[0][0]) if full else 0.0

    def acquire(self, tokens: int) -> list:
        """Block until a request of about ``tokens`` may go; returns its entry for ``settle``."""
        while True:
            with self.lock:
                wait = self._wait_needed(tokens, time.monotonic())
                if not wait:
                    entry = [time.monotonic(), tokens]
                    self.sent.append(entry)
                    return entry
            time.sleep(wait)

    def settle(self, entry: list, tokens: int) -> None:
        """Replace the estimate with the tokens the call really used."""
        with self.lock:
            entry[1] = tokens


def backoff(attempt: int, base: float, cap: float, retry_after) -> float:
    """Exponential backoff with full jitter; a longer Retry-After wins."""
    delay = random.uniform(0, min(cap, base * 2 ** attempt))
    return max(delay, retry_after or 0.0)


def with_retries(call, *, max_retries: int, base: float, cap: float, budget: RetryBudget, count):
    """``call()`` until it succeeds, retrying retryable failures; ``count(name)`` records each
    request and retry. Raises CallFailed when out of retries or budget."""
    import openai
    attempt = 0
    while True:
        budget.note_request()
        count("calls")
        try:
            return call()
        except openai.APIError as exc:
            failure = classify(exc)
        count(f"errors.{failure.cause}")
        if not RETRYABLE[failure.cause] or attempt >= max_retries:
            raise failure
        if not budget.take():
            raise CallFailed(failure.cause, f"{failure} (retry budget exhausted)")
        count("retries")
        time.sleep(backoff(attempt, base, cap, failure.retry_after))
        attempt += 1
