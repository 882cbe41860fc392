"""forced_perspective: true size against apparent size. One object's real size is stated; of the
objects listed for the other images in no stated order, which image shows the one that is larger
in real life yet covers a smaller share of its image's area (or smaller yet covers more)? How big
an object looks in its frame says little about how big it is."""
from .base import Task, attribute, called, mentions, number, ratio_verdict, reference_question, regions, sentence

KEY = "real_size_m"
SIZE_WORDS = ("large", "small", "big", "little", "tiny", "huge")  # labels with these give the answer away
RATIO = 1.3   # real sizes at least this far apart, or the object is not listed
FILL = 2.0    # shares of the image's area covered at least this far apart, or the object is not listed


def _fill(region) -> float:
    """The share of its image's area an object covers: the area of its box."""
    x0, y0, x1, y1 = region["bbox"]
    return (x1 - x0) * (y1 - y0)


def _metres(region) -> str:
    return f"{number(attribute(region, KEY))} m"


def _template(larger: bool, template: str):
    bigger, smaller = ("larger", "smaller") if larger else ("smaller", "larger")
    less, more = ("a smaller", "a larger") if larger else ("a larger", "a smaller")

    def real_size(reference, pick):
        return ratio_verdict(attribute(pick[1], KEY), attribute(reference[1], KEY), RATIO, larger=larger)

    def judge(reference, pick):
        real = real_size(reference, pick)
        looks = ratio_verdict(_fill(pick[1]), _fill(reference[1]), FILL, larger=not larger)
        if real is False or looks is False:
            return False
        return True if real and looks else None

    def explain(pick, reference, meets):
        label, ref = called(pick[1]), called(reference[1])
        if meets:
            return (f"{sentence(label)} in Image {pick[0]} is {bigger} in real life than {ref} "
                    f"({_metres(reference[1])}) yet covers clearly {less} share of its image's area than {ref} covers "
                    f"of Image {reference[0]}'s.")
        if real_size(reference, pick) is False:
            return f"{sentence(label)} in Image {pick[0]} is not {bigger} in real life than {_metres(reference[1])}."
        return (f"{sentence(label)} in Image {pick[0]} covers clearly {more} share of its image's area than {ref} "
                f"covers of Image {reference[0]}'s.")

    def rationale(answer, reference):
        return (f"{sentence(called(reference[1]))} in Image {reference[0]} is {_metres(reference[1])} long. "
                f"Of the listed objects, only {called(answer[1])}, in Image {answer[0]}, is {bigger} than that "
                f"in real life while it covers {less} share of its own image's area; the other listed objects fail "
                f"one of the two conditions.")

    def question(ctx, rng):
        return reference_question(
            ctx, rng, template=template,
            usable=lambda r: (attribute(r, KEY) or 0) > 0 and not mentions(r["label"], SIZE_WORDS), judge=judge,
            stated=lambda ref: f"{sentence(called(ref))} in <image> is {_metres(ref)} long at its longest.",
            ask=lambda image, ref: (
                f"Of the listed objects, only one is {bigger} in real life than {called(ref)} (longest side "
                f"against longest side) and yet covers {less} share of its own image's area than "
                f"{called(ref)} covers of Image {image}'s. Which image shows it?"),
            relation=lambda meets: (f"{bigger} in real life yet covers {less} share of its image than" if meets
                                    else f"not both {bigger} in real life and covering {less} share of its image than"),
            explain=explain, rationale=rationale,
            summary=f"One image's text states the real size of an object in it; the text lists the objects the other "
                    f"images show without saying which shows which. The task is to find the one that is {bigger} in "
                    f"real life although it looks {smaller} in its image, judging real size by what the objects are "
                    f"and apparent size by the share of its image each covers.",
            verified_by="metadata:real_size_m+bbox", singled_out=True)
    return question


def larger_yet_looks_smaller(ctx, rng):
    return _template(True, "larger_yet_looks_smaller")(ctx, rng)


def smaller_yet_looks_larger(ctx, rng):
    return _template(False, "smaller_yet_looks_larger")(ctx, rng)


TASK = Task(id="forced_perspective", category="spatial", grouping="group",
            needs=lambda metadata: any(attribute(r, KEY) for r in regions(metadata)),
            templates=(larger_yet_looks_smaller, smaller_yet_looks_larger))
