"""view_3d: renders or photos of one object from known camera azimuths; which view is which."""
from .base import (Question, Task, caption_of, image_list, image_options, link, permutation_distractors,
                   sequence_text, whole_image, whole_ref)


def _azimuth(metadata) -> float:
    return metadata["camera"]["azimuth_deg"] % 360


def _distinct_views(ctx) -> bool:
    azimuths = [round(_azimuth(m)) for m in ctx.metadata]
    return len(ctx) >= 3 and len(set(azimuths)) == len(azimuths)


def _turn(ctx, a: int, b: int) -> float:
    """Counter-clockwise turn (seen from above) of the camera from image a to image b, in degrees."""
    return (_azimuth(ctx.metadata[b - 1]) - _azimuth(ctx.metadata[a - 1])) % 360


def _views(ctx, images) -> list:
    return [whole_image(f"the view in Image {i}", i, f"view from azimuth {_azimuth(ctx.metadata[i - 1]):g} deg")
            for i in images]


def _turn_link(ctx, a: int, b: int) -> dict:
    return link(whole_ref(a, "object"), whole_ref(b, "object"),
                f"camera turned {_turn(ctx, a, b):g} deg counter-clockwise",
                f"Image {a} is taken from azimuth {_azimuth(ctx.metadata[a - 1]):g} deg and Image {b} from "
                f"{_azimuth(ctx.metadata[b - 1]):g} deg.")


def view_after_turn(ctx, rng):
    if not _distinct_views(ctx):
        return None
    start, target = rng.sample(range(1, len(ctx) + 1), 2)
    turn = _turn(ctx, start, target)
    return Question(
        template="view_after_turn",
        text=f"{image_list(len(ctx))} The images show one object from different sides. Starting from the "
             f"viewpoint of Image {start}, the camera circles the object {turn:g} degrees counter-clockwise "
             "(seen from above), keeping its height. Which image shows the object from the new viewpoint?",
        answer=f"Image {target}",
        distractors=image_options(target, len(ctx), rng, among=[i for i in range(1, len(ctx) + 1) if i != start]),
        summary="The images are views of one object from cameras placed around it; the task is to find the view "
                f"reached by turning {turn:g} degrees from Image {start}.",
        captions=[caption_of(m) for m in ctx.metadata],
        text2region=_views(ctx, [start, target]),
        region2region=[_turn_link(ctx, start, target)],
        rationale=f"The faces visible in Image {target} are the ones a camera sees after circling {turn:g} degrees "
                  f"counter-clockwise from Image {start}.",
        verified_by="metadata:camera_azimuth")


def circle_order(ctx, rng):
    if not _distinct_views(ctx):
        return None
    start = rng.randrange(1, len(ctx) + 1)
    others = sorted((i for i in range(1, len(ctx) + 1) if i != start), key=lambda i: _turn(ctx, start, i))
    if len(others) < 3:
        return None
    order = [start] + others
    return Question(
        template="circle_order",
        text=f"{image_list(len(ctx))} The images show one object from different sides. A camera starts at "
             f"the viewpoint of Image {start} and circles the object counter-clockwise (seen from above). In "
             "which order does it pass the viewpoints of the images?",
        answer=sequence_text(order),
        distractors=[sequence_text([start] + p) for p in permutation_distractors(others, rng)],
        summary="The images are views of one object from cameras around it; the task is to order them as a "
                f"camera circling counter-clockwise from Image {start} meets them.",
        captions=[caption_of(m) for m in ctx.metadata],
        text2region=_views(ctx, order),
        region2region=[_turn_link(ctx, a, b) for a, b in zip(order, order[1:])],
        rationale=f"Each next view shows the object turned a little further, giving the order {sequence_text(order)}.",
        verified_by="metadata:camera_azimuth")


TASK = Task(id="view_3d", category="spatial", grouping="group",
            needs=lambda metadata: "camera" in metadata, templates=(view_after_turn, circle_order))
