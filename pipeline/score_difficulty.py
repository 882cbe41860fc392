"""ScoreDifficulty: easy or hard for every sample.

Without a solver the level comes from a documented heuristic (``heuristic:v1``): a question
whose Region2Region chain spans at most three images with at most three relations is ``easy``,
one that needs more cross-image steps is ``hard``. The method is recorded on every sample, so
solver-scored and heuristic levels are never confused.
"""
import apache_beam as beam

HEURISTIC = "heuristic:v1"
EASY_MAX_IMAGES = 3
EASY_MAX_RELATIONS = 3


def heuristic_level(sample: dict) -> str:
    relations = sample["reasoning"]["region2region"]
    spanned = {ref["image"] for r in relations for ref in (r["from"], r["to"])}
    return "easy" if len(spanned) <= EASY_MAX_IMAGES and len(relations) <= EASY_MAX_RELATIONS else "hard"


def with_heuristic_difficulty(sample: dict) -> dict:
    level = heuristic_level(sample)
    return dict(sample, difficulty={"level": level, "pass_rate": None, "samples": 0, "method": HEURISTIC})


class ScoreDifficulty(beam.PTransform):
    """Sample -> sample with ``difficulty`` set."""

    def expand(self, samples):
        return samples | "Heuristic" >> beam.Map(with_heuristic_difficulty)
