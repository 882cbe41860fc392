"""depth_relationship: which image shows the listed object nearer to (or farther from) its own camera
than a stated distance? Either one object's distance in one image is the reference (of the objects
listed for the other images in no stated order, one is clearly nearer or farther than it), or the
text states a distance between the objects listed (one is clearly within it, the others clearly
beyond, or the reverse): the second needs no more than a depth map and boxes, even when every
picture holds one near and one far object. Distances in other images are not world knowledge:
they must be judged from the pictures, and which image shows which object must be seen too."""
import math

from .base import (Question, Task, attribute, called, candidate_texts, captions_of, count_word, findable, interleaved,
                   link, mentions, named, number, ratio_verdict, reference_question, refer, region_ref, regions,
                   sentence, text2region)

KEY = "depth_m"
DEPTH_WORDS = ("near", "far", "close", "distant", "foreground", "background", "behind", "front")
RATIO = 1.5   # a listed object is this much nearer or farther than the distance it is held against, or is not listed
LISTED = 3    # objects listed besides the answer, at most


def _usable(region) -> bool:
    return (attribute(region, KEY) or 0) > 0 and not mentions(region["label"], DEPTH_WORDS)


def _metres(region) -> str:
    return f"{number(attribute(region, KEY))} m"


def _words(nearer: bool) -> tuple:
    """(how the answer stands to its camera, how the others stand to theirs)."""
    return ("nearer to", "farther from") if nearer else ("farther from", "nearer to")


def _template(nearer: bool, template: str):
    closer, further = _words(nearer)
    than_ref = "to" if nearer else "from"

    def judge(reference, pick):
        return ratio_verdict(attribute(pick[1], KEY), attribute(reference[1], KEY), RATIO, larger=not nearer)

    def explain(pick, reference, meets):
        return (f"{sentence(called(pick[1]))} in Image {pick[0]} is clearly {closer if meets else further} "
                f"its camera than the {_metres(reference[1])} stated for {called(reference[1])} in "
                f"Image {reference[0]}.")

    def rationale(answer, reference):
        return (f"The text puts {called(reference[1])} {_metres(reference[1])} from the camera of "
                f"Image {reference[0]}. Finding each listed object in its image and judging its distance from the "
                f"scale of the scene, only {called(answer[1])}, in Image {answer[0]}, is {closer} its camera "
                f"than that; the other listed objects are clearly {further} theirs.")

    def question(ctx, rng):
        return reference_question(
            ctx, rng, template=template, usable=_usable, judge=judge,
            stated=lambda ref: f"In <image>, {called(ref)} is {_metres(ref)} from the camera.",
            ask=lambda image, ref: (f"Of the listed objects, only one is {closer} the camera that took its image "
                                    f"than {called(ref)} is {than_ref} the camera of Image {image}. "
                                    "Which image shows it?"),
            relation=lambda meets: f"{closer if meets else further} its camera than", explain=explain,
            rationale=rationale,
            summary=f"One image's text states how far an object in it is from the camera; the text lists the objects "
                    f"the other images show without saying which shows which. The task is to find the one listed "
                    f"object {closer} its camera than the stated distance, judging distances from the images.",
            verified_by="metadata:depth_m", singled_out=True)
    return question


def _round_between(low: float, high: float) -> float:
    """The roundest distance in [low, high] (fewest significant digits), near their geometric mean."""
    middle = math.sqrt(low * high)
    for digits in range(1, 6):
        rounded = float(f"{middle:.{digits}g}")
        if low <= rounded <= high:
            return rounded
    return middle


def _distance_template(nearer: bool, template: str):
    """A distance stated between the listed objects: the answer clearly within it (``nearer``) or
    beyond it, every other listed object clearly on the other side, each RATIO from it."""
    closer, further = _words(nearer)
    within = "less" if nearer else "more"

    def apart(answer: float, other: float) -> bool:
        """Are two depths far enough apart that a distance between them is RATIO from each?"""
        return (other >= RATIO ** 2 * answer) if nearer else (answer >= RATIO ** 2 * other)

    def limit(answer: float, others: list) -> float:
        if nearer:
            return _round_between(RATIO * answer, min(others) / RATIO)
        return _round_between(RATIO * max(others), answer / RATIO)

    def question(ctx, rng):
        usable = {i: [dict(r, words=called(r)) for r in regions(m) if _usable(r) and findable(ctx, i, r)]
                  for i, m in enumerate(ctx.metadata, start=1)}
        answers = [(i, r) for i, found in usable.items() for r in found]
        rng.shuffle(answers)
        for answer_image, answer in answers:
            depth = attribute(answer, KEY)
            picks = [(i, rng.choice(fit)) for i, found in sorted(usable.items()) if i != answer_image
                     and (fit := [r for r in found if apart(depth, attribute(r, KEY))])]
            if len(picks) < 2:
                continue
            picks = sorted(rng.sample(picks, min(LISTED, len(picks))))
            distance = f"{number(limit(depth, [attribute(r, KEY) for _, r in picks]))} m"
            shown = dict([(answer_image, answer), *picks])
            return Question(
                template=template,
                text=interleaved(candidate_texts(ctx, shown),
                                 f"Of the listed objects, only one is {within} than {distance} from the camera that "
                                 "took its image. Which image shows it?"),
                answer=f"Image {answer_image}",
                distractors=[f"Image {i}" for i, _ in picks],
                summary=f"The text lists objects some images show, one each, without saying which shows which, and "
                        f"states a distance. The task is to find each listed object in its picture, judge how far it "
                        f"is from the camera that took it, and find the one {within} than that distance away.",
                captions=captions_of(ctx),
                text2region=[text2region(called(r), i, r) for i, r in sorted(shown.items())],
                region2region=[link(region_ref(i, r), region_ref(answer_image, answer), f"{further} its camera than",
                                    f"{sentence(called(r))} in Image {i} is clearly {further} its camera than "
                                    f"{distance}, while {called(answer)} in Image {answer_image} is clearly {closer} "
                                    "its own.") for i, r in picks],
                rationale=(f"Finding each listed object in its image and judging its distance from the scale of the "
                           f"scene, only {called(answer)}, in Image {answer_image}, is {within} than {distance} from "
                           f"its camera; the other listed objects are clearly {further} theirs than that."),
                verified_by="metadata:depth_m")
        return None
    return question


SAME_RATIO = 1.3   # the one object seen nearest (farthest) is this much nearer (farther) than in every other option


def _seen_in(ctx) -> dict:
    """name -> {image: region}: objects a viewer can find by name in each of several images (its kind
    alone in each), with a depth: one scene seen from several places, as an RGB-D sequence's frames."""
    seen = {}
    for i, m in enumerate(ctx.metadata, start=1):
        for r in regions(m):
            if _usable(r) and refer(ctx, i, r) == named(r["label"]):
                seen.setdefault(named(r["label"]), {})[i] = r
    return {name: found for name, found in sorted(seen.items()) if len(found) >= 3}


def _same_object_template(nearer: bool, template: str):
    """One object several images show: in which is it nearest to (farthest from) the camera? The
    text binds the same words to every image that shows it, so nothing but the pictures (how large
    and how close it looks) tells the images apart; depths the text never states."""
    most = "nearest to" if nearer else "farthest from"

    def clearly(answer: float, other: float) -> bool:
        return other >= SAME_RATIO * answer if nearer else answer >= SAME_RATIO * other

    def question(ctx, rng):
        seen = sorted(_seen_in(ctx).items())
        for name, found in rng.sample(seen, len(seen)):
            depths = {i: attribute(r, KEY) for i, r in found.items()}
            answer_image = (min if nearer else max)(depths, key=depths.get)
            others = [i for i in depths if i != answer_image and clearly(depths[answer_image], depths[i])]
            if len(others) < 2:
                continue
            picks = sorted(rng.sample(others, min(LISTED, len(others))))
            per_image = ["<image> shows it." if i in found else "<image> does not show it." for i in range(1, len(ctx) + 1)]
            per_image[0] = f"{count_word(len(found))} of the images show {name}. {per_image[0]}"
            answer = found[answer_image]
            return Question(
                template=template,
                text=interleaved(per_image, f"Of the images that show {name}, in which is it {most} the camera that "
                                            "took the image?"),
                answer=f"Image {answer_image}",
                distractors=[f"Image {i}" for i in picks],
                summary=f"Several images show {name}, each from its own camera position. The task is to judge, "
                        f"from how large and how close it looks in each, where it is {most} the camera.",
                captions=captions_of(ctx),
                text2region=[text2region(name, i, found[i]) for i in sorted([answer_image, *picks])],
                region2region=[link(region_ref(i, found[i]), region_ref(answer_image, answer),
                                    f"{'farther from' if nearer else 'nearer to'} its camera than",
                                    f"In Image {i}, {name} is clearly {'farther from' if nearer else 'nearer to'} the "
                                    f"camera than in Image {answer_image}.") for i in picks],
                rationale=(f"Comparing how large and how close {name} looks in each image that shows it, it is "
                           f"{most} the camera in Image {answer_image}; in the other listed images it is clearly "
                           f"{'farther' if nearer else 'nearer'}."),
                verified_by="metadata:depth_m")
        return None
    return question


def nearest_same_object(ctx, rng):
    return _same_object_template(True, "nearest_same_object")(ctx, rng)


def farthest_same_object(ctx, rng):
    return _same_object_template(False, "farthest_same_object")(ctx, rng)


def nearer_than_stated(ctx, rng):
    return _template(True, "nearer_than_stated")(ctx, rng)


def farther_than_stated(ctx, rng):
    return _template(False, "farther_than_stated")(ctx, rng)


def nearer_than_distance(ctx, rng):
    return _distance_template(True, "nearer_than_distance")(ctx, rng)


def farther_than_distance(ctx, rng):
    return _distance_template(False, "farther_than_distance")(ctx, rng)


TASK = Task(id="depth_relationship", category="spatial", grouping="group",
            needs=lambda metadata: any(_usable(r) for r in regions(metadata)),
            templates=(nearer_than_stated, farther_than_stated, nearer_than_distance, farther_than_distance,
                       nearest_same_object, farthest_same_object))
