"""image_puzzle: the context is the tiles of one picture, shuffled; questions ask how they fit.

The text says what the picture shows and where one tile came from ("<image> is the tile from the
top-left corner."); every other tile gets a neutral phrase, so where a tile belongs is for the
pictures to show. Captions describe what a tile shows (the picture's regions its crop box holds),
never where it lies in the grid.
"""
from .base import (CAPTION_KINDS, Question, Task, balanced_orderings, caption_kind, counted, described_as, image_options,
                   interleaved, joined, named, regions, sentence, sequence_text, whole_image)

ROWS, COLS = 2, 3
TILE_SIDE = 448  # a tile's longer side at most: tiles of a large picture are shrunk to this
EDGE = 0.08  # width of the strip that shows where two tiles meet
_ROW_NAMES = ("top", "bottom")
_COL_NAMES = ("left", "middle", "right")
_COUNT = {6: "six"}
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
# (row step, column step) -> how the question says it, the anchor's edge that meets the answer's
# opposite edge, and the two edge strips.
_SIDES = {(0, 1): ("directly to the right of", "right", "left", [1 - EDGE, 0.0, 1.0, 1.0], [0.0, 0.0, EDGE, 1.0]),
          (0, -1): ("directly to the left of", "left", "right", [0.0, 0.0, EDGE, 1.0], [1 - EDGE, 0.0, 1.0, 1.0]),
          (1, 0): ("directly below", "bottom", "top", [0.0, 1 - EDGE, 1.0, 1.0], [0.0, 0.0, 1.0, EDGE]),
          (-1, 0): ("directly above", "top", "bottom", [0.0, 0.0, 1.0, EDGE], [0.0, 1 - EDGE, 1.0, 1.0])}
_NEUTRAL = ("<image> is another tile.", "<image> is one more tile.")   # the first tile shown: "one of the tiles"


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


def _place(row: int, col: int) -> str:
    """A grid cell in words: "the top-left corner", "the middle of the bottom row"."""
    if col in (0, COLS - 1):
        return f"the {_ROW_NAMES[row]}-{_COL_NAMES[col]} corner"
    return f"the {_COL_NAMES[col]} of the {_ROW_NAMES[row]} row"


def _image_at(ctx) -> dict:
    """Grid cell (row, col) -> the 1-based image that shows it."""
    return {(t["row"], t["col"]): i for i, t in enumerate(ctx.transforms, start=1)}


def _degree(tile: list, box: list):
    """How much of a region's box a tile's crop box holds, in words, with the share it holds; None
    when too little to mention."""
    x0, y0, x1, y1 = tile
    rx0, ry0, rx1, ry1 = box
    area = (rx1 - rx0) * (ry1 - ry0)
    inside = max(0.0, min(x1, rx1) - max(x0, rx0)) * max(0.0, min(y1, ry1) - max(y0, ry0))
    if area <= 0 or inside <= 0:
        return None
    share, fills = inside / area, inside / ((x1 - x0) * (y1 - y0))
    if share >= 0.95:
        return share, "all of"
    if share >= 0.6:
        return share, "most of"
    if share >= 0.25 or fills >= 0.25:
        return share, "part of"
    return (share, "a small part of") if share >= 0.05 and fills >= 0.03 else None


def _kind_shown(noun: str, degrees: list, alone: bool) -> str:
    """What a tile holds of one kind of object, each kind once: "all of the cup" (the picture's only
    cup), "part of two cars" (each held alike), "all of one of three cars (less of the others)"."""
    best = max(degrees)[1]
    if len(degrees) == 1:
        return f"{best} {named(noun) if alone else counted(noun, 1)}"
    if len({degree for _, degree in degrees}) == 1:
        return f"{best} {counted(noun, len(degrees))}"
    rest = "other" if len(degrees) == 2 else "others"
    return f"{best} one of {counted(noun, len(degrees))} (less of the {rest})"


def _shows(ctx, image: int) -> str:
    """What a tile shows of the picture's regions, judged by how much of each region's box its crop
    box holds (nothing about where the tile lies): each kind once, a kind the picture holds once by
    its name ("all of the cup"), others counted ("part of two cups"), the best held first, at most
    CAPTION_KINDS kinds and then "other objects"."""
    picture = regions(ctx.metadata[image - 1])
    kinds = [caption_kind(r) for r in picture]
    held = {}   # kind -> [(share, degree) of each of its regions the tile holds]
    for region, noun in zip(picture, kinds):
        found = _degree(ctx.transforms[image - 1]["box"], region["bbox"])
        if found:
            held.setdefault(noun, []).append(found)
    if not held:
        return "none of the picture's main objects"
    ranked = sorted(held, key=lambda noun: (-max(held[noun])[0], noun))
    parts = [_kind_shown(noun, held[noun], kinds.count(noun) == 1) for noun in ranked[:CAPTION_KINDS]]
    return joined(parts + ["other objects"] * (len(ranked) > CAPTION_KINDS))


def _captions(ctx) -> list:
    """What each tile shows; tiles that show the same (often, none of the picture's regions) are told
    apart by their place in the shown order, never by their place in the grid."""
    shows = [_shows(ctx, i) for i in range(1, len(ctx) + 1)]
    out = []
    for i, text in enumerate(shows):
        caption = f"A tile of the picture showing {text}"
        if shows.count(text) > 1:
            caption += f" (the {_ORDINALS[shows[:i].count(text)]} such tile shown)"
        out.append(caption + ".")
    return out


def _picture(ctx) -> str:
    """How the text opens: what describes the picture, when anything does, then that it was cut."""
    described = (described_as(ctx.metadata[0]) or "").strip().rstrip(".")
    return f"{sentence(described)}. This picture was" if described else "A picture was"


def _texts(ctx, anchors: dict) -> list:
    """Per tile its text: the first opens with what the picture shows and how it was cut; a tile in
    ``anchors`` (image -> cell) is placed, every other one gets a neutral phrase."""
    n = len(ctx)
    picture = _picture(ctx)
    out = []
    for i in range(1, n + 1):
        text = (f"<image> is the tile from {_place(*anchors[i])}." if i in anchors
                else "<image> is one of the tiles." if i == 1 else _NEUTRAL[i % len(_NEUTRAL)])
        if i == 1:
            text = (f"{picture} cut into {_COUNT.get(n, n)} tiles, {ROWS} rows of {COLS}, "
                    f"shown here in a shuffled order. {text}")
        out.append(text)
    return out


def _edge_link(a: int, b: int, step: tuple, where: str) -> dict:
    _, edge, opposite, from_box, to_box = _SIDES[step]
    return {"from": {"image": a, "label": f"{edge} edge", "bbox": list(from_box)},
            "to": {"image": b, "label": f"{opposite} edge", "bbox": list(to_box)},
            "relation": "continues into",
            "explanation": f"The {edge} edge of Image {a} continues into the {opposite} edge of Image {b}: "
                           f"they are neighbours {where}."}


def _neighbour_links(ctx) -> list:
    """Region2Region: every pair of adjacent tiles, matched along their shared edge."""
    at = _image_at(ctx)
    links = [_edge_link(at[(r, c)], at[(r, c + 1)], (0, 1), f"in the {_ROW_NAMES[r]} row")
             for r in range(ROWS) for c in range(COLS - 1)]
    links += [_edge_link(at[(r, c)], at[(r + 1, c)], (1, 0), f"in the {_COL_NAMES[c]} column")
              for r in range(ROWS - 1) for c in range(COLS)]
    return links


def restore_order(ctx, rng):
    at = _image_at(ctx)
    correct = [at[(r, c)] for r in range(ROWS) for c in range(COLS)]
    anchor_cell = rng.choice(sorted(at))
    anchor = at[anchor_cell]
    # Wrong orders keep the placed tile where the text puts it, so the text rules none of them out.
    wrong = balanced_orderings(correct, rng, fixed=(correct.index(anchor),))
    anchored = {anchor: f"the tile from {_place(*anchor_cell)}"}
    return Question(
        template="restore_order",
        text=interleaved(_texts(ctx, {anchor: anchor_cell}),
                         "Reading the grid left to right along the top row and then along the bottom row, which "
                         "order of the images puts the picture back together?"),
        answer=sequence_text(correct),
        distractors=[sequence_text(p) for p in wrong],
        summary=f"The {_COUNT.get(len(ctx), len(ctx))} images are shuffled tiles of a single picture and the text "
                "places one of them; the task is to find the arrangement in which the content continues across "
                "every tile edge.",
        captions=_captions(ctx),
        text2region=[whole_image(anchored.get(i, "tiles"), i, "tile") for i in range(1, len(ctx) + 1)],
        region2region=_neighbour_links(ctx),
        rationale=f"Starting from Image {anchor}, placed by the text, and matching the content along the tile "
                  f"edges row by row gives the order {sequence_text(correct)}.",
        verified_by="derivation:tile_grid")


def tile_next_to(ctx, rng):
    """The text places one tile; which image belongs on a drawn side of it?"""
    at = _image_at(ctx)
    choices = [(cell, step) for cell in sorted(at) for step in sorted(_SIDES)
               if (cell[0] + step[0], cell[1] + step[1]) in at]
    cell, step = rng.choice(choices)
    anchor, answer = at[cell], at[(cell[0] + step[0], cell[1] + step[1])]
    side, edge, opposite = _SIDES[step][:3]
    place = _place(*cell)
    asked = f"Which image belongs {side} the tile from {place}"
    others = [i for i in range(1, len(ctx) + 1) if i != anchor]
    return Question(
        template="tile_next_to",
        text=interleaved(_texts(ctx, {anchor: cell}), f"{asked}?"),
        answer=f"Image {answer}",
        distractors=image_options(answer, len(ctx), rng, among=others),
        summary=f"The images are shuffled tiles of one picture and the text says which one comes from {place}; "
                f"the task is to find the tile {side} it.",
        captions=_captions(ctx),
        text2region=[whole_image(f"the tile from {place}", anchor, "tile"), whole_image(asked, answer, "tile")],
        region2region=[_edge_link(anchor, answer, step, "across that cut")],
        rationale=f"The content along the {edge} edge of Image {anchor}, the tile from {place}, runs on across the "
                  f"{opposite} edge of Image {answer} and of no other tile, so Image {answer} belongs {side} it.",
        verified_by="derivation:tile_grid")


TASK = Task(id="image_puzzle", category="sequential", grouping="single", needs=lambda metadata: True,
            templates=(restore_order, tile_next_to), derive=derive)
