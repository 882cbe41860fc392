"""Drafters write a question, its options and the five reasoning steps for one context.

A drafter has ``name``, ``reads_pixels`` (whether ``draft`` looks at the source images' bytes),
``setup()`` (heavy clients; called from ``DoFn.setup``) and ``draft(context, images) -> Drafted``,
raising ``DraftRejected`` for a context it cannot serve.
"""
import dataclasses


class DraftRejected(Exception):
    """The drafter could not produce a usable draft; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Drafted:
    draft: dict              # draft.schema.json
    drafter: str             # the drafter's name
    template: str
    model: object            # model name, or None for the offline drafter
    prompt_id: str
    prompt_hash: str
    verified: bool           # the answer was computed from, or checked against, metadata
    method: str


def make_drafter(settings: dict, seed: int):
    if settings["kind"] == "openai":
        from .openai_drafter import OpenAIDrafter
        return OpenAIDrafter(settings["openai"], seed=seed)
    from .grounded import GroundedDrafter  # imported here so each drafter's deps stay optional
    kinds = {"grounded": GroundedDrafter}
    if settings["kind"] not in kinds:
        raise ValueError(f"drafter {settings['kind']!r} is not available in this build")
    return kinds[settings["kind"]](seed=seed)
