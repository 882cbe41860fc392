"""Draft: have the drafter write each context's question and reasoning, and assemble the sample.

Contexts arrive in batches (``beam.BatchElements``) and each batch is drafted by a thread pool,
so an LLM drafter keeps ``concurrency`` requests in flight per worker whatever the number of
workers; Beam counters (namespace "llm") are bumped on the DoFn's own thread.
"""
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam
from apache_beam.metrics import Metrics

from . import __version__
from .drafters import Drafted, DraftRejected, make_drafter
from .drafters.progress import Progress
from .imaging import ImageRejected
from .judge import Problem, json_path, shorten, validate_sample
from .manifest import Source
from .materialize import materialize
from .records import content_id, reject
from .schemas import validator
from .stage import REJECTS, to_rejects
from .tasks import TASKS

STAGE = "draft"
LLM_NAMESPACE = "llm"
BATCHES_IN_FLIGHT = 4  # contexts per batch = concurrency x this, so the pool rarely idles at a batch's tail


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
    """The sample record. Derived images (tiles, zooms) always keep their bytes: they exist
    nowhere else. A source image keeps its bytes only with ``embed``; the build passes False
    and WriteShards reads them again as it writes, so samples stay small while they travel."""
    draft = drafted.draft
    sample_id = content_id(context.id, drafted.template, drafted.model, drafted.prompt_hash)
    return {
        "id": f"{context.task}-{sample_id}", "context_id": context.id, "task": context.task,
        "category": TASKS[context.task].category, "split": context.split,
        "images": [dict(im, bytes=im["bytes"] if embed or im["derived_from"] else None) for im in images],
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


def concurrency(drafter_settings: dict) -> int:
    return drafter_settings["openai"]["concurrency"] if drafter_settings["kind"] == "openai" else 1


class DraftFn(beam.DoFn):
    """Drafts a batch of contexts with a pool of ``concurrency`` threads."""

    def __init__(self, drafter_settings: dict, sources: dict, seed: int, decode: dict):
        self.drafter_settings, self.sources, self.seed = drafter_settings, sources, seed
        self.decode = decode
        self.drafted = Metrics.counter(STAGE, "drafted")

    def setup(self):
        self.drafter = make_drafter(self.drafter_settings, self.seed)
        self.drafter.setup()
        self.pool = ThreadPoolExecutor(concurrency(self.drafter_settings), thread_name_prefix="draft")
        llm = self.drafter_settings["kind"] == "openai"
        self.progress = Progress(f"drafting ({self.drafter.name})",
                                 self.drafter_settings["openai"]["progress_seconds"]) if llm else None

    def teardown(self):
        self.pool.shutdown()
        if self.progress:
            self.progress.stop()

    def _outcome(self, context):
        """Runs on a pool thread: ("sample", record) or ("reject", reason, detail); no Beam calls here."""
        try:
            images = materialize(context, self.decode["max_pixels"], self.decode["min_side"],
                                 source_bytes=self.drafter.reads_pixels)
            drafted = self.drafter.draft(context, images)
        except (DraftRejected, ImageRejected) as exc:
            return "reject", exc.reason, str(exc)
        except OSError as exc:  # an image vanished or became unreadable since it was hashed
            return "reject", "unreadable", f"{exc.__class__.__name__}: {exc}"
        finally:
            if self.progress:
                self.progress.advance()
        return "sample", assemble_sample(context, drafted, images, sources=self.sources, seed=self.seed,
                                         embed=False)

    def _count_llm(self):
        # The grounded drafter makes no calls and so has nothing to drain.
        for name, n in getattr(self.drafter, "drain_stats", dict)().items():
            Metrics.counter(LLM_NAMESPACE, name).inc(n)

    def process(self, batch, total: int):
        if self.progress:
            self.progress.expect(total)
        for context, outcome in zip(batch, self.pool.map(self._outcome, batch)):
            if outcome[0] == "sample":
                self.drafted.inc()
                yield outcome[1]
            else:
                yield to_rejects(reject(STAGE, outcome[1], outcome[2], subject=context.id, kind="context",
                                        source=",".join(context.sources), task=context.task))
        self._count_llm()


class Draft(beam.PTransform):
    """Context -> {"samples": sample records, "rejects": rejects records}."""

    def __init__(self, drafter_settings: dict, sources: dict, seed: int, decode: dict):
        super().__init__()
        self.fn = DraftFn(drafter_settings, sources, seed, decode)
        self.batch = concurrency(drafter_settings) * BATCHES_IN_FLIGHT

    def expand(self, contexts):
        total = contexts | "CountContexts" >> beam.combiners.Count.Globally()
        out = (contexts
               | "Batch" >> beam.BatchElements(min_batch_size=self.batch, max_batch_size=self.batch)
               | "Draft" >> beam.ParDo(self.fn, total=beam.pvalue.AsSingleton(total))
               .with_outputs(REJECTS, main="samples"))
        return {"samples": out.samples, "rejects": out[REJECTS]}
