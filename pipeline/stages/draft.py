"""Draft: have the drafter write each context's question and reasoning, and assemble the sample.

Contexts are drafted on a thread pool (stages/parallel.py), their samples passed on in the
order the contexts came: an LLM drafter keeps ``concurrency`` requests in flight per worker, the
offline drafter derives views and drafts on one thread per core. Beam counters (namespace
"llm") are bumped on the DoFn's own thread. Samples leave without their source images' bytes,
and a build (flow.py) has them leave without their derived images' bytes too: Draft keeps
each derived image in the build's scratch folder (``derived_folder``, stages/derived_images.py)
and WriteShards reads it from there as it writes, so no stage holds the derived images of the
whole collection. Only a build whose difficulty solver looks at the images (ScoreDifficulty,
before WriteShards) has them travel with their bytes (``derived_folder=None``).
"""
import apache_beam as beam
from apache_beam.metrics import Metrics

from ..drafters import make_drafter
from ..drafters.base import DraftRejected
from ..drafters.sample import assemble_sample
from ..images.decode import ImageRejected
from ..images.views import marked, materialize
from ..llm.batch import count_stats
from ..records import image_entry
from ..safe_files import UnsafeFile
from ..sources import MAX_REREAD_BYTES, ImageChanged, ImageTooLarge
from .base import REJECTS, context_subject, to_rejects
from .derived_images import keep_derived
from .parallel import InOrderThreadsFn

STAGE = "draft"
LLM_NAMESPACE = "llm"


def _is_llm(drafter_settings: dict) -> bool:
    return drafter_settings["kind"] == "openai"


class DraftFn(InOrderThreadsFn):
    """Drafts contexts on a pool of ``concurrency`` threads (LLM drafter) or ``threads`` (offline)."""
    stage, progress_unit = STAGE, "contexts"

    def __init__(self, drafter_settings: dict, sources: dict, seed: int, decode: dict, threads=None,
                 progress_seconds=None, derived_folder=None):
        llm = _is_llm(drafter_settings)
        interval = drafter_settings["openai"]["progress_seconds"] if llm and progress_seconds else progress_seconds
        super().__init__(drafter_settings["openai"]["concurrency"] if llm else threads, interval)
        self.progress_label = f"drafting ({drafter_settings['kind']})"
        self.drafter_settings, self.sources, self.seed = drafter_settings, sources, seed
        self.decode, self.derived_folder = decode, derived_folder
        self.drafted = Metrics.counter(STAGE, "drafted")

    def setup(self):
        self.drafter = make_drafter(self.drafter_settings, self.seed)
        self.drafter.setup()
        super().setup()

    def subjects(self, context) -> list:
        return [context_subject(context)]

    def work(self, context):
        """Runs on a pool thread (under ``attempt``): ("sample", record) or ("reject", reason,
        detail); no Beam calls here."""
        try:
            images = self._images(context)
            drafted = self.drafter.draft(context, images)
            if drafted.marks:  # the question points at boxes drawn onto copies of its images
                context = marked(context, drafted.marks)
                images = self._images(context)
        except (DraftRejected, ImageRejected) as exc:
            return "reject", exc.reason, str(exc)
        # An image vanished, changed or stopped being a regular file since it was hashed.
        except (OSError, ImageChanged, ImageTooLarge, UnsafeFile) as exc:
            return "reject", "unreadable", f"{exc.__class__.__name__}: {exc}"
        sample = assemble_sample(context, drafted, images, sources=self.sources, seed=self.seed, embed=False)
        if self.derived_folder:
            keep_derived(self.derived_folder, images)
            sample = dict(sample, images=[image_entry(facts, None) for facts in sample["image_facts"]])
        return "sample", sample

    def _images(self, context) -> list:
        return materialize(context, self.decode["max_pixels"], self.decode["min_side"],
                           source_bytes=self.drafter.reads_pixels,
                           max_bytes=self.decode.get("max_bytes", MAX_REREAD_BYTES))

    def emit(self, context, outcome):
        if outcome[0] == "sample":
            self.drafted.inc()
            yield outcome[1]
        else:
            yield to_rejects(context_subject(context).reject(STAGE, *outcome[1:]))

    def settle(self) -> None:
        # The grounded drafter makes no calls and so has nothing to drain.
        count_stats(LLM_NAMESPACE, getattr(self.drafter, "drain_stats", dict)())


class Draft(beam.PTransform):
    """Context -> {"samples": sample records (their source images without bytes), "rejects":
    rejects records}. ``threads`` (the offline drafter's; an LLM drafter uses its
    ``concurrency``): see stages/parallel.py; ``progress_seconds``: interval of the progress
    line (None: none; an LLM drafter then uses its own ``progress_seconds``);
    ``derived_folder``: where derived images are kept for WriteShards, the samples then leaving
    without their bytes (None: samples keep them)."""

    def __init__(self, drafter_settings: dict, sources: dict, seed: int, decode: dict, threads=None,
                 progress_seconds=None, derived_folder=None):
        super().__init__()
        self.fn = DraftFn(drafter_settings, sources, seed, decode, threads, progress_seconds, derived_folder)

    def expand(self, contexts):
        total = contexts | "CountContexts" >> beam.combiners.Count.Globally()
        out = (contexts
               | "Draft" >> beam.ParDo(self.fn, total=beam.pvalue.AsSingleton(total))
               .with_outputs(REJECTS, main="samples"))
        return {"samples": out.samples, "rejects": out[REJECTS]}
