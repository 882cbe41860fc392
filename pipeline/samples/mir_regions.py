"""MIR's Text2Region and Region2Region steps (``text2img``, ``img2img``) read into this project's
structured entries, wherever an entry can be read whole; the rest stays text.

MIR's released data gives both steps as free text (its own preprocessing concatenates them as
strings); contributed data may give lists of strings or of entries. An *entry* is one list item,
or one clause of a text (lines, ``;`` and sentence ends separate clauses). An entry becomes
structured only when all of it is read: a phrase, an image number that names one of the
record's images, and a box whose scale is certain. Nothing is guessed: an entry with no image
number, an image number out of range (MIR's preprocessing also knows 0-based "Image0"), or a box
that reads as both 0-999 grid and pixels stays text, verbatim.

Boxes are ``[x0, y0, x1, y1]`` or ``(x0, y0, x1, y1)``, or Qwen's point pairs ``(x1,y1),(x2,y2)``
(bare, in ``[...]``, ``<box>...</box>`` or ``<|box_start|>...<|box_end|>``). Their scale: all four
in [0, 1] is normalised; otherwise integers up to 999 are Qwen-VL's grid (``[0, 1000)``, read as
n / 999 as Qwen-VL's own grounding evaluation does) and numbers inside the image's width and
height are pixels; a box that could be both is ambiguous, except in Qwen-VL's ``<box>`` tokens,
which are always the grid. Image numbers: ``Image 2``, ``image-2``, ``Image_2``, ``<image2>``,
``Picture 2`` (Qwen-VL's name for an image), 1-based positions in ``images``.
"""
import json
import re

_NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
_FOUR = rf"{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}"
_PAIR = rf"\({_NUMBER},{_NUMBER}\)\s*,\s*\({_NUMBER},{_NUMBER}\)"
# (pattern, whether its numbers are Qwen-VL's grid whatever they look like), most specific first
_BOX_FORMS = (
    (re.compile(rf"<box>\s*{_PAIR}\s*</box>"), True),
    (re.compile(rf"<\|box_start\|>\s*{_PAIR}\s*<\|box_end\|>"), False),
    (re.compile(rf"\[\s*{_PAIR}\s*\]"), False),
    (re.compile(_PAIR), False),
    (re.compile(rf"\[{_FOUR}\]"), False),
    (re.compile(rf"\({_FOUR}\)"), False),
)
GRID = 999      # Qwen-VL's coordinates are integers in [0, 1000): n / 999 is 0..1
# Each box of an entry is replaced by this token (its index between NULs), so the forms below
# see one symbol for a box however it was spelt.
_BOX_TOKEN = "\x00(\\d+)\x00"
_IMAGE = r"(?:<image(\d+)>|\b[Ii]mage[ _-]?(\d+)\b|\b[Pp]icture[ _-]?(\d+)\b)"
_TAGGED = r'"[^"\x00]+"|<ref>[^<\x00]+</ref>|<\|object_ref_start\|>[^<\x00]+<\|object_ref_end\|>'
_PLAIN = r"[^\x00\[\]()<>\"\n:;]+?"
_AT = r"\s+(?:in|on|of|at|from)\s+(?:the\s+)?"


def _region(phrase: str, name: str) -> str:
    """One region: a phrase, an image and a box, in the orders MIR and grounding formats write
    them ("the ball in Image 2 [..]", "the ball [..] in Image 2", "the ball (image 2, [..])")."""
    return (rf"(?P<{name}>{phrase})(?:{_AT}{_IMAGE}\s*[:,]?\s*{_BOX_TOKEN}"
            rf"|\s*{_BOX_TOKEN}{_AT}{_IMAGE}|\s*\(\s*{_IMAGE}\s*,\s*{_BOX_TOKEN}\s*\))")


_T2R_FORMS = (
    re.compile(_region(f"{_TAGGED}|{_PLAIN}", "ph")),
    # "Image 1: the cup [..]"
    re.compile(rf"{_IMAGE}\s*[:,\-]\s*(?P<ph>{_TAGGED}|{_PLAIN})\s*[:,\-]?\s*{_BOX_TOKEN}"),
    # this project's own rendering (render_text2region): Image 2 [..]: "the red ball" (ball)
    re.compile(rf"{_IMAGE}\s*{_BOX_TOKEN}\s*:\s*(?P<ph>\"[^\"\x00]+\")\s*\((?P<label>[^()\x00]+)\)"),
)
# Two regions and the relation between them. The second region's phrase must be delimited
# (quoted or Qwen-tagged): otherwise where the relation ends and the phrase begins ("is left of
# the table") would be a guess.
_R2R_FORM = re.compile(rf"(?P<from>{_region(f'{_TAGGED}|{_PLAIN}', 'fph')})\s+(?P<rel>[^\x00\n:]+?)\s+"
                       rf"(?P<to>{_region(_TAGGED, 'tph')})(?:\s*:\s*(?P<why>.+))?")
_CLAUSE_BREAK = re.compile(r";|\.\s+(?=[A-Z\"<])")
_ARTICLE = re.compile(r"^(?:the|an?)\s+", re.I)
_KEYS = {"image": ("image",), "box": ("bbox", "box", "bbox_2d"), "text": ("text", "phrase"),
         "label": ("label", "ref", "object", "name")}
_REGION_KEYS = {key for keys in _KEYS.values() for key in keys}


def read_text2region(value, sizes: list) -> tuple:
    """(structured Text2Region entries, texts kept) of a MIR ``text2img`` value; ``sizes`` are
    the (width, height) of the record's images, in order."""
    return _read(value, sizes, _text2region_of_clause, _text2region_of_dict)


def read_region2region(value, sizes: list) -> tuple:
    """(structured Region2Region entries, texts kept) of a MIR ``img2img`` value."""
    return _read(value, sizes, _region2region_of_clause, _region2region_of_dict)


def _read(value, sizes, of_clause, of_dict) -> tuple:
    entries, kept = [], []
    items = value if isinstance(value, list) else [] if value in (None, "") else [value]
    for item in items:
        if isinstance(item, str):
            read, rest = _read_text(item, sizes, of_clause)
            entries, kept = entries + read, kept + rest
            continue
        entry = of_dict(item, sizes) if isinstance(item, dict) else None
        if entry:
            entries.append(entry)
        else:
            kept.append(json.dumps(item, ensure_ascii=False, sort_keys=True))
    return entries, kept


def _read_text(text: str, sizes, of_clause) -> tuple:
    """(entries, texts kept): a line reads when every clause of it does. A text none of whose
    lines reads is kept whole, as written; otherwise the lines that do not read are kept."""
    entries, rest = [], []
    for line in text.splitlines():
        tokened, boxes = _tokens(line)
        # Runs of blanks made one space: the forms' lazy phrases then backtrack over words,
        # not over every split of a run of spaces (cubic on a long one).
        clauses = [" ".join(c.split()) for c in _CLAUSE_BREAK.split(tokened)]
        read = [of_clause(c, boxes, sizes) for c in clauses if c]
        if read and all(read):
            entries += read
        elif line.strip():
            rest.append(line)
    return (entries, rest) if entries else ([], [text])


def _tokens(text: str) -> tuple:
    """The text with each box replaced by a token, and the boxes as (numbers, is_grid, text)."""
    boxes = []

    def token(match, grid):
        boxes.append(([float(v) for v in match.groups()], grid, match.group(0)))
        return f"\x00{len(boxes) - 1}\x00"

    for pattern, grid in _BOX_FORMS:
        text = pattern.sub(lambda m, g=grid: token(m, g), text)
    return text, boxes


def _untokened(text: str, boxes: list) -> str:
    return re.sub(_BOX_TOKEN, lambda m: boxes[int(m.group(1))][2], text)


def _text2region_of_clause(clause: str, boxes: list, sizes: list) -> dict | None:
    clause = clause.rstrip(".").rstrip()
    for form in _T2R_FORMS:
        match = form.fullmatch(clause)
        if match:
            return _region_entry(match, clause, boxes, sizes)
    return None


def _region_entry(match, clause: str, boxes: list, sizes: list) -> dict | None:
    """The Text2Region entry one matched region reads as: exactly one image number in range
    and one box of certain scale outside its phrase, and a phrase naming no image."""
    text = _phrase(match.group("ph"))
    rest = clause[:match.start("ph")] + clause[match.end("ph"):]
    images = [int(a or b or c) for a, b, c in re.findall(_IMAGE, rest)]
    tokens = re.findall(_BOX_TOKEN, rest)
    if not text or re.search(_IMAGE, text) or len(images) != 1 or len(tokens) != 1:
        return None
    image = images[0]
    bbox = normalised_box(*boxes[int(tokens[0])][:2], sizes[image - 1]) if 1 <= image <= len(sizes) else None
    if bbox is None:
        return None
    label = (match.groupdict().get("label") or _label(text)).strip()
    return {"text": text, "image": image, "bbox": bbox, "label": label}


def _region2region_of_clause(clause: str, boxes: list, sizes: list) -> dict | None:
    # A sentence's full stop belongs to its explanation when it has one, else to no part.
    match = _R2R_FORM.fullmatch(clause) or _R2R_FORM.fullmatch(clause.rstrip(".").rstrip())
    if not match or re.search(_IMAGE, match.group("rel")):
        return None
    ends = [_text2region_of_clause(match.group(end), boxes, sizes) for end in ("from", "to")]
    if not all(ends):
        return None
    why = _untokened((match.group("why") or "").strip() or clause, boxes)
    return {"from": _ref(ends[0]), "to": _ref(ends[1]), "relation": match.group("rel").strip(), "explanation": why}


def _ref(entry: dict) -> dict:
    return {"image": entry["image"], "label": entry["label"], "bbox": entry["bbox"]}


def _phrase(text: str) -> str:
    """A matched phrase without its quotes or Qwen tags."""
    text = text.strip()
    for start, end in (('"', '"'), ("<ref>", "</ref>"), ("<|object_ref_start|>", "<|object_ref_end|>")):
        if text.startswith(start) and text.endswith(end) and len(text) > len(start) + len(end):
            return text[len(start):-len(end)].strip()
    return text


def _label(text: str) -> str:
    """What a phrase names: itself without a leading article ("the red ball" -> "red ball")."""
    return _ARTICLE.sub("", text) or text


def normalised_box(numbers: list, grid: bool, size) -> list | None:
    """``[x0, y0, x1, y1]`` in 0..1 for a box's four numbers on an image of ``size`` (width,
    height), or None when its scale is not certain or it is no box (empty, outside the image)."""
    if len(numbers) != 4 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in numbers):
        return None
    width, height = size
    x0, y0, x1, y1 = numbers
    if grid:
        scales = [(GRID, GRID)]
    elif all(0 <= v <= 1 for v in numbers):
        scales = [(1, 1)]
    else:
        scales = [(GRID, GRID)] if all(float(v).is_integer() and 0 <= v <= GRID for v in numbers) else []
        if 0 <= min(x0, x1) and max(x0, x1) <= width and 0 <= min(y0, y1) and max(y0, y1) <= height:
            scales.append((width, height))
    if len(scales) != 1:
        return None
    sx, sy = scales[0]
    box = [round(x0 / sx, 6), round(y0 / sy, 6), round(x1 / sx, 6), round(y1 / sy, 6)]
    if not (all(0 <= v <= 1 for v in box) and box[0] < box[2] and box[1] < box[3]):
        return None
    return box


def _text2region_of_dict(item: dict, sizes: list) -> dict | None:
    """An entry {image, bbox|box|bbox_2d, text|phrase and/or label|ref|object|name}; any other
    key would be lost, so such an entry stays text."""
    if not set(item) <= _REGION_KEYS:
        return None
    image, bbox = _dict_image(item, sizes), None
    if image:
        bbox = _dict_box(item, sizes[image - 1])
    text = _first(item, "text") or _first(item, "label")
    label = _first(item, "label") or (_label(text) if text else None)
    if not (image and bbox and text and label):
        return None
    return {"text": text, "image": image, "bbox": bbox, "label": label}


def _region2region_of_dict(item: dict, sizes: list) -> dict | None:
    """An entry {from, to, relation, explanation?}, each end {image, box, label}; without an
    explanation the relation read as a sentence stands for it."""
    if not set(item) <= {"from", "to", "relation", "explanation"}:
        return None
    ends = [_text2region_of_dict(item[end], sizes) if isinstance(item.get(end), dict) else None
            for end in ("from", "to")]
    relation = item.get("relation")
    if not (all(ends) and isinstance(relation, str) and relation.strip()):
        return None
    why = item.get("explanation")
    if why is not None and not (isinstance(why, str) and why.strip()):
        return None
    why = why or f"{ends[0]['label']} {relation.strip()} {ends[1]['label']}"
    return {"from": _ref(ends[0]), "to": _ref(ends[1]), "relation": relation.strip(), "explanation": why.strip()}


def _first(item: dict, kind: str) -> str | None:
    values = [item[k] for k in _KEYS[kind] if k in item]
    value = values[0] if len(values) == 1 else None
    return _phrase(value) if isinstance(value, str) and value.strip() else None


def _dict_image(item: dict, sizes: list) -> int | None:
    image = item.get("image")
    if isinstance(image, bool) or not isinstance(image, int) or not 1 <= image <= len(sizes):
        return None
    return image


def _dict_box(item: dict, size) -> list | None:
    values = [item[k] for k in _KEYS["box"] if k in item]
    if len(values) != 1:
        return None
    value = values[0]
    if isinstance(value, str):
        tokened, boxes = _tokens(value.strip())
        if len(boxes) != 1 or tokened != "\x000\x00":
            return None
        return normalised_box(*boxes[0][:2], size)
    return normalised_box(value, False, size) if isinstance(value, list) else None
