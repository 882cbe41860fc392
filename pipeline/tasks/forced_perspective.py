"""forced_perspective: true size against apparent size. One object's real size is stated; which
object named in the other photos is larger in real life yet takes up less of its photo (or smaller
yet takes up more)? How big an object looks in its frame says little about how big it is."""
from .base import Task, attribute, mentions, named, number, reference_question, regions, sentence

KEY = "real_size_m"
SIZE_WORDS = ("large", "small", "big", "little", "tiny", "huge")  # labels with these give the answer away
RATIO = 1.3   # real sizes at least this far apart, or the object is not named
FILL = 2.0    # shares of the photo taken up at least this far apart, or the object is not named


def _fill(region) -> float:
    """The share of its photo an object takes up: the area of its box."""
    x0, y0, x1, y1 = region["bbox"]
    return (x1 - x0) * (y1 - y0)


def _metres(region) -> str:
    return f"{number(attribute(region, KEY))} m"


def _template(larger: bool, template: str):
    bigger, smaller = ("larger", "smaller") if larger else ("smaller", "larger")
    less, more = ("less", "more") if larger else ("more", "less")

    def conditions(reference, pick):
        """(meets the size condition, clearly fails it, meets the frame condition, clearly fails it)."""
        size = attribute(pick[1], KEY) / attribute(reference[1], KEY)
        fill = _fill(pick[1]) / _fill(reference[1])
        grows, shrinks = size >= RATIO, size * RATIO <= 1
        fills_more, fills_less = fill >= FILL, fill * FILL <= 1
        return (grows, shrinks, fills_less, fills_more) if larger else (shrinks, grows, fills_more, fills_less)

    def judge(reference, pick):
        real_ok, real_not, fill_ok, fill_not = conditions(reference, pick)
        if real_ok and fill_ok:
            return True
        if real_not or fill_not:
            return False
        return None

    def explain(pick, reference, meets):
        label, ref = named(pick[1]["label"]), named(reference[1]["label"])
        if meets:
            return (f"{sentence(label)} in Image {pick[0]} is {bigger} in real life than {ref} "
                    f"({_metres(reference[1])}) yet takes up clearly {less} of its photo than {ref} does of "
                    f"Image {reference[0]}.")
        if conditions(reference, pick)[1]:
            return f"{sentence(label)} in Image {pick[0]} is not {bigger} in real life than {_metres(reference[1])}."
        return (f"{sentence(label)} in Image {pick[0]} takes up clearly {more} of its photo than {ref} does of "
                f"Image {reference[0]}.")

    def rationale(answer, reference):
        return (f"{sentence(named(reference[1]['label']))} in Image {reference[0]} is {_metres(reference[1])} long. "
                f"Only {named(answer[1]['label'])} in Image {answer[0]} is {bigger} than that in real life while it "
                f"takes up {less} of its own photo; the other named objects fail one of the two conditions.")

    def question(ctx, rng):
        return reference_question(
            ctx, rng, template=template,
            usable=lambda r: (attribute(r, KEY) or 0) > 0 and not mentions(r["label"], SIZE_WORDS), judge=judge,
            stated=lambda ref: f"{sentence(named(ref['label']))} in <image> is {_metres(ref)} long at its longest.",
            ask=lambda image, ref: (
                f"Of the objects named for the other photos, only one is {bigger} in real life than "
                f"{named(ref['label'])} (longest side against longest side) and yet takes up {less} of its own "
                f"photo than {named(ref['label'])} takes up of Image {image}. Which image shows it?"),
            relation=lambda meets: (f"{bigger} in real life yet {less} of its frame than" if meets
                                    else f"not both {bigger} in real life and {less} of its frame than"),
            explain=explain, rationale=rationale,
            summary=f"One photo's text states the real size of an object in it; the other photos each show a named "
                    f"object. The task is to find the one that is {bigger} in real life although it looks {smaller} "
                    f"in its photo, judging real size by what the objects are and apparent size by the pictures.",
            verified_by="metadata:real_size_m+bbox")
    return question


def larger_yet_looks_smaller(ctx, rng):
    return _template(True, "larger_yet_looks_smaller")(ctx, rng)


def smaller_yet_looks_larger(ctx, rng):
    return _template(False, "smaller_yet_looks_larger")(ctx, rng)


TASK = Task(id="forced_perspective", category="spatial", grouping="group",
            needs=lambda metadata: any(attribute(r, KEY) for r in regions(metadata)),
            templates=(larger_yet_looks_smaller, smaller_yet_looks_larger))
