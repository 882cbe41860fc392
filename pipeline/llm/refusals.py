"""What an endpoint refuses, read from its own error, and the request made without it.

OpenAI's reasoning models refuse ``max_tokens`` (they take ``max_completion_tokens``) and any
``temperature`` but their default; some servers refuse a ``json_schema`` response format (they
take ``json_object``). A 4xx whose ``param`` or message names one of these as refused changes the
request's shape for the endpoint from then on, and the request is sent again; any other 4xx (a
context too long, a model not found) changes nothing.
"""
import dataclasses
import re

# Words servers use when they refuse a parameter (OpenAI, vLLM, Ollama, LiteLLM-style proxies).
_REFUSING = re.compile(r"unsupported|not supported|does not support|unrecognized|unknown|not permitted|not allowed|"
                       r"extra (?:inputs|fields)|invalid (?:parameter|value)", re.I)
# A request too long for the model's window names max_tokens too ("'max_tokens' is too large ... maximum
# context length"): that is no refusal of the parameter, and another name for it would not help.
_TOO_LONG = re.compile(r"context (?:length|window)|too large|too long|exceeds", re.I)
# The parameters that can be done without, and the words naming each in an error message.
_NAMES = {"max_tokens": ("max_tokens",), "temperature": ("temperature",),
          "response_format": ("response_format", "json_schema", "json schema")}
# What each adaptation is counted as (``json_mode_fallbacks`` is the report's name from before).
COUNTERS = {"max_tokens": "adapted.max_completion_tokens", "temperature": "adapted.temperature_dropped",
            "response_format": "json_mode_fallbacks"}


@dataclasses.dataclass(frozen=True)
class RequestShape:
    """How requests to one endpoint and model are sent."""
    tokens_key: str = "max_tokens"    # or max_completion_tokens
    temperature: bool = True          # False: the parameter is left out (the model's default)
    structured: bool = True           # json_schema; False: json_object

    def without(self, param: str):
        """This shape without the refused ``param``, or None when it does not use it (already adapted)."""
        change = {"max_tokens": ("tokens_key", "max_completion_tokens"), "temperature": ("temperature", False),
                  "response_format": ("structured", False)}[param]
        return None if getattr(self, change[0]) == change[1] else dataclasses.replace(self, **{change[0]: change[1]})

    def merged(self, other: "RequestShape") -> "RequestShape":
        """Every adaptation of either shape."""
        return RequestShape(tokens_key="max_completion_tokens" if "max_completion_tokens" in (self.tokens_key, other.tokens_key)
                            else "max_tokens", temperature=self.temperature and other.temperature,
                            structured=self.structured and other.structured)


def refused(failure):
    """The parameter a failed request's 4xx refuses (a key of _NAMES), or None."""
    if failure.cause != "client_error":
        return None
    text = str(failure)
    if failure.param in _NAMES and not _TOO_LONG.search(text):
        return failure.param
    if _TOO_LONG.search(text) or not _REFUSING.search(text):
        return None
    lowered = text.lower()
    return next((param for param, words in _NAMES.items() if any(w in lowered for w in words)), None)
