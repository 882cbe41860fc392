"""depth_relationship: one object's distance from the camera is stated; which object named in the
other photos stands nearer to (or farther from) its own camera? Distances in other photos are
not world knowledge: they must be judged from the pictures."""
from .base import Task, attribute, mentions, named, number, reference_question, regions, sentence

KEY = "depth_m"
DEPTH_WORDS = ("near", "far", "close", "distant", "foreground", "background", "behind", "front")
RATIO = 1.5   # a named object is this much nearer or farther than the reference, or is not named


def _usable(region) -> bool:
    return (attribute(region, KEY) or 0) > 0 and not mentions(region["label"], DEPTH_WORDS)


def _metres(region) -> str:
    return f"{number(attribute(region, KEY))} m"


def _template(nearer: bool, template: str):
    closer, further = ("nearer to", "farther from") if nearer else ("farther from", "nearer to")
    than_ref = "to" if nearer else "from"

    def judge(reference, pick):
        ref, other = attribute(reference[1], KEY), attribute(pick[1], KEY)
        if other * RATIO <= ref:
            return nearer
        if other >= RATIO * ref:
            return not nearer
        return None

    def explain(pick, reference, meets):
        return (f"{sentence(named(pick[1]['label']))} in Image {pick[0]} is clearly {closer if meets else further} "
                f"its camera than the {_metres(reference[1])} stated for {named(reference[1]['label'])} in "
                f"Image {reference[0]}.")

    def rationale(answer, reference):
        return (f"The text puts {named(reference[1]['label'])} {_metres(reference[1])} from the camera of "
                f"Image {reference[0]}. Judging each named object's distance from the scale of its photo, only "
                f"{named(answer[1]['label'])} in Image {answer[0]} is {closer} its camera than that; the other named "
                f"objects are clearly {further} theirs.")

    def question(ctx, rng):
        return reference_question(
            ctx, rng, template=template, usable=_usable, judge=judge,
            stated=lambda ref: f"In <image>, {named(ref['label'])} is {_metres(ref)} from the camera.",
            ask=lambda image, ref: (f"Of the objects named for the other photos, only one is {closer} the camera "
                                    f"that took its photo than {named(ref['label'])} is {than_ref} the camera of "
                                    f"Image {image}. Which image shows it?"),
            relation=lambda meets: f"{closer if meets else further} its camera than", explain=explain,
            rationale=rationale,
            summary=f"One photo's text states how far an object in it is from the camera; the other photos each "
                    f"show a named object. The task is to find the one named object {closer} its camera than the "
                    f"stated distance, judging distances from the photos.",
            verified_by="metadata:depth_m")
    return question


def nearer_than_stated(ctx, rng):
    return _template(True, "nearer_than_stated")(ctx, rng)


def farther_than_stated(ctx, rng):
    return _template(False, "farther_than_stated")(ctx, rng)


TASK = Task(id="depth_relationship", category="spatial", grouping="group",
            needs=lambda metadata: any(_usable(r) for r in regions(metadata)),
            templates=(nearer_than_stated, farther_than_stated))
