"""view_3d: renders or photos of one object from known camera azimuths; which view is which.

The text states the facts a question needs next to the image they belong to (which view the camera
starts from, how far it circles, a reference view reached by a stated turn); the views themselves
are found in the pictures. No azimuth is ever written: not in the text, the captions, the region
labels or the reasoning. Only turns the question's text states are cited.
"""
import re

from .base import (Question, Task, caption_of, image_options, interleaved, link, balanced_orderings,
                   sequence_text, whole_image, whole_ref)

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth")
START = "<image> is the view the camera starts from"
# Views the text binds no fact to: worded alike, so no wording sets one apart.
OTHERS = ("<image> is another view of the object.", "<image> is one more view of the object.",
          "<image> is a further view of the object.", "<image> is yet another view of the object.")


def _azimuth(metadata) -> float:
    return metadata["camera"]["azimuth_deg"] % 360


def _distinct_views(ctx) -> bool:
    azimuths = [round(_azimuth(m)) for m in ctx.metadata]
    return len(ctx) >= 3 and len(set(azimuths)) == len(azimuths)


def _one_height(ctx) -> bool:
    """Do all the cameras share one elevation (so the text may say the camera keeps its height)?"""
    return len({m["camera"].get("elevation_deg") for m in ctx.metadata}) == 1


def _turn(ctx, a: int, b: int) -> float:
    """Counter-clockwise turn (seen from above) of the camera from image a to image b, in degrees."""
    return round((_azimuth(ctx.metadata[b - 1]) - _azimuth(ctx.metadata[a - 1])) % 360, 1)


def _others(ctx, rng, given: dict) -> list:
    """Per image its text: ``given`` (image -> text) where the question binds a fact to it, else a
    neutral line that says only that it is another view."""
    return [given.get(i) or rng.choice(OTHERS) for i in range(1, len(ctx) + 1)]


def _captions(ctx, roles: dict) -> list:
    """What each picture shows: the sidecar caption (views of one object share it, so each is told
    apart by its place in the list and, where the text gives one, its role), never the camera's
    azimuth. A caption with a number in it may be citing the camera, so it gives way to a neutral one."""
    out = []
    for i, metadata in enumerate(ctx.metadata, start=1):
        caption = caption_of(metadata)
        if re.search(r"\d", caption) or "azimuth" in caption.lower():
            caption = "A view of the object."
        place = ORDINALS[i - 1] if i <= len(ORDINALS) else "next"
        role = roles.get(i, "another view of the object")
        out.append(f"The {place} picture, {role}: {caption}")
    return out


def _view(text: str, image: int, label: str) -> dict:
    return whole_image(text, image, label)


def view_after_turn(ctx, rng):
    """The start view and a stated turn: which picture shows where the camera ends up?"""
    if not _distinct_views(ctx):
        return None
    start, target = rng.sample(range(1, len(ctx) + 1), 2)
    turn = _turn(ctx, start, target)
    candidates = [i for i in range(1, len(ctx) + 1) if i not in (start, target)]
    keeping = ", keeping its height and distance" if _one_height(ctx) else ""
    given = {start: f"{START}; it then circles the object {turn:g} degrees counter-clockwise (seen from above)"
                    f"{keeping}."}
    return Question(
        template="view_after_turn",
        text=interleaved(_others(ctx, rng, given), "Which image shows the object from where the camera ends up?"),
        answer=f"Image {target}",
        distractors=image_options(target, len(ctx), rng, among=candidates),
        summary=f"The pictures are views of one object from cameras around it; the text says which view the camera "
                f"starts from and that it circles {turn:g} degrees counter-clockwise; the task is to find the view it "
                "reaches.",
        captions=_captions(ctx, {start: "the view the camera starts from"}),
        text2region=[_view("the view the camera starts from", start, "start view"),
                     _view("where the camera ends up", target, "view after the turn")],
        region2region=[link(whole_ref(start, "start view"), whole_ref(target, "view after the turn"),
                            f"reached by circling {turn:g} degrees counter-clockwise",
                            f"A camera circling {turn:g} degrees counter-clockwise from the start view sees the "
                            f"object as Image {target} shows it; every other picture shows it from elsewhere on the "
                            "circle.")],
        rationale=f"The faces visible in Image {target} are the ones a camera sees after circling {turn:g} degrees "
                  "counter-clockwise from the start view.",
        verified_by="metadata:camera_azimuth")


def circle_order(ctx, rng):
    """The start view is given: in which order does a counter-clockwise circle pass the views?"""
    if not _distinct_views(ctx):
        return None
    start = rng.randrange(1, len(ctx) + 1)
    others = sorted((i for i in range(1, len(ctx) + 1) if i != start), key=lambda i: _turn(ctx, start, i))
    if len(others) < 3:
        return None
    order = [start] + others
    height = " at a constant height" if _one_height(ctx) else ""
    given = {start: f"{START}, before it circles the object counter-clockwise (seen from above){height}."}
    return Question(
        template="circle_order",
        text=interleaved(_others(ctx, rng, given),
                         "In which order does the circling camera pass the viewpoints of the images, beginning "
                         "with the one it starts from?"),
        answer=sequence_text(order),
        distractors=[sequence_text(p) for p in balanced_orderings(order, rng, fixed=(0,))],
        summary="The pictures are views of one object from cameras around it; the text says which view the "
                "camera starts from; the task is to order the views as a counter-clockwise circle meets them.",
        captions=_captions(ctx, {start: "the view the camera starts from"}),
        text2region=[_view("the view the camera starts from" if i == start else "the viewpoints of the images", i,
                           "start view" if i == start else "view on the circle") for i in order],
        region2region=[link(whole_ref(a, "view on the circle"), whole_ref(b, "view on the circle"),
                            "next viewpoint counter-clockwise",
                            f"Circling counter-clockwise from the viewpoint of Image {a}, the object's faces turn "
                            f"on until they look as in Image {b}, before any other picture's view.")
                       for a, b in zip(order, order[1:])],
        rationale=f"Each next view shows the object turned a little further, giving the order {sequence_text(order)}.",
        verified_by="metadata:camera_azimuth")


def turn_to_view(ctx, rng):
    """The start view, and a reference view reached by a stated turn: how far must the camera circle
    from the start to reach a third view? The reference shows how a known turn looks."""
    if not _distinct_views(ctx) or len(ctx) < 4:
        return None
    start, reference, target = rng.sample(range(1, len(ctx) + 1), 3)
    known = _turn(ctx, start, reference)
    answer = _turn(ctx, start, target)
    turns = sorted({_turn(ctx, start, i) for i in range(1, len(ctx) + 1) if i not in (start, reference, target)})
    if not turns:
        return None
    given = {start: f"{START}.",
             reference: f"<image> is what it sees after a {known:g}-degree counter-clockwise circle around the object "
                        "(seen from above)."}
    return Question(
        template="turn_to_view",
        text=interleaved(_others(ctx, rng, given),
                         f"How many degrees must the camera circle counter-clockwise from the start to see the object "
                         f"as in Image {target}?"),
        answer=f"{answer:g} degrees",
        distractors=[f"{t:g} degrees" for t in rng.sample(turns, min(3, len(turns)))],
        summary=f"The pictures are views of one object from cameras around it; the text gives the start view and a "
                f"view reached by a {known:g}-degree counter-clockwise turn; the task is to tell how far the camera "
                f"turns to reach the view of Image {target}.",
        captions=_captions(ctx, {start: "the view the camera starts from",
                                 reference: "the view after the stated turn"}),
        text2region=[_view("the view the camera starts from", start, "start view"),
                     _view(f"after a {known:g}-degree counter-clockwise circle", reference, "reference view"),
                     _view(f"as in Image {target}", target, "view asked about")],
        region2region=[link(whole_ref(start, "start view"), whole_ref(reference, "reference view"),
                            f"{known:g} degrees counter-clockwise",
                            f"The text states that Image {reference} is the view after a {known:g}-degree turn: it "
                            "shows how far the object's faces move for that turn."),
                       link(whole_ref(start, "start view"), whole_ref(target, "view asked about"),
                            f"{answer:g} degrees counter-clockwise",
                            f"Compared with the start view and the reference turn, the faces seen in Image {target} "
                            f"are those a camera sees after circling {answer:g} degrees counter-clockwise.")],
        rationale=f"Measured against the stated reference turn, reaching the view of Image {target} takes a "
                  f"{answer:g}-degree counter-clockwise circle.",
        verified_by="metadata:camera_azimuth")


TASK = Task(id="view_3d", category="spatial", grouping="group",
            needs=lambda metadata: "camera" in metadata, templates=(view_after_turn, circle_order, turn_to_view))
