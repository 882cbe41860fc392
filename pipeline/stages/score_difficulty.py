"""ScoreDifficulty: easy, medium or hard for every sample.

With a solver (``difficulty.solver``) the level comes from its pass rate over ``samples`` draws
(``difficulty/solver.py``): samples arrive in batches and all draws of a batch go to a thread
pool (``llm.batch``), ``concurrency`` in flight per worker; Beam counters (namespace "solver")
are bumped on the DoFn's own thread. Without a solver, and for a sample none of whose requests
got through, the level comes from the documented heuristic (``difficulty/heuristic.py``).

With a solver, the blind check (``difficulty.blind``, ``difficulty/blind.py``) asks each sample
``blind.samples`` more times without its images, on the same pool; a sample the blind answers
get right more often than chance allows is rejected as ``answerable_without_images`` (or, with
``blind.on_answerable: flag``, kept with ``difficulty.answerable_without_images`` true).
"""
import functools

import apache_beam as beam

from ..difficulty.heuristic import heuristic_difficulty, with_heuristic_difficulty
from ..llm.batch import ThreadedBatchFn, count_stats, in_batches
from .base import REJECTS, Failed, attempt, guarded, sample_subject, to_rejects

STAGE = "score_difficulty"
ANSWERABLE = "answerable_without_images"


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
        """Each sample's requests, draws and level run under ``attempt``: a sample that trips over
        something becomes an internal_error reject, and the rest of the batch is scored."""
        requests = list(self.pool.map(functools.partial(attempt, self.solver.request), batch))
        blind = list(self.pool.map(functools.partial(attempt, self.solver.request, blind=True), batch)
                     if self.solver.blind_draws else [None] * len(batch))
        draws = [self._draws(sample, sent, self.difficulty["samples"], False) for sample, sent in zip(batch, requests)]
        blind_draws = [self._draws(sample, sent, self.solver.blind_draws, True) for sample, sent in zip(batch, blind)]
        for sample, sent, blind_sent, futures, blind_futures in zip(batch, requests, blind, draws, blind_draws):
            choices, blind_choices = [f.result() for f in futures], [f.result() for f in blind_futures]
            failed = next((r for r in [sent, blind_sent, *choices, *blind_choices] if isinstance(r, Failed)), None)
            scored = failed or attempt(self._scored, sample, choices, blind_choices)
            yield from scored.rejects(STAGE, [sample_subject(sample)]) if isinstance(scored, Failed) else scored
        count_stats(self.solver.namespace, self.solver.drain_stats())

    def _draws(self, sample: dict, sent, n: int, blind: bool) -> list:
        """The futures of ``n`` draws of request ``sent`` on the pool (none without a request)."""
        if not sent or isinstance(sent, Failed):
            return []
        return [self.pool.submit(attempt, self.solver.choice, sent, sample, i, blind) for i in range(n)]

    def _scored(self, sample: dict, choices: list, blind_choices: list) -> list:
        """The sample with its difficulty, or its reject when the blind check finds it answerable
        without its images and the manifest says reject."""
        difficulty = self.solver.scored(sample, choices) or heuristic_difficulty(sample)
        if not self.solver.blind_draws:
            return [dict(sample, difficulty=difficulty)]
        fields, verdict = self.solver.blind_scored(sample, blind_choices, difficulty["pass_rate"])
        if verdict and verdict.answerable and self.difficulty["blind"]["on_answerable"] == "reject":
            detail = verdict.detail(self.difficulty["blind"]["significance"])
            return [to_rejects(sample_subject(sample).reject(STAGE, ANSWERABLE, detail))]
        return [dict(sample, difficulty=dict(difficulty, **fields))]


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
