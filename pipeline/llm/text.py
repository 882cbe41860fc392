"""Reading the text an LLM replied with."""
import re

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(.*?)\n?```$", re.DOTALL)


def unfenced(text: str) -> str:
    """The reply without surrounding whitespace and without a Markdown code fence around it:
    many models wrap JSON in ```json ... ``` even when asked for JSON alone."""
    text = (text or "").strip()
    fenced = _FENCE.match(text)
    return fenced.group(1).strip() if fenced else text
