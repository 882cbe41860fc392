"""ScoreDifficulty: easy, medium or hard for every sample.

With a solver (``difficulty.solver``) the level comes from its pass rate over ``samples`` draws
(``difficulty/solver.py``): samples arrive in batches and all draws of a batch go to a thread
pool (``llm.batch``), ``concurrency`` in flight per worker; Beam counters (namespace "solver")
are bumped on the DoFn's own thread. Without a solver, and for a sample none of whose requests
got through, the level comes from the documented heuristic (``difficulty/heuristic.py``).
"""
import apache_beam as beam

from ..difficulty.heuristic import heuristic_difficulty, with_heuristic_difficulty
from ..llm.batch import ThreadedBatchFn, in_batches


class SolveFn(ThreadedBatchFn):
    """Scores a batch of samples, all their draws in flight together on the thread pool."""
    thread_prefix = "solve"

    def __init__(self, difficulty: dict):
        super().__init__(difficulty["solver"]["concurrency"])
        self.difficulty = difficulty

    def setup(self):
        from ..difficulty.solver import Solver  # the openai client loads only for builds that ask a solver
        self.solver = Solver(self.difficulty)
        self.solver.setup()
        super().setup()

    def process(self, batch):
        requests = list(self.pool.map(self.solver.request, batch))
        draws = [[self.pool.submit(self.solver.choice, sent, sample, n) for n in range(self.difficulty["samples"])]
                 if sent else [] for sample, sent in zip(batch, requests)]
        for sample, futures in zip(batch, draws):
            scored = self.solver.scored(sample, [f.result() for f in futures])
            yield dict(sample, difficulty=scored or heuristic_difficulty(sample))
        self.count(self.solver.namespace, self.solver.drain_stats())


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
                | "Batch" >> in_batches(batch)
                | "Solve" >> beam.ParDo(SolveFn(self.difficulty)))
