"""Validate: every sample goes through the one judge (schemas + semantic rules)."""
import apache_beam as beam

from ..samples.judge import validate_record
from .base import REJECTS, guarded, sample_subject, to_rejects

STAGE = "validate"
PROBLEMS_SHOWN = 3


class ValidateFn(beam.DoFn):
    def process(self, sample):
        problems = validate_record(sample)
        if problems:
            more = f" (+{len(problems) - PROBLEMS_SHOWN} more)" if len(problems) > PROBLEMS_SHOWN else ""
            detail = "; ".join(str(p) for p in problems[:PROBLEMS_SHOWN]) + more
            yield to_rejects(sample_subject(sample).reject(STAGE, "invalid_sample", detail))
            return
        yield sample


class Validate(beam.PTransform):
    """Sample -> {"samples": valid samples, "rejects": rejects records}."""

    def expand(self, samples):
        out = samples | "Judge" >> guarded(STAGE, ValidateFn(), lambda sample: [sample_subject(sample)], main="samples")
        return {"samples": out.samples, "rejects": out[REJECTS]}
