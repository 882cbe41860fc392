"""A real HTTP server on 127.0.0.1 speaking the Chat Completions API, with injected faults.

The "model" answers from the grounded facts in the request: it copies the grounded question and
candidates and picks the candidate named first in the decisive facts. A fault is chosen by a
token ``fault:<name>`` anywhere in the request (tests put it in an image caption):

  rate_limit   first request 429 with Retry-After      server_error  first request 500
  slow         first request answered only once the client gave up on it (it hung up), or after
               ``slow_seconds`` at most          drop          first request: connection closed
  always_500   every request 500                        invalid_json  every reply not JSON
  invalid_json_once  first reply not JSON, the re-ask fixed   schema_invalid  every reply misses keys
  length       finish_reason=length                     refusal       a refusal
  wrong_answer picks a candidate the facts do not support
  fenced       the JSON wrapped in a Markdown ```json fence, as many models reply
  front_loaded every reply lists the images before the question   front_loaded_once  the re-ask interleaves
  knowledge_bound  every reply says which image shows which named object   knowledge_bound_once  the re-ask does not
  prose_json   the JSON after a sentence and before a remark    think_json  a <think> block, then the JSON in a fence
  parts        content as a list of parts (text parts holding the JSON)
  reasoning_field  the draft in content, a JSON-looking thought in reasoning_content (vLLM's reasoning parser)
  no_choices   200 with an empty choices list                   error_200  200 carrying an error object, no choices
  too_long     400 as vLLM says a prompt is over its window (naming max_tokens, refusing nothing)

What the server refuses, as the real ones say it (``refuses``): "max_tokens" and "temperature" as
OpenAI's reasoning models do (400, an OpenAI error object naming ``param``), "json_schema" as a
server without structured outputs does (400, vLLM's top-level error object, no ``param``).
"""
import collections
import json
import re
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULT = re.compile(r"fault:([a-z_0-9]+)")
# refused parameter -> (is it in a request, the 400 the server answers)
REFUSALS = {
    "max_tokens": (lambda body: "max_tokens" in body, {"error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                   "'max_completion_tokens' instead.", "type": "invalid_request_error", "param": "max_tokens",
        "code": "unsupported_parameter"}}),
    "temperature": (lambda body: "temperature" in body, {"error": {
        "message": "Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) "
                   "value is supported.", "type": "invalid_request_error", "param": "temperature",
        "code": "unsupported_value"}}),
    "json_schema": (lambda body: body.get("response_format", {}).get("type") == "json_schema", {
        "object": "error", "message": "response_format of type 'json_schema' is not supported by this server",
        "type": "BadRequestError", "param": None, "code": 400}),
}
TOO_LONG = {"object": "error", "type": "BadRequestError", "param": None, "code": 400, "message":
            "'max_tokens' or 'max_completion_tokens' is too large: 4096. This model's maximum context length is "
            "8192 tokens and your request has 5174 input tokens (4096 > 8192 - 5174)."}
FACTS = re.compile(r"```json\n(.*?)\n```", re.S)
FIRST_TRY_FAULTS = {"rate_limit", "server_error", "slow", "drop"}


def _facts(body: dict) -> dict:
    user = next(m for m in body["messages"] if m["role"] == "user")
    text = user["content"] if isinstance(user["content"], str) else user["content"][0]["text"]
    return json.loads(FACTS.search(text).group(1))


def _pick(grounded: dict, wrong: bool) -> int:
    """Index of the candidate named first in the decisive facts (or another one if ``wrong``)."""
    facts = json.dumps(grounded["region2region"]) + json.dumps(grounded["text2region"])
    places = [(facts.find(c) if c in facts else len(facts), i) for i, c in enumerate(grounded["candidates"])]
    right = min(places)[1]
    return (right + 1) % len(grounded["candidates"]) if wrong else right


def model_draft(body: dict, wrong: bool = False) -> dict:
    facts = _facts(body)
    n, grounded = facts["image_count"], facts["grounded"]
    if grounded:
        question, candidates = grounded["question"], grounded["candidates"]
        answer, t2r, r2r = _pick(grounded, wrong), grounded["text2region"], grounded["region2region"]
    else:
        question = " ".join(f"<image> is picture number {i} of the set." for i in range(1, n + 1)) + \
            " Are these images in colour?"
        candidates, answer, t2r, r2r = ["Yes", "No"], 0, [], []
    labels = "ABCDEFGH"
    other = labels[(answer + 1) % len(candidates)]
    return {"question": question, "options": [{"label": labels[i], "text": c} for i, c in enumerate(candidates)],
            "answer": labels[answer],
            "reasoning": {"summary": f"The question compares {n} images.",
                          "captions": [f"Image {i} of the set." for i in range(1, n + 1)],
                          "text2region": t2r, "region2region": r2r,
                          "conclusion": f"The facts support [option {labels[answer]}], not [option {other}]. "
                                        f"Answer: {labels[answer]}"}}


def completion(content, finish_reason="stop", refusal=None) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": "fake-model",
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": content, "refusal": refusal}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}}


class FakeOpenAIServer:
    def __init__(self, latency: float = 0.0, slow_seconds: float = 120.0, retry_after: str = "0.05",
                 refuses=(), models=None, key=None, style=None):
        """``models``: model id -> context window (None: not reported, as OpenAI and Ollama list
        them) for GET /models, which a server without ``models`` does not offer (404); ``key``: the
        only API key the model list accepts; ``style``: the reply shape (a fault such as think_json) of
        every request that names no fault of its own, as a server that always answers so."""
        self.latency, self.slow_seconds, self.retry_after = latency, slow_seconds, retry_after
        self.refuses, self.models, self.key, self.style = tuple(refuses), models, key, style
        self.log = []                           # one dict per request received
        self.attempts = collections.Counter()   # (fault, conversation) -> requests seen
        self.abandoned = 0                      # requests held until their client hung up
        self.current = threading.local()        # the connection of the request this thread serves
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)   # notified when ``abandoned`` grows
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self, **match) -> list:
        with self.lock:
            return [r for r in self.log if all(r.get(k) == v for k, v in match.items())]

    def _note(self, body: dict, headers) -> dict:
        raw = json.dumps(body)
        found = FAULT.search(raw)
        fault = found.group(1) if found else None
        conversation = (fault, json.dumps(body["messages"][:2]))
        with self.lock:
            self.attempts[conversation] += 1
            entry = {"fault": fault, "attempt": self.attempts[conversation],
                     "reask": any(m["role"] == "assistant" for m in body["messages"]),
                     "format": body.get("response_format", {}).get("type"),
                     "sent": sorted(k for k in ("max_tokens", "max_completion_tokens", "temperature") if k in body),
                     "authorization": headers.get("Authorization")}
            self.log.append(entry)
        return entry

    def respond(self, body: dict, entry: dict):
        """(status, headers, payload) for a request, or None to drop the connection."""
        fault, first = entry["fault"] or self.style, entry["attempt"] == 1 and not entry["reask"]
        for param in self.refuses:
            used, error = REFUSALS[param]
            if used(body):
                return 400, {}, error
        if fault == "too_long":
            return 400, {}, TOO_LONG
        if fault in FIRST_TRY_FAULTS and first or fault == "always_500":
            if fault == "drop":
                return None
            if fault == "slow":
                self.hold()
            elif fault == "rate_limit":
                return 429, {"Retry-After": self.retry_after}, {"error": {"message": "slow down", "type": "rate_limit"}}
            else:
                return 500, {}, {"error": {"message": "internal error", "type": "server_error"}}
        if fault == "invalid_json" or fault == "invalid_json_once" and not entry["reask"]:
            return 200, {}, completion("Sure! Here is the draft: {question: ...")
        if fault == "schema_invalid":
            return 200, {}, completion(json.dumps({"question": "Which one?"}))
        if fault == "length":
            return 200, {}, completion(json.dumps(model_draft(body))[:40], finish_reason="length")
        if fault == "refusal":
            return 200, {}, completion(None, refusal="I can't help with that.")
        if fault == "front_loaded" or fault == "front_loaded_once" and not entry["reask"]:
            draft = model_draft(body)
            listed = " ".join(f"Image {i}: <image>" for i in range(1, draft["question"].count("<image>") + 1))
            draft["question"] = f"{listed} {' '.join(draft['question'].replace('<image>', ' ').split())}"
            return 200, {}, completion(json.dumps(draft))
        if fault == "knowledge_bound" or fault == "knowledge_bound_once" and not entry["reask"]:
            draft = model_draft(body)
            named = {e["image"]: e["label"] for e in draft["reasoning"]["text2region"]}
            asked = draft["question"].rsplit("<image>", 1)[1].split(". ", 1)[-1]
            draft["question"] = " ".join(f"<image> shows the {named.get(i, 'background')}."
                                         for i in range(1, draft["question"].count("<image>") + 1)) + " " + asked
            return 200, {}, completion(json.dumps(draft))
        if fault == "prose_json":
            return 200, {}, completion(f"Here is the draft you asked for: {json.dumps(model_draft(body))} "
                                       "Let me know if {anything} should change.")
        if fault == "think_json":
            return 200, {}, completion("<think>The user wants JSON like {\"question\": ...}; the grounded facts "
                                       "decide.</think>\n```json\n" + json.dumps(model_draft(body)) + "\n```")
        if fault == "reasoning_field":
            # vLLM with a reasoning parser: the thinking, JSON-looking, in its own field; the draft in content.
            reply = completion(json.dumps(model_draft(body)))
            reply["choices"][0]["message"]["reasoning_content"] = '{"question": "a first thought", "options": []}'
            return 200, {}, reply
        if fault == "parts":
            text = json.dumps(model_draft(body))
            return 200, {}, completion([{"type": "text", "text": text[:40]}, {"type": "text", "text": text[40:]}])
        if fault == "no_choices":
            return 200, {}, dict(completion(None), choices=[])
        if fault == "error_200":
            reply = {k: v for k, v in completion(None).items() if k != "choices"}
            return 200, {}, dict(reply, error={"message": "model 'fake-model' is loading", "code": 503})
        if fault == "fenced":
            return 200, {}, completion("```json\n" + json.dumps(model_draft(body)) + "\n```")
        return 200, {}, completion(json.dumps(model_draft(body, wrong=fault == "wrong_answer")))

    def model_list(self, path: str, authorization):
        """(status, payload) of GET ``path``: the models, as vLLM lists them (with max_model_len)."""
        if self.models is None or not path.rstrip("/").endswith("/models"):
            return 404, {"error": {"message": f"no route {path}", "type": "not_found"}}
        if self.key and authorization != f"Bearer {self.key}":
            return 401, {"error": {"message": "Incorrect API key provided: sk-wr***ng.", "type": "invalid_request_error",
                                   "code": "invalid_api_key"}}
        return 200, {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "fake",
                                                 **({"max_model_len": window} if window else {})}
                                                for name, window in self.models.items()]}

    def hold(self):
        """Keep a request waiting until its client hangs up (it timed out), at most
        ``slow_seconds``: an event, not a guess at how long the client waits. Counted in
        ``abandoned``; the client that gave up never reads the answer."""
        connection = self.current.connection
        deadline = time.monotonic() + self.slow_seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([connection], [], [], left)
            if readable and connection.recv(1, socket.MSG_PEEK) == b"":
                with self.changed:
                    self.abandoned += 1
                    self.changed.notify_all()
                return

    def wait_for_abandoned(self, count: int, timeout: float = 120.0) -> bool:
        """Whether ``abandoned`` reached ``count`` (the server may see a client hang up a moment
        after that client moved on); ``timeout`` only bounds a test that would otherwise hang."""
        with self.changed:
            return self.changed.wait_for(lambda: self.abandoned >= count, timeout)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                status, payload = server.model_list(self.path, self.headers.get("Authorization"))
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                entry = server._note(body, self.headers)
                server.current.connection = self.connection   # for hold(), on this request's thread
                time.sleep(server.latency)
                answer = server.respond(body, entry)
                if answer is None:
                    self.connection.close()  # the dropped connection: no status line at all
                    return
                status, headers, payload = answer
                data = json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(status)
                    for name, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout) before the answer came

        return Handler
