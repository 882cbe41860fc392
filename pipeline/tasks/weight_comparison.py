"""weight_comparison: a weight stated for one object, weighed against objects named in the other
images: which of them is heavier (or lighter) than the stated one."""
from .base import Task, attribute, named, number, reference_question, regions, sentence

KEY = "weight_kg"
RATIO = 1.5   # a named object is this much heavier or lighter than the reference, or is not named


def _kg(region) -> str:
    return f"{number(attribute(region, KEY))} kg"


def _template(heavier: bool, template: str):
    more, less = ("heavier", "lighter") if heavier else ("lighter", "heavier")

    def judge(reference, pick):
        ref, other = attribute(reference[1], KEY), attribute(pick[1], KEY)
        if other >= RATIO * ref:
            return heavier
        if other * RATIO <= ref:
            return not heavier
        return None

    def explain(pick, reference, meets):
        return (f"{sentence(named(pick[1]['label']))} in Image {pick[0]} is clearly {more if meets else less} than "
                f"the {_kg(reference[1])} stated for {named(reference[1]['label'])}.")

    def rationale(answer, reference):
        return (f"The text gives {named(reference[1]['label'])} in Image {reference[0]} a weight of "
                f"{_kg(reference[1])}. Of the objects the other photos show, only {named(answer[1]['label'])} in "
                f"Image {answer[0]} is {more} than that; every other named object is clearly {less}.")

    def question(ctx, rng):
        return reference_question(
            ctx, rng, template=template, usable=lambda r: (attribute(r, KEY) or 0) > 0, judge=judge,
            stated=lambda ref: f"{sentence(named(ref['label']))} in <image> weighs {_kg(ref)}.",
            ask=lambda image, ref: f"Of the objects named for the other photos, only one is {more} than "
                                   f"{named(ref['label'])}. Which image shows it?",
            relation=lambda meets: f"{more if meets else less} than", explain=explain, rationale=rationale,
            summary=f"One photo's text states the weight of an object in it; the other photos each show a named "
                    f"object. The task is to find the one named object {more} than the stated weight.",
            verified_by="metadata:weight_kg")
    return question


def heavier(ctx, rng):
    return _template(True, "heavier_than_stated")(ctx, rng)


def lighter(ctx, rng):
    return _template(False, "lighter_than_stated")(ctx, rng)


TASK = Task(id="weight_comparison", category="analytical", grouping="group",
            needs=lambda metadata: any(attribute(r, KEY) for r in regions(metadata)),
            templates=(heavier, lighter))
