"""depth_relationship: one object's distance from the camera is stated; of the objects listed for the
other images in no stated order, which image shows the one nearer to (or farther from) its own
camera? Distances in other images are not world knowledge: they must be judged from the pictures,
and which image shows which object must be seen too."""
from .base import Task, attribute, mentions, named, number, ratio_verdict, reference_question, regions, sentence

KEY = "depth_m"
DEPTH_WORDS = ("near", "far", "close", "distant", "foreground", "background", "behind", "front")
RATIO = 1.5   # a listed object is this much nearer or farther than the reference, or is not listed


def _usable(region) -> bool:
    return (attribute(region, KEY) or 0) > 0 and not mentions(region["label"], DEPTH_WORDS)


def _metres(region) -> str:
    return f"{number(attribute(region, KEY))} m"


def _template(nearer: bool, template: str):
    closer, further = ("nearer to", "farther from") if nearer else ("farther from", "nearer to")
    than_ref = "to" if nearer else "from"

    def judge(reference, pick):
        return ratio_verdict(attribute(pick[1], KEY), attribute(reference[1], KEY), RATIO, larger=not nearer)

    def explain(pick, reference, meets):
        return (f"{sentence(named(pick[1]['label']))} in Image {pick[0]} is clearly {closer if meets else further} "
                f"its camera than the {_metres(reference[1])} stated for {named(reference[1]['label'])} in "
                f"Image {reference[0]}.")

    def rationale(answer, reference):
        return (f"The text puts {named(reference[1]['label'])} {_metres(reference[1])} from the camera of "
                f"Image {reference[0]}. Finding each listed object in its image and judging its distance from the "
                f"scale of the scene, only {named(answer[1]['label'])}, in Image {answer[0]}, is {closer} its camera "
                f"than that; the other listed objects are clearly {further} theirs.")

    def question(ctx, rng):
        return reference_question(
            ctx, rng, template=template, usable=_usable, judge=judge,
            stated=lambda ref: f"In <image>, {named(ref['label'])} is {_metres(ref)} from the camera.",
            ask=lambda image, ref: (f"Of the listed objects, only one is {closer} the camera that took its image "
                                    f"than {named(ref['label'])} is {than_ref} the camera of Image {image}. "
                                    "Which image shows it?"),
            relation=lambda meets: f"{closer if meets else further} its camera than", explain=explain,
            rationale=rationale,
            summary=f"One image's text states how far an object in it is from the camera; the text lists the objects "
                    f"the other images show without saying which shows which. The task is to find the one listed "
                    f"object {closer} its camera than the stated distance, judging distances from the images.",
            verified_by="metadata:depth_m")
    return question


def nearer_than_stated(ctx, rng):
    return _template(True, "nearer_than_stated")(ctx, rng)


def farther_than_stated(ctx, rng):
    return _template(False, "farther_than_stated")(ctx, rng)


TASK = Task(id="depth_relationship", category="spatial", grouping="group",
            needs=lambda metadata: any(_usable(r) for r in regions(metadata)),
            templates=(nearer_than_stated, farther_than_stated))
