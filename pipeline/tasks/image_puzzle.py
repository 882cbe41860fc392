"""image_puzzle: the context is the tiles of one photo, shuffled; questions ask how they fit."""
from .base import (Question, Task, caption_of, image_distractors, image_list, permutation_distractors,
                   sequence_text)

ROWS, COLS = 2, 3
TILE_SIDE = 448  # a tile's longer side at most: tiles of a large photo are shrunk to this
EDGE = 0.08  # width of the strip that shows where two tiles meet


def _tile_size(image) -> dict:
    """{"size": [w, h]} for tiles that must shrink to TILE_SIDE; none for tiles kept as cut."""
    width, height = image.width / COLS, image.height / ROWS
    scale = TILE_SIDE / max(width, height)
    return {"size": [max(1, round(width * scale)), max(1, round(height * scale))]} if scale < 1 else {}


def derive(image, rng) -> list:
    """One transform per tile, in a shuffled order that is never the identity."""
    cells = [(r, c) for r in range(ROWS) for c in range(COLS)]
    order = list(range(len(cells)))
    while order == sorted(order):
        rng.shuffle(order)
    size = _tile_size(image)
    return [{"box": [c / COLS, r / ROWS, (c + 1) / COLS, (r + 1) / ROWS], **size, "row": r, "col": c}
            for r, c in (cells[i] for i in order)]


def _position(transform) -> str:
    return f"row {transform['row'] + 1}, column {transform['col'] + 1}"


def _image_at(ctx) -> dict:
    """Grid cell (row, col) -> the 1-based image that shows it."""
    return {(t["row"], t["col"]): i for i, t in enumerate(ctx.transforms, start=1)}


def _captions(ctx) -> list:
    photo = caption_of(ctx.metadata[0]).rstrip(".")
    return [f"A tile cut from a photo ({photo[0].lower() + photo[1:]}); it is the tile at {_position(t)}."
            for t in ctx.transforms]


def _neighbour_links(ctx) -> list:
    """Region2Region: every pair of horizontally adjacent tiles, matched along their shared edge."""
    at = _image_at(ctx)
    links = []
    for r in range(ROWS):
        for c in range(COLS - 1):
            left, right = at[(r, c)], at[(r, c + 1)]
            links.append({
                "from": {"image": left, "label": "right edge", "bbox": [1 - EDGE, 0.0, 1.0, 1.0]},
                "to": {"image": right, "label": "left edge", "bbox": [0.0, 0.0, EDGE, 1.0]},
                "relation": "continues into",
                "explanation": f"The right edge of image {left} continues into the left edge of image "
                               f"{right}: they are neighbours in row {r + 1}."})
    return links


def _tiles_text2region(ctx) -> list:
    return [{"text": "tiles of one photo", "image": i, "bbox": [0.0, 0.0, 1.0, 1.0],
             "label": f"tile at {_position(t)}"} for i, t in enumerate(ctx.transforms, start=1)]


def restore_order(ctx, rng):
    at = _image_at(ctx)
    correct = [at[(r, c)] for r in range(ROWS) for c in range(COLS)]
    return Question(
        template="restore_order",
        text=f"{image_list(len(ctx))} These {len(ctx)} images are the tiles of one photo, cut on a "
             f"{ROWS} by {COLS} grid and shuffled. Which order of the images, read left to right and "
             "top to bottom, puts the photo back together?",
        answer=sequence_text(correct),
        distractors=[sequence_text(p) for p in permutation_distractors(correct, rng)],
        summary=f"The {len(ctx)} images are shuffled tiles of a single photo; the task is to find the "
                "arrangement in which the content continues across every tile edge.",
        captions=_captions(ctx), text2region=_tiles_text2region(ctx), region2region=_neighbour_links(ctx),
        rationale=f"Matching the content along the tile edges row by row gives the order {sequence_text(correct)}.",
        verified_by="derivation:tile_grid")


def tile_at(ctx, rng):
    r, c = rng.randrange(ROWS), rng.randrange(COLS)
    answer = _image_at(ctx)[(r, c)]
    place = f"row {r + 1}, column {c + 1}"
    return Question(
        template="tile_at",
        text=f"{image_list(len(ctx))} These images are the tiles of one photo, cut on a {ROWS} by {COLS} "
             f"grid and shuffled. Which image belongs at {place} of the original photo?",
        answer=f"Image {answer}",
        distractors=[f"Image {i}" for i in image_distractors(answer, len(ctx), rng)],
        summary=f"The images are shuffled tiles of one photo; the task is to find the tile at {place}.",
        captions=_captions(ctx), text2region=_tiles_text2region(ctx), region2region=_neighbour_links(ctx),
        rationale=f"Reassembling the photo from the matching edges puts image {answer} at {place}.",
        verified_by="derivation:tile_grid")


TASK = Task(id="image_puzzle", category="sequential", grouping="single", needs=lambda metadata: True,
            templates=(restore_order, tile_at), derive=derive)
