"""Draft: have the drafter write each context's question and reasoning, and assemble the sample.

Contexts arrive in batches and each batch is drafted by a thread pool (``llm.batch``), so an
LLM drafter keeps ``concurrency`` requests in flight per worker whatever the number of workers;
Beam counters (namespace "llm") are bumped on the DoFn's own thread.
"""
import functools

import apache_beam as beam
from apache_beam.metrics import Metrics

from ..drafters import make_drafter
from ..drafters.base import DraftRejected
from ..drafters.sample import assemble_sample
from ..images.decode import ImageRejected
from ..images.views import materialize
from ..llm.batch import ThreadedBatchFn, in_batches
from ..llm.progress import Progress
from .base import REJECTS, Failed, attempt, context_subject, to_rejects

STAGE = "draft"
LLM_NAMESPACE = "llm"
BATCHES_IN_FLIGHT = 4  # contexts per batch = concurrency x this, so the pool rarely idles at a batch's tail


def concurrency(drafter_settings: dict) -> int:
    return drafter_settings["openai"]["concurrency"] if drafter_settings["kind"] == "openai" else 1


class DraftFn(ThreadedBatchFn):
    """Drafts a batch of contexts with a pool of ``concurrency`` threads."""
    thread_prefix = "draft"

    def __init__(self, drafter_settings: dict, sources: dict, seed: int, decode: dict):
        super().__init__(concurrency(drafter_settings))
        self.drafter_settings, self.sources, self.seed = drafter_settings, sources, seed
        self.decode = decode
        self.drafted = Metrics.counter(STAGE, "drafted")

    def setup(self):
        self.drafter = make_drafter(self.drafter_settings, self.seed)
        self.drafter.setup()
        super().setup()
        llm = self.drafter_settings["kind"] == "openai"
        self.progress = Progress(f"drafting ({self.drafter.name})",
                                 self.drafter_settings["openai"]["progress_seconds"]) if llm else None

    def teardown(self):
        super().teardown()
        if self.progress:
            self.progress.stop()

    def _outcome(self, context):
        """Runs on a pool thread (under ``attempt``): ("sample", record) or ("reject", reason,
        detail); no Beam calls here."""
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

    def process(self, batch, total: int):
        if self.progress:
            self.progress.expect(total)
        for context, outcome in zip(batch, self.pool.map(functools.partial(attempt, self._outcome), batch)):
            if isinstance(outcome, Failed):
                yield from outcome.rejects(STAGE, [context_subject(context)])
            elif outcome[0] == "sample":
                self.drafted.inc()
                yield outcome[1]
            else:
                yield to_rejects(context_subject(context).reject(STAGE, *outcome[1:]))
        # The grounded drafter makes no calls and so has nothing to drain.
        self.count(LLM_NAMESPACE, getattr(self.drafter, "drain_stats", dict)())


class Draft(beam.PTransform):
    """Context -> {"samples": sample records, "rejects": rejects records}."""

    def __init__(self, drafter_settings: dict, sources: dict, seed: int, decode: dict):
        super().__init__()
        self.fn = DraftFn(drafter_settings, sources, seed, decode)
        self.batch = concurrency(drafter_settings) * BATCHES_IN_FLIGHT

    def expand(self, contexts):
        total = contexts | "CountContexts" >> beam.combiners.Count.Globally()
        out = (contexts
               | "Batch" >> in_batches(self.batch)
               | "Draft" >> beam.ParDo(self.fn, total=beam.pvalue.AsSingleton(total))
               .with_outputs(REJECTS, main="samples"))
        return {"samples": out.samples, "rejects": out[REJECTS]}
