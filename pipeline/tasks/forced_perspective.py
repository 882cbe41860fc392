"""forced_perspective: true size against apparent size; how big an object looks in its frame
says little about how big it is."""
from .base import Task, attribute, regions, superlative_question

KEY = "real_size_m"
HINT = " Judge their real-world size, not how much of its frame each one fills."
SIZE_WORDS = ("large", "small", "big", "little", "tiny", "huge")  # labels with these give the answer away


def largest(ctx, rng):
    return superlative_question(ctx, rng, template="largest_in_reality", key=KEY, largest=True,
                                quality="largest in real life",
                                relation="larger in real life than", hint=HINT,
                                unit="m", avoid_words=SIZE_WORDS,
                                verified_by="metadata:real_size_m")


def smallest(ctx, rng):
    return superlative_question(ctx, rng, template="smallest_in_reality", key=KEY, largest=False,
                                quality="smallest in real life",
                                relation="smaller in real life than", hint=HINT,
                                unit="m", avoid_words=SIZE_WORDS,
                                verified_by="metadata:real_size_m")


TASK = Task(id="forced_perspective", category="spatial", grouping="group",
            needs=lambda metadata: any(attribute(r, KEY) for r in regions(metadata)),
            templates=(largest, smallest))
