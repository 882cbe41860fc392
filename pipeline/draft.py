"""Draft: have the drafter write each context's question and reasoning, and assemble the sample."""
import apache_beam as beam
from apache_beam.metrics import Metrics

from . import __version__
from .drafters import DraftRejected, make_drafter
from .imaging import ImageRejected
from .materialize import materialize
from .records import content_id, reject
from .stage import REJECTS, to_rejects
from .tasks import TASKS

STAGE = "draft"


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
    draft = drafted.draft
    sample_id = content_id(context.id, drafted.template, drafted.model, drafted.prompt_hash)
    return {
        "id": f"{context.task}-{sample_id}", "context_id": context.id, "task": context.task,
        "category": TASKS[context.task].category, "split": context.split,
        "images": [dict(im, bytes=im["bytes"] if embed else None) for im in images],
        "question": draft["question"], "options": draft["options"], "answer": draft["answer"],
        "reasoning": draft["reasoning"],
        # Filled in by ScoreDifficulty; a placeholder keeps every record schema-shaped.
        "difficulty": {"level": "hard", "pass_rate": None, "samples": 0, "method": "unscored"},
        "provenance": {"sources": provenance_sources(context, sources), "drafter": drafted.drafter,
                       "model": drafted.model, "prompt_id": drafted.prompt_id, "prompt_hash": drafted.prompt_hash,
                       "template": drafted.template, "pipeline_version": __version__, "seed": seed},
        "ground_truth": {"verified": drafted.verified, "method": drafted.method},
    }


class DraftFn(beam.DoFn):
    def __init__(self, drafter_settings: dict, sources: dict, seed: int, decode: dict, embed: bool):
        self.drafter_settings, self.sources, self.seed = drafter_settings, sources, seed
        self.decode, self.embed = decode, embed
        self.drafted = Metrics.counter(STAGE, "drafted")

    def setup(self):
        self.drafter = make_drafter(self.drafter_settings, self.seed)
        self.drafter.setup()

    def _reject(self, context, reason: str, detail: str):
        return to_rejects(reject(STAGE, reason, detail, subject=context.id, kind="context",
                                 source=",".join(context.sources), task=context.task))

    def process(self, context):
        try:
            images = materialize(context, self.decode["max_pixels"], self.decode["min_side"])
            drafted = self.drafter.draft(context, images)
        except (DraftRejected, ImageRejected) as exc:
            yield self._reject(context, exc.reason, str(exc))
            return
        except OSError as exc:  # an image vanished or became unreadable since it was hashed
            yield self._reject(context, "unreadable", f"{exc.__class__.__name__}: {exc}")
            return
        self.drafted.inc()
        yield assemble_sample(context, drafted, images, sources=self.sources, seed=self.seed, embed=self.embed)


class Draft(beam.PTransform):
    """Context -> {"samples": sample records, "rejects": rejects records}."""

    def __init__(self, drafter_settings: dict, sources: dict, seed: int, decode: dict, embed: bool):
        super().__init__()
        self.fn = DraftFn(drafter_settings, sources, seed, decode, embed)

    def expand(self, contexts):
        out = contexts | "Draft" >> beam.ParDo(self.fn).with_outputs(REJECTS, main="samples")
        return {"samples": out.samples, "rejects": out[REJECTS]}
