"""Reading the text an LLM replied with."""
import json
import re

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_DECODER = json.JSONDecoder()


def reply_text(content) -> str:
    """A message's content as text: servers send a string, or a list of parts of which the text
    parts count ({"type": "text", "text": ...}); None is ""."""
    if isinstance(content, list):
        return "".join(part.get("text") or "" for part in content
                       if isinstance(part, dict) and part.get("type", "text") == "text")
    return content if isinstance(content, str) else ""


def first_json_object(text: str):
    """The first complete JSON object in a reply, wherever it sits: alone, in a Markdown fence,
    after a sentence or before a remark, after a reasoning model's <think>...</think> block; None
    when there is none. A "{" that starts no object (in prose, or an object cut short) is passed
    over."""
    text = _THINK.sub(" ", text or "")
    start = text.find("{")
    while start != -1:
        try:
            found, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            found = None
        if isinstance(found, dict):
            return found
        start = text.find("{", start + 1)
    return None
