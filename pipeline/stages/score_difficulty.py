"""ScoreDifficulty: easy, medium or hard for every sample.

With a solver (``difficulty.solver``) the level comes from its pass rate over ``samples`` draws
(``difficulty/solver.py``): samples arrive in batches and all draws of a batch go to a thread
pool (``llm.batch``), ``concurrency`` in flight per worker; Beam counters (namespace "solver")
are bumped on the DoFn's own thread. Without a solver, and for a sample none of whose requests
got through, the level comes from the documented heuristic (``difficulty/heuristic.py``).
"""
import functools

import apache_beam as beam

from ..difficulty.heuristic import heuristic_difficulty, with_heuristic_difficulty
from ..llm.batch import ThreadedBatchFn, count_stats, in_batches
from .base import REJECTS, Failed, attempt, guarded, sample_subject

STAGE = "score_difficulty"


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
        """Each sample's request, draws and level run under ``attempt``: a sample that trips over
        something becomes an internal_error reject, and the rest of the batch is scored."""
        requests = list(self.pool.map(functools.partial(attempt, self.solver.request), batch))
        draws = [[self.pool.submit(attempt, self.solver.choice, sent, sample, n) for n in range(self.difficulty["samples"])]
                 if sent and not isinstance(sent, Failed) else [] for sample, sent in zip(batch, requests)]
        for sample, sent, futures in zip(batch, requests, draws):
            choices = [f.result() for f in futures]
            failed = next((r for r in [sent, *choices] if isinstance(r, Failed)), None)
            scored = failed or attempt(self._with_difficulty, sample, choices)
            yield from scored.rejects(STAGE, [sample_subject(sample)]) if isinstance(scored, Failed) else [scored]
        count_stats(self.solver.namespace, self.solver.drain_stats())

    def _with_difficulty(self, sample: dict, choices: list) -> dict:
        return dict(sample, difficulty=self.solver.scored(sample, choices) or heuristic_difficulty(sample))


class ScoreDifficulty(beam.PTransform):
    """Sample -> {"samples": samples with ``difficulty`` set, "rejects": rejects records};
    ``difficulty`` is the manifest's section (none: the heuristic)."""

    def __init__(self, difficulty: dict = None):
        super().__init__()
        self.difficulty = difficulty

    def expand(self, samples):
        if not (self.difficulty and self.difficulty["solver"]):
            out = samples | "Heuristic" >> guarded(STAGE, with_heuristic_difficulty,
                                                   lambda sample: [sample_subject(sample)], main="samples")
        else:
            batch = self.difficulty["solver"]["concurrency"]  # x samples draws: the pool rarely idles
            out = (samples
                   | "Batch" >> in_batches(batch)
                   | "Solve" >> beam.ParDo(SolveFn(self.difficulty)).with_outputs(REJECTS, main="samples"))
        return {"samples": out.samples, "rejects": out[REJECTS]}
