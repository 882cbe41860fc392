"""Drafters: what writes a context's question, options, answer and five reasoning steps.

``grounded`` computes them offline from metadata with each task's templates; ``openai_drafter``
has any OpenAI-compatible endpoint word them (through ``llm/``) and checks its answer against
the grounded one; ``options`` balances the answer's position; ``sample`` assembles the sample
record and judges a draft as the sample it would make. ``base`` holds the drafter protocol.
May import ``llm``, ``samples``, ``tasks`` and the foundation modules; never stages.
"""
from .grounded import GroundedDrafter


def make_drafter(settings: dict, seed: int):
    if settings["kind"] == "openai":
        from .openai_drafter import OpenAIDrafter  # loads the openai client: only for builds that draft with it
        return OpenAIDrafter(settings["openai"], seed=seed, questions=settings.get("questions"))
    if settings["kind"] == "grounded":
        return GroundedDrafter(seed=seed, questions=settings.get("questions"))
    raise ValueError(f"drafter {settings['kind']!r} is not available in this build")
