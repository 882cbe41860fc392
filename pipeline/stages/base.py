"""What every stage shares: the rejects output and its counters, what a reject is about, and the
guard that turns an unexpected exception in one element's work into ``internal_error`` rejects,
so no element can end a build."""
import dataclasses

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.runners.worker import data_plane

from ..records import reject

# A worker process of a build with several (stages import this module in each) buffers up to
# 100 MB of a stage's input received from Beam's runner, and as much output waiting to be sent
# to it; no pipeline option sets that, and each worker's memory grew with the collection until
# the cap. 32 MB kept a 20,000-photo build's peak 300 MB lower at no measurable cost in time
# (benchmarks/README.md, cores_bench).
DATA_PLANE_BUFFER_BYTES = 32 << 20
if hasattr(data_plane, "_DEFAULT_SEND_QUEUE_MAX_BYTES"):
    data_plane._DEFAULT_SEND_QUEUE_MAX_BYTES = DATA_PLANE_BUFFER_BYTES

REJECTS = "rejects"
INTERNAL_ERROR = "internal_error"
SUMMARY_CHARS = 200


def to_rejects(record: dict) -> beam.pvalue.TaggedOutput:
    """Route a rejects record (``records.reject``) to the stage's rejects output and count it."""
    Metrics.counter(record["stage"], f"rejected.{record['reason']}").inc()
    return beam.pvalue.TaggedOutput(REJECTS, record)


@dataclasses.dataclass(frozen=True)
class Subject:
    """What a rejects record is about: an image uri, a metadata line, a context id, or an image
    group (``task/split/group``), as ``kind`` says."""
    subject: str
    kind: str
    source: str = ""
    task: str = ""

    def reject(self, stage: str, reason: str, detail: str) -> dict:
        return reject(stage, reason, detail, subject=self.subject, kind=self.kind, source=self.source, task=self.task)


def image_subject(image) -> Subject:
    """An ImageRef or HashedImage."""
    return Subject(image.uri, "image", image.source)


def context_subject(context) -> Subject:
    return Subject(context.id, "context", ",".join(context.sources), context.task)


def sample_subject(sample: dict) -> Subject:
    """A sample stands for the context it was drafted from."""
    return Subject(sample["context_id"], "context", ",".join(s["name"] for s in sample["provenance"]["sources"]),
                   sample["task"])


def summary(exc: BaseException) -> str:
    """``ExcClass: message`` on one line, at most SUMMARY_CHARS long."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split()).removesuffix(":")
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


@dataclasses.dataclass(frozen=True)
class Failed:
    """An element's work raised an exception no stage expects; ``summary`` says which."""
    summary: str

    def rejects(self, stage: str, subjects) -> list:
        return [to_rejects(s.reject(stage, INTERNAL_ERROR, self.summary)) for s in subjects]


def attempt(work, *args, **kwargs):
    """``work(*args, **kwargs)``, or Failed when it raises. The one place stages catch what they
    did not expect; it is safe on a thread pool (it makes no Beam calls)."""
    try:
        return work(*args, **kwargs)
    except Exception as exc:  # whatever one element trips over must not end the build
        return Failed(summary(exc))


class _Guarded(beam.DoFn):
    """``fn`` element by element: its outputs for an element are passed on once its process()
    has returned them all, or, when it raises, replaced by internal_error rejects of the subjects
    ``subjects(element)`` names."""

    def __init__(self, stage: str, fn: beam.DoFn, subjects):
        self.stage, self.fn, self.subjects = stage, fn, subjects

    def setup(self):
        self.fn.setup()

    def start_bundle(self):
        self.fn.start_bundle()

    def process(self, element, *args, **kwargs):
        outputs = attempt(lambda: list(self.fn.process(element, *args, **kwargs)))
        yield from outputs.rejects(self.stage, self.subjects(element)) if isinstance(outputs, Failed) else outputs

    def finish_bundle(self):
        return self.fn.finish_bundle()

    def teardown(self):
        self.fn.teardown()


class _Apply(beam.DoFn):
    """A function of one element as a DoFn (what beam.Map applies)."""

    def __init__(self, fn):
        self.fn = fn

    def process(self, element, *args, **kwargs):
        yield self.fn(element, *args, **kwargs)


def guarded(stage: str, fn, subjects, *side_inputs, main: str, tags=(), **kw_side_inputs):
    """A ParDo of ``fn`` (a DoFn, or a function of one element) under the guard of ``_Guarded``,
    with outputs ``main``, ``tags`` and REJECTS."""
    fn = fn if isinstance(fn, beam.DoFn) else _Apply(fn)
    return (beam.ParDo(_Guarded(stage, fn, subjects), *side_inputs, **kw_side_inputs)
            .with_outputs(REJECTS, *tags, main=main))
