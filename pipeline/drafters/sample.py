"""Assembling a sample record from a context and its draft, and judging a draft as the sample it
would make (the judge of ``mir validate``): what every drafter's output becomes."""
from .. import __version__
from ..manifest import Source
from ..records import content_id, image_entry
from ..samples.judge import Problem, json_path, shorten, validate_sample
from ..schemas import validator
from ..tasks import TASKS
from .base import Drafted


def provenance_sources(context, sources: dict) -> list:
    """Licence and attribution of every image, the image's own overriding its source's."""
    seen = {}
    for slot in context.images:
        source = sources[slot.image.source]
        meta = slot.image.metadata
        entry = {"name": source.name, "licence": meta.get("licence", source.licence),
                 "attribution": meta.get("attribution", source.attribution)}
        seen[tuple(entry.values())] = entry
    return [seen[key] for key in sorted(seen)]


def assemble_sample(context, drafted, images: list, *, sources: dict, seed: int, embed: bool) -> dict:
    """The sample record, from the context's materialized images (their facts and bytes).
    Derived images (tiles, zooms) always keep their bytes: they exist nowhere else. A source
    image keeps its bytes only with ``embed``; the build passes False and WriteShards reads them
    again as it writes, so samples stay small while they travel."""
    draft = drafted.draft
    facts = [{k: v for k, v in im.items() if k != "bytes"} for im in images]
    sample_id = content_id(context.id, drafted.template, drafted.model, drafted.prompt_hash)
    return {
        "id": f"{context.task}-{sample_id}", "context_id": context.id, "task": context.task,
        "category": TASKS[context.task].category, "split": context.split,
        "images": [image_entry(f, im["bytes"] if embed or im["derived_from"] else None)
                   for f, im in zip(facts, images)],
        "image_facts": facts,
        "question": draft["question"], "options": draft["options"], "answer": draft["answer"],
        "reasoning": draft["reasoning"],
        # Filled in by ScoreDifficulty; a placeholder keeps every record schema-shaped.
        "difficulty": {"level": "hard", "pass_rate": None, "samples": 0, "method": "unscored"},
        "provenance": {"sources": provenance_sources(context, sources), "drafter": drafted.drafter,
                       "model": drafted.model, "prompt_id": drafted.prompt_id, "prompt_hash": drafted.prompt_hash,
                       "template": drafted.template, "pipeline_version": __version__, "seed": seed},
        "ground_truth": {"verified": drafted.verified, "method": drafted.method},
    }


def _unattributed(context) -> dict:
    return {name: Source(name=name, kind="folder", location="-", licence="-", attribution="-",
                         dedup_scope="off", tasks=()) for name in context.sources}


def draft_problems(context, drafted: Drafted, images: list) -> list:
    """What the judge of ``mir validate`` finds wrong with ``drafted`` as this context's sample
    (licences are left out: the drafter does not know them, and they are not its work)."""
    errors = sorted(validator("draft").iter_errors(drafted.draft), key=lambda e: list(e.absolute_path))
    if errors:
        return [Problem(json_path(e.absolute_path), shorten(e.message)) for e in errors]
    return validate_sample(assemble_sample(context, drafted, images, sources=_unattributed(context), seed=0, embed=False))
