"""The documented difficulty heuristic (``heuristic:v1``), used without a solver and for a sample
none of whose solver requests got through: a question whose Region2Region chain spans at most
three images with at most three relations is ``easy``, one that needs more cross-image steps is
``hard``. The method is recorded on every sample, so solver-scored and heuristic levels are
never confused."""

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
