"""view_3d: renders or photos of one object from known camera azimuths; which view is which.

The text states the facts a question needs next to the image they belong to (which view the camera
starts from, how far it circles, a reference view reached by a stated turn); the views themselves
are found in the pictures. No azimuth is ever written: not in the text, the captions, the region
labels or the reasoning. Only turns the question's text states are cited.

What a viewer can decide: the views a question offers (and the start and reference views they are
told from) are at least ``view_min_degrees`` (drafter.questions) apart, measured the short way round
the circle, or the template asks nothing; a turn is stated the short way round, at most 180 degrees,
clockwise or counterclockwise (seen from above), or "half way round" at 180; and cameras are compared
by azimuth alone only within ELEVATION_SPREAD degrees of elevation of each other.
"""
import itertools
import math
import re

from .base import Question, Task, caption_of, interleaved, link, balanced_orderings, sequence_text, whole_image, whole_ref

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth")
START = "<image> is the view the camera starts from"
# Views the text binds no fact to: worded alike, so no wording sets one apart.
OTHERS = ("<image> is another view of the object.", "<image> is one more view of the object.",
          "<image> is a further view of the object.", "<image> is yet another view of the object.")
# Cameras more than this many degrees apart in elevation see the object from heights so different
# that which of its sides show depends on the height as much as on the turn: such views are not told
# apart by azimuth alone. 30 degrees keeps a level camera and one looking down from 30 degrees (the
# side faces still fill most of both pictures) and leaves out a top-down view among side views.
ELEVATION_SPREAD = 30
# Turns are stated in whole degrees when the views are at least this many degrees apart: rounding
# moves a stated turn by at most half a degree, so two options can neither read alike nor a stated
# turn come nearer to another view than to its own. Below it, in tenths.
WHOLE_DEGREES_FROM = 2
MOST_OPTIONS = 4
# "counterclockwise" in one word: the text-only baseline reads "counter-clockwise" as two words, so
# an option turning that way would share one more word with a text naming both ways than one turning
# clockwise, and which options the baseline favours would then depend on the direction alone.
CLOCKWISE, COUNTERCLOCKWISE = "clockwise", "counterclockwise"


def _azimuth(metadata) -> float:
    return metadata["camera"]["azimuth_deg"] % 360


def _elevation(metadata) -> float:
    """A camera without an elevation is taken as level, as a sidecar stating only azimuths means."""
    return metadata["camera"].get("elevation_deg", 0.0)


def _one_height(ctx) -> bool:
    """Do all the cameras share one elevation (so the text may say the camera keeps its height)?"""
    return len({m["camera"].get("elevation_deg") for m in ctx.metadata}) == 1


def _places(ctx) -> int:
    """Decimal places a turn is stated with: whole degrees unless the margin is too fine for them."""
    return 0 if ctx.questions["view_min_degrees"] >= WHOLE_DEGREES_FROM else 1


def _margin(ctx) -> float:
    """How far apart views must be to be told apart: the setting, and never finer than the stated precision."""
    return max(ctx.questions["view_min_degrees"], 10.0 ** -_places(ctx))


def _gap(ctx, a: int, b: int) -> float:
    """Degrees between the cameras of images a and b, the short way round the circle."""
    apart = abs(_azimuth(ctx.metadata[a - 1]) - _azimuth(ctx.metadata[b - 1])) % 360
    return min(apart, 360 - apart)


def _turn(ctx, a: int, b: int) -> float:
    """The camera's turn from image a to image b the short way round, in degrees: positive
    counterclockwise (seen from above), negative clockwise, in (-180, 180]."""
    counterclockwise = (_azimuth(ctx.metadata[b - 1]) - _azimuth(ctx.metadata[a - 1])) % 360
    return counterclockwise if counterclockwise <= 180 else counterclockwise - 360


def _size(ctx, turn: float) -> float:
    """The turn's size as stated: rounded half up to the stated places (half a degree up, as a reader rounds)."""
    scale = 10 ** _places(ctx)
    return math.floor(abs(turn) * scale + 0.5) / scale


def _half_way(ctx, turn: float) -> bool:
    return _size(ctx, turn) == 180


def turn_words(ctx, turn: float) -> str:
    """A turn as an option or the text states it: "20 degrees clockwise"; at 180 (either way leads
    there) "180 degrees, half way round"."""
    if _half_way(ctx, turn):
        return "180 degrees, half way round"
    return f"{_size(ctx, turn):g} degrees {COUNTERCLOCKWISE if turn > 0 else CLOCKWISE}"


def _turn_adjective(ctx, turn: float) -> str:
    """The turn before a noun: "a 20-degree clockwise circle". Unlike turn_words' "20 degrees
    clockwise", it is held in no option's text ("120 degrees clockwise" would hold "20 degrees clockwise")."""
    if _half_way(ctx, turn):
        return "a 180-degree circle, half way round"
    return f"a {_size(ctx, turn):g}-degree {COUNTERCLOCKWISE if turn > 0 else CLOCKWISE} circle"


def _comparable(ctx) -> list:
    """Image numbers of the cameras compared by azimuth: the most that lie within ELEVATION_SPREAD
    degrees of elevation of each other (of equally many, the lowest)."""
    elevations = [_elevation(m) for m in ctx.metadata]
    bands = [[i for i, e in enumerate(elevations, start=1) if low <= e <= low + ELEVATION_SPREAD]
             for low in sorted(set(elevations))]
    return max(bands, key=len)


def _spread_views(ctx, rng, pool: list, apart_from: tuple) -> list:
    """Up to MOST_OPTIONS images of ``pool``, met in a random order and each taken when it is at least
    the margin from every image taken and from every image of ``apart_from``."""
    taken = []
    for image in rng.sample(pool, len(pool)):
        if len(taken) < MOST_OPTIONS and all(_gap(ctx, image, other) >= _margin(ctx) for other in (*taken, *apart_from)):
            taken.append(image)
    return taken


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
    """The start view and a stated turn: which picture shows where the camera ends up? The options
    are views well apart from each other and from the start, the answer one of them drawn last."""
    views = _comparable(ctx)
    if len(views) < 3:
        return None
    start = rng.choice(views)
    options = _spread_views(ctx, rng, [i for i in views if i != start], apart_from=(start,))
    if len(options) < 2:
        return None
    target = rng.choice(options)
    turn = turn_words(ctx, _turn(ctx, start, target))
    seen = "" if _half_way(ctx, _turn(ctx, start, target)) else " (seen from above)"
    keeping = ", keeping its height and distance" if _one_height(ctx) else ""
    given = {start: f"{START}; it then circles the object {turn}{seen}{keeping}."}
    return Question(
        template="view_after_turn",
        text=interleaved(_others(ctx, rng, given), "Which image shows the object from where the camera ends up?"),
        answer=f"Image {target}",
        distractors=[f"Image {i}" for i in options if i != target],
        summary=f"The pictures are views of one object from cameras around it; the text says which view the camera "
                f"starts from and that it circles {turn}; the task is to find the view it reaches.",
        captions=_captions(ctx, {start: "the view the camera starts from"}),
        text2region=[_view("the view the camera starts from", start, "start view"),
                     _view("where the camera ends up", target, "view after the turn")],
        region2region=[link(whole_ref(start, "start view"), whole_ref(target, "view after the turn"),
                            f"reached by circling {turn}",
                            f"A camera circling {turn} from the start view sees the object as Image {target} shows "
                            "it; every other picture shows it from elsewhere on the circle.")],
        rationale=f"The faces visible in Image {target} are the ones a camera sees after circling {turn} from the "
                  "start view.",
        verified_by="metadata:camera_azimuth")


def circle_order(ctx, rng):
    """The start view is given: in which order does a counterclockwise circle pass the views? Every
    two views are at least the margin apart, so no two trade places unseen."""
    if len(ctx) < 4 or len(_comparable(ctx)) < len(ctx):
        return None
    if any(_gap(ctx, a, b) < _margin(ctx) for a, b in itertools.combinations(range(1, len(ctx) + 1), 2)):
        return None
    start = rng.randrange(1, len(ctx) + 1)
    others = sorted((i for i in range(1, len(ctx) + 1) if i != start), key=lambda i: _turn(ctx, start, i) % 360)
    order = [start] + others
    height = " at a constant height" if _one_height(ctx) else ""
    given = {start: f"{START}, before it circles the object {COUNTERCLOCKWISE} (seen from above){height}."}
    return Question(
        template="circle_order",
        text=interleaved(_others(ctx, rng, given),
                         "In which order does the circling camera pass the viewpoints of the images, beginning "
                         "with the one it starts from?"),
        answer=sequence_text(order),
        distractors=[sequence_text(p) for p in balanced_orderings(order, rng, fixed=(0,))],
        summary="The pictures are views of one object from cameras around it; the text says which view the "
                f"camera starts from; the task is to order the views as a {COUNTERCLOCKWISE} circle meets them.",
        captions=_captions(ctx, {start: "the view the camera starts from"}),
        text2region=[_view("the view the camera starts from" if i == start else "the viewpoints of the images", i,
                           "start view" if i == start else "view on the circle") for i in order],
        region2region=[link(whole_ref(a, "view on the circle"), whole_ref(b, "view on the circle"),
                            f"next viewpoint {COUNTERCLOCKWISE}",
                            f"Circling {COUNTERCLOCKWISE} from the viewpoint of Image {a}, the object's faces turn "
                            f"on until they look as in Image {b}, before any other picture's view.")
                       for a, b in zip(order, order[1:])],
        rationale=f"Each next view shows the object turned a little further, giving the order {sequence_text(order)}.",
        verified_by="metadata:camera_azimuth")


def turn_to_view(ctx, rng):
    """The start view, and a reference view reached by a stated turn: which way and how far must the
    camera circle from the start to reach a third view? The reference shows how a known turn looks.
    The options are turns to views well apart from each other, the start and the reference, none
    half way round (no way to state) nor as large as the reference's (its number is in the text)."""
    views = _comparable(ctx)
    if len(views) < 4:
        return None
    start = rng.choice(views)
    references = [i for i in views if i != start and _gap(ctx, start, i) >= _margin(ctx)]
    if not references:
        return None
    reference = rng.choice(references)
    known = _turn(ctx, start, reference)
    pool = [i for i in views if i not in (start, reference) and not _half_way(ctx, _turn(ctx, start, i))
            and _size(ctx, _turn(ctx, start, i)) != _size(ctx, known)]
    options = _spread_views(ctx, rng, pool, apart_from=(start, reference))
    if len(options) < 2:
        return None
    target = rng.choice(options)
    answer, stated = turn_words(ctx, _turn(ctx, start, target)), _turn_adjective(ctx, known)
    given = {start: f"{START}.",
             reference: f"<image> is what it sees after {stated} around the object (seen from above)."}
    return Question(
        template="turn_to_view",
        text=interleaved(_others(ctx, rng, given),
                         f"Which way, {CLOCKWISE} or {COUNTERCLOCKWISE} (seen from above), and how many degrees must "
                         f"the camera circle from the start, the short way round, to see the object as in Image "
                         f"{target}?"),
        answer=answer,
        distractors=[turn_words(ctx, _turn(ctx, start, i)) for i in options if i != target],
        summary=f"The pictures are views of one object from cameras around it; the text gives the start view and a "
                f"view reached by {stated}; the task is to tell which way and how far the camera circles, the short "
                f"way round, to reach the view of Image {target}.",
        captions=_captions(ctx, {start: "the view the camera starts from",
                                 reference: "the view after the stated turn"}),
        text2region=[_view("the view the camera starts from", start, "start view"),
                     _view(f"after {stated}", reference, "reference view"),
                     _view(f"as in Image {target}", target, "view asked about")],
        region2region=[link(whole_ref(start, "start view"), whole_ref(reference, "reference view"),
                            f"{stated} around the object",
                            f"The text states that Image {reference} is the view after {stated}: it shows how far "
                            "the object's faces move for that turn."),
                       link(whole_ref(start, "start view"), whole_ref(target, "view asked about"), answer,
                            f"Compared with the start view and the reference turn, the faces seen in Image {target} "
                            f"are those a camera sees after circling {answer}.")],
        rationale=f"Measured against the stated reference turn, reaching the view of Image {target} takes circling "
                  f"{answer}, the short way round.",
        verified_by="metadata:camera_azimuth")


TASK = Task(id="view_3d", category="spatial", grouping="group",
            needs=lambda metadata: "camera" in metadata, templates=(view_after_turn, circle_order, turn_to_view))
