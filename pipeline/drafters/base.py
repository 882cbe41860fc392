"""What every drafter returns or raises.

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
    marks: dict = dataclasses.field(default_factory=dict)  # image number -> boxes the question points at by
                                                           # colour, drawn onto a copy of that image
