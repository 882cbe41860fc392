"""weight_comparison: a weight stated for one object, weighed against objects listed for the other
images in no stated order: which image shows the one heavier (or lighter) than the stated one?
Knowing that a man outweighs a cat finds the object, not the image: the pictures must be read."""
from .base import Task, attribute, called, number, ratio_verdict, reference_question, regions, sentence

KEY = "weight_kg"
RATIO = 1.5   # a listed object is this much heavier or lighter than the reference, or is not listed


def _kg(region) -> str:
    return f"{number(attribute(region, KEY))} kg"


def _template(heavier: bool, template: str):
    more, less = ("heavier", "lighter") if heavier else ("lighter", "heavier")

    def judge(reference, pick):
        return ratio_verdict(attribute(pick[1], KEY), attribute(reference[1], KEY), RATIO, larger=heavier)

    def explain(pick, reference, meets):
        return (f"{sentence(called(pick[1]))} in Image {pick[0]} is clearly {more if meets else less} than "
                f"the {_kg(reference[1])} stated for {called(reference[1])}.")

    def rationale(answer, reference):
        return (f"The text gives {called(reference[1])} in Image {reference[0]} a weight of "
                f"{_kg(reference[1])}. Of the listed objects, only {called(answer[1])} is {more} than that, "
                f"and Image {answer[0]} is the one that shows it; every other listed object is clearly {less}.")

    def question(ctx, rng):
        return reference_question(
            ctx, rng, template=template, usable=lambda r: (attribute(r, KEY) or 0) > 0, judge=judge,
            stated=lambda ref: f"{sentence(called(ref))} in <image> weighs {_kg(ref)}.",
            ask=lambda image, ref: f"Of the listed objects, only one is {more} than {called(ref)}. "
                                   "Which image shows it?",
            relation=lambda meets: f"{more if meets else less} than", explain=explain, rationale=rationale,
            summary=f"One image's text states the weight of an object in it; the text lists the objects the other "
                    f"images show without saying which shows which. The task is to find the one listed object "
                    f"{more} than the stated weight and the image that shows it.",
            verified_by="metadata:weight_kg", singled_out=True)
    return question


def heavier(ctx, rng):
    return _template(True, "heavier_than_stated")(ctx, rng)


def lighter(ctx, rng):
    return _template(False, "lighter_than_stated")(ctx, rng)


TASK = Task(id="weight_comparison", category="analytical", grouping="group",
            needs=lambda metadata: any(attribute(r, KEY) for r in regions(metadata)),
            templates=(heavier, lighter))
