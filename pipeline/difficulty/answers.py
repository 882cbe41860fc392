"""Reading which option a solver chose, from structured output or from free text."""
import re

from ..llm.text import first_json_object

_PATTERNS = (
    # Most explicit first: "Answer: B", "answer is (B)", "final answer - b". A lower-case
    # letter counts only in brackets or at the end, so "the answer is a cat" names nothing.
    re.compile(r"(?i:answer)\s*(?:(?i:is)|:|-|=)?\s*(?:\(([A-Ha-h])\)|([A-H])(?![A-Za-z])|([a-h])\W*$)"),
    re.compile(r"\boption\s*\(?([A-Ha-h])\)?(?![A-Za-z])", re.IGNORECASE),
    re.compile(r"\(([A-H])\)"),
    re.compile(r"^\s*([A-Ha-h])\s*[.):]?\s*$"),
    re.compile(r"^\s*([A-H])[.):]\s"),
)


def _from_json(text: str, labels: set):
    parsed = first_json_object(text)
    if parsed is not None and isinstance(parsed.get("answer"), str):
        label = parsed["answer"].strip().strip("()").upper()
        return label if label in labels else None
    return None


def _from_option_text(text: str, options: list):
    """A reply that restates exactly one option's text names that option."""
    lowered = text.lower()
    named = [o["label"] for o in options if o["text"].lower() in lowered]
    return named[0] if len(named) == 1 else None


def extract_choice(text: str, options: list):
    """The label of the option ``text`` chooses, or None when it names none (or several)."""
    if not text:
        return None
    labels = {o["label"] for o in options}
    label = _from_json(text, labels)
    if label:
        return label
    for pattern in _PATTERNS:
        found = {m.upper() for match in pattern.findall(text)
                 for m in (match if isinstance(match, tuple) else (match,)) if m and m.upper() in labels}
        if len(found) == 1:
            return found.pop()
        if found:
            return None  # ambiguous: several labels named the same way
    return _from_option_text(text, options)
