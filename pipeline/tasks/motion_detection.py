"""motion_detection: frames of one clip in time order; what moved and in which direction."""
import math

from .base import (Question, Task, attribute, caption_of, displacement, image_list, link, region_ref, regions,
                   text2region, tracks)

STILL_PX = 4           # a track whose centre moves less than this many pixels did not move
DIAGONAL = 0.4         # both components above this share of the distance: a diagonal move
STILL = "it does not move"
DIRECTIONS = ("to the left", "to the right", "upwards", "downwards", "up and to the left", "up and to the right",
              "down and to the left", "down and to the right", STILL)
NONE_OF_THEM = "none of the objects"


def direction(dx: float, dy: float) -> str:
    """The direction of a move in image coordinates (y grows downwards), in words."""
    distance = math.hypot(dx, dy)
    if distance < STILL_PX:
        return STILL
    vertical = "up" if dy < 0 else "down"
    horizontal = "to the left" if dx < 0 else "to the right"
    if abs(dx) > DIAGONAL * distance and abs(dy) > DIAGONAL * distance:
        return f"{vertical} and {horizontal}"
    return horizontal if abs(dx) >= abs(dy) else f"{vertical}wards"


def _moves(ctx) -> list:
    """(track label, direction, first (image, region), last (image, region)) per track."""
    found = tracks(ctx)
    out = [(f"the {seen[0][1]['label']}", direction(*displacement(ctx, seen)), seen[0], seen[-1])
           for seen in found.values()]
    labels = [m[0] for m in out]
    return out if len(set(labels)) == len(labels) else []


def _grounding(moves) -> tuple:
    t2r, r2r = [], []
    for label, moved, (a, first), (b, last) in moves:
        t2r += [text2region(label, a, first), text2region(label, b, last)]
        r2r.append(link(region_ref(a, first), region_ref(b, last), "moves to" if moved != STILL else "stays at",
                        f"From Image {a} to Image {b}, {label} {'moves ' + moved if moved != STILL else 'stays put'}."))
    return t2r, r2r


def _intro(ctx) -> str:
    return f"{image_list(len(ctx))} The images are frames of one clip, in time order."


def direction_of_object(ctx, rng):
    moves = _moves(ctx)
    if not moves:
        return None
    move = rng.choice(moves)
    label, moved = move[0], move[1]
    t2r, r2r = _grounding([move])
    plausible = [d for d in DIRECTIONS if d != moved and (d == STILL or " and " not in d or " and " in moved)]
    return Question(
        template="direction_of_object",
        text=f"{_intro(ctx)} In which direction does {label} move across these frames?",
        answer=moved,
        distractors=rng.sample(plausible, 3),
        summary=f"The frames follow {label}; its position in the first and last frame gives its direction.",
        captions=[caption_of(m) for m in ctx.metadata], text2region=t2r, region2region=r2r,
        rationale=f"Comparing its position in Image {move[2][0]} and Image {move[3][0]}, {label} "
                  f"{'moves ' + moved if moved != STILL else 'does not move'}.",
        verified_by="metadata:track_boxes")


def object_moving(ctx, rng):
    """Which object moves in a drawn direction (one that exactly one object takes)."""
    moves = _moves(ctx)
    taken = [m[1] for m in moves]
    unique = sorted(d for d in set(taken) if d != STILL and taken.count(d) == 1)
    if len(moves) < 2 or not unique:
        return None
    wanted = rng.choice(unique)
    winner = next(m for m in moves if m[1] == wanted)
    t2r, r2r = _grounding(moves)
    return Question(
        template="object_moving",
        text=f"{_intro(ctx)} Which object moves {wanted} across these frames?",
        answer=winner[0],
        distractors=[m[0] for m in moves if m is not winner] + [NONE_OF_THEM],
        summary=f"The frames follow {len(moves)} objects; tracking each from the first to the last frame shows "
                "which way it goes.",
        captions=[caption_of(m) for m in ctx.metadata], text2region=t2r, region2region=r2r,
        rationale=f"Only {winner[0]} moves {wanted}: " + "; ".join(f"{m[0]} {m[1] if m[1] != STILL else 'stays put'}"
                                                                 for m in moves) + ".",
        verified_by="metadata:track_boxes")


TASK = Task(id="motion_detection", category="sequential", grouping="sequence",
            needs=lambda metadata: any(attribute(r, "track_id") for r in regions(metadata)),
            templates=(direction_of_object, object_moving))
