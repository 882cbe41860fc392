"""weight_comparison: find each listed object in the images and combine their weights."""
from .base import Task, attribute, regions, superlative_question

KEY = "weight_kg"


def heaviest(ctx, rng):
    return superlative_question(ctx, rng, template="heaviest_object", key=KEY, largest=True,
                                quality="heaviest",
                                relation="heavier than",
                                unit="kg", ratio=1.5, verified_by="metadata:weight_kg")


def lightest(ctx, rng):
    return superlative_question(ctx, rng, template="lightest_object", key=KEY, largest=False,
                                quality="lightest",
                                relation="lighter than",
                                unit="kg", ratio=1.5, verified_by="metadata:weight_kg")


TASK = Task(id="weight_comparison", category="analytical", grouping="group",
            needs=lambda metadata: any(attribute(r, KEY) for r in regions(metadata)),
            templates=(heaviest, lightest))
