"""ScoreDifficulty: easy, medium or hard for every sample.

With a solver (``difficulty.solver``) the level comes from its pass rate over ``samples`` draws
(solver.py): samples arrive in batches and all draws of a batch go to a thread pool made in
``DoFn.setup()``, ``concurrency`` in flight per worker; Beam counters (namespace "solver") are
bumped on the DoFn's own thread. Without a solver, and for a sample none of whose requests got
through, the level comes from a documented heuristic (``heuristic:v1``): a question whose
Region2Region chain spans at most three images with at most three relations is ``easy``, one
that needs more cross-image steps is ``hard``. The method is recorded on every sample, so
solver-scored and heuristic levels are never confused.
"""
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam
from apache_beam.metrics import Metrics


HEURISTIC = "heuristic:v1"
EASY_MAX_IMAGES = 3
EASY_MAX_RELATIONS = 3


def heuristic_level(sample: dict) -> str:
    relations = sample["reasoning"]["region2region"]
    spanned = {ref["image"] for r in relations for ref in (r["from"], r["to"])}
    return "easy" if len(spanned) <= EASY_MAX_IMAGES and len(relations) <= EASY_MAX_RELATIONS else "hard"


def heuristic_difficulty(sample: dict) -> dict:
    return {"level": heuristic_level(sample), "pass_rate": None, "samples": 0, "method": HEURISTIC}


def with_heuristic_difficulty(sample: dict) -> dict:
    return dict(sample, difficulty=heuristic_difficulty(sample))


class SolveFn(beam.DoFn):
    """Scores a batch of samples, all their draws in flight together on a thread pool."""

    def __init__(self, difficulty: dict):
        self.difficulty = difficulty

    def setup(self):
        from .solver import Solver  # the openai client loads only for builds that ask a solver
        self.solver = Solver(self.difficulty)
        self.solver.setup()
        self.pool = ThreadPoolExecutor(self.difficulty["solver"]["concurrency"], thread_name_prefix="solve")

    def teardown(self):
        self.pool.shutdown()

    def process(self, batch):
        requests = list(self.pool.map(self.solver.request, batch))
        draws = [[self.pool.submit(self.solver.choice, sent, sample, n) for n in range(self.difficulty["samples"])]
                 if sent else [] for sample, sent in zip(batch, requests)]
        for sample, futures in zip(batch, draws):
            scored = self.solver.scored(sample, [f.result() for f in futures])
            yield dict(sample, difficulty=scored or heuristic_difficulty(sample))
        for name, n in self.solver.drain_stats().items():
            Metrics.counter(self.solver.namespace, name).inc(n)


class ScoreDifficulty(beam.PTransform):
    """Sample -> sample with ``difficulty`` set; ``difficulty`` is the manifest's section (none:
    the heuristic)."""

    def __init__(self, difficulty: dict = None):
        super().__init__()
        self.difficulty = difficulty

    def expand(self, samples):
        if not (self.difficulty and self.difficulty["solver"]):
            return samples | "Heuristic" >> beam.Map(with_heuristic_difficulty)
        batch = self.difficulty["solver"]["concurrency"]  # x samples draws: the pool rarely idles
        return (samples
                | "Batch" >> beam.BatchElements(min_batch_size=batch, max_batch_size=batch)
                | "Solve" >> beam.ParDo(SolveFn(self.difficulty)))
