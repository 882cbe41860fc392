"""Before a build drafts or scores: one request that checks the endpoint, its key and model, and the
model's context window where the server reports one, so a wrong setting stops the build with one
line saying what to change rather than rejecting every context.

The request is ``GET /models`` (OpenAI, vLLM and Ollama all answer it; vLLM gives each model's
``max_model_len``). A server without it is not checked further: the build's own requests say what
is wrong then.
"""
import math

from .calls import server_message
from .endpoint import client_for

# openai is imported in the functions that use it, not here: a build without an LLM (and each of its
# worker processes) then never pays its 0.5 s import.

# What a prompt costs besides its text, roughly: a vision model spends about one token per 28 x 28
# pixel patch of an image (Qwen2-VL and its kin; OpenAI's high detail is within a few percent).
PATCH = 28
# Status codes of a server that has no /models route: nothing to check there.
NO_MODELS_ROUTE = (404, 405, 501)


class PreflightFailed(Exception):
    """A setting the endpoint will not work with; the message is one line saying what to change."""


def image_tokens(side: int) -> int:
    return math.ceil(side / PATCH) ** 2


def prompt_tokens(prompt_chars: int, images: int, side: int, vision: bool) -> int:
    """About how many tokens a request's prompt takes: its text at four characters a token, and its
    images at ``image_side``."""
    return prompt_chars // 4 + (images * image_tokens(side) if vision else 0)


def _listed(settings: dict):
    """The models the endpoint lists, or None when it has no /models route."""
    import openai
    client = client_for(settings, min(settings["timeout"], 30), max_retries=1)
    try:
        return list(client.models.list())
    except openai.APIStatusError as exc:
        if exc.status_code in NO_MODELS_ROUTE:
            return None
        raise


def check_endpoint(settings: dict, section: str, prompt_chars: int, images: int) -> None:
    """Raise PreflightFailed when the endpoint of ``settings`` (a ``$defs/openai_drafter`` section
    named ``section`` in messages) cannot serve the build's requests: unreachable, refusing the
    key, not serving the model, or with a context window (the one the server reports, else the
    settings' ``context_window``) too small for a prompt of about ``prompt_chars`` characters and
    ``images`` images plus ``max_tokens``."""
    import openai
    base, model = settings["base_url"], settings["model"]
    try:
        models = _listed(settings)
    except openai.APIConnectionError as exc:
        raise PreflightFailed(f"{section}: cannot reach {base} ({exc.__class__.__name__}): is the server running, "
                              f"and is base_url (--llm-base-url) right?") from None
    except openai.APIStatusError as exc:
        said = server_message(exc)
        if exc.status_code in (401, 403):
            raise PreflightFailed(f"{section}: {base} refused the API key (HTTP {exc.status_code}: {said}): set "
                                  "OPENAI_API_KEY or api_key_file") from None
        raise PreflightFailed(f"{section}: {base} answered HTTP {exc.status_code} to the model list: {said}") from None
    if models is None:
        return
    served = {m.id: m for m in models}
    if model not in served:
        names = ", ".join(sorted(served)[:8]) + (", ..." if len(served) > 8 else "")
        raise PreflightFailed(f"{section}: {base} serves no model {model!r} (it serves: {names or 'none'}): set "
                              f"model (--llm-model) to one of them")
    window = (getattr(served[model], "max_model_len", None) or (served[model].model_extra or {}).get("max_model_len")
              or settings.get("context_window"))
    prompt = prompt_tokens(prompt_chars, images, settings["image_side"], settings["vision"])
    if isinstance(window, int) and prompt + settings["max_tokens"] > window:
        raise PreflightFailed(
            f"{section}: model {model!r} has a context window of {window} tokens, and a request needs about {prompt} "
            f"for its prompt ({images} images at image_side {settings['image_side']}) plus max_tokens "
            f"{settings['max_tokens']}: serve it with a window of at least {prompt + settings['max_tokens']} "
            f"(vLLM --max-model-len, Ollama OLLAMA_CONTEXT_LENGTH), or lower max_tokens or image_side")
