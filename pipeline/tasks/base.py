"""What a task is: how its contexts are grouped and how its grounded questions are computed."""
import dataclasses
import math
import random
import re
from collections.abc import Callable

from ..schemas import load_schema


@dataclasses.dataclass
class Question:
    """A grounded question before its options are ordered and labelled.

    Everything here is computed from metadata, so the answer is known to be right. Option
    labels do not exist yet: the drafter orders the options, and only the conclusion, which it
    writes, names a label.
    """
    template: str
    text: str                 # with one <image> placeholder per image, in reading order
    answer: str               # the correct option's text
    distractors: list         # wrong option texts, distinct from each other and the answer
    summary: str
    captions: list            # one per image
    text2region: list         # draft.schema.json text2region entries
    region2region: list       # draft.schema.json region2region entries
    rationale: str            # the conclusion without its final "Answer: X"
    verified_by: str          # how the answer was computed, e.g. "metadata:bbox"
    marks: dict = dataclasses.field(default_factory=dict)  # image number -> the boxes its text points at by
                                                           # a drawn outline ({"box", "colour", "rgb"})


# A template draws one question for a context, or None when the context cannot support it.
Template = Callable[["TaskContext", random.Random], Question | None]


@dataclasses.dataclass(frozen=True)
class Task:
    id: str
    category: str
    grouping: str                       # "single" (derived from one image), "group" or "sequence"
    needs: Callable                     # metadata dict -> bool: can this image feed the task?
    templates: tuple                    # Template functions, tried in a seeded order
    derive: Callable | None = None   # "single" tasks: (image, rng) -> list of transform dicts
    min_images: int | None = None   # overrides the manifest's grouping.min_images
    shuffled: bool = False              # "sequence" tasks: show a window's frames in a seeded shuffled order

    @property
    def prompt(self) -> str:
        return f"{self.id}.md"


def question_defaults() -> dict:
    """The manifest's drafter.questions settings as the schema defaults them."""
    spec = load_schema("manifest")["properties"]["drafter"]["properties"]["questions"]["properties"]
    return {key: sub["default"] for key, sub in spec.items()}


@dataclasses.dataclass(frozen=True)
class TaskContext:
    """What a template sees: per image (1-based order = list order) its metadata and transform,
    and the build's drafter.questions settings (what a question may refer to and how)."""
    task: str
    metadata: tuple      # metadata dict per image
    transforms: tuple    # transform dict (or None) per image
    sizes: tuple         # (width, height) per image
    questions: dict = dataclasses.field(default_factory=question_defaults)

    def __len__(self):
        return len(self.metadata)


def interleaved(per_image: list, question: str) -> str:
    """The MIR interleaved form: for each image in reading order, its own text with its
    ``<image>`` placeholder where that text mentions it (facts bound to the image sit next to
    it), then the question."""
    if any(part.count("<image>") != 1 for part in per_image):
        raise ValueError("each image's text holds exactly one <image> placeholder")
    return " ".join([*per_image, question])


def regions(metadata: dict) -> list:
    return metadata.get("regions", [])


def region_ref(image: int, region: dict) -> dict:
    return {"image": image, "label": region["label"], "bbox": list(region["bbox"])}


def text2region(text: str, image: int, region: dict) -> dict:
    return {"text": text, "image": image, "bbox": list(region["bbox"]), "label": region["label"]}


WHOLE = [0.0, 0.0, 1.0, 1.0]
# Single-image tasks (image_puzzle, scale_blur) derive views scaled from the image's shape: an
# image whose long side is more than this many times its short side (a 40 x 60000 strip) is not
# used by them, so no derived view is larger than MAX_DERIVE_ASPECT x its task's output side.
MAX_DERIVE_ASPECT = 4


def derivable(image) -> bool:
    """Whether a single-image task may derive views from ``image`` (its aspect within the cap)."""
    short, long = sorted((image.width, image.height))
    return short > 0 and long <= MAX_DERIVE_ASPECT * short


def whole_image(text: str, image: int, label: str) -> dict:
    """A Text2Region entry for a phrase that names a whole image (a chart, a view, a step)."""
    return {"text": text, "image": image, "bbox": list(WHOLE), "label": label}


def whole_ref(image: int, label: str) -> dict:
    return {"image": image, "label": label, "bbox": list(WHOLE)}


def link(source: dict, target: dict, relation: str, explanation: str) -> dict:
    """A Region2Region entry."""
    return {"from": source, "to": target, "relation": relation, "explanation": explanation}


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised and the rest untouched (unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def attribute(region: dict, key: str):
    return region.get("attributes", {}).get(key)


def mentions(label: str, words) -> bool:
    """Does a label give away the relation asked about (e.g. "nearest" in a depth question)?"""
    lowered = label.lower()
    return any(word in lowered for word in words)


def clear_winner(values: list, ratio: float) -> bool:
    """Is the largest of positive ``values`` at least ``ratio`` times the runner-up?"""
    ranked = sorted(values, reverse=True)
    return len(ranked) >= 2 and ranked[0] >= ratio * ranked[1]


def ratio_verdict(value: float, reference: float, ratio: float, *, larger: bool):
    """Does ``value`` clearly meet "larger than ``reference``" (or, with ``larger`` False, "smaller")?
    True when it is at least ``ratio`` times beyond it that way, False when that far the other way,
    None when too close to call."""
    if value >= ratio * reference:
        return larger
    if value * ratio <= reference:
        return not larger
    return None


def number(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def sequence_text(images) -> str:
    return ", ".join(str(i) for i in images)


def _swapped(order: list, swaps: list) -> list:
    out = list(order)
    for i, j in swaps:
        out[i], out[j] = out[j], out[i]
    return out


def balanced_orderings(correct: list, rng: random.Random, fixed=(), count: int = 3) -> list:
    """Wrong orders of the same items (positions in ``fixed`` never move), drawn so that the answer is
    one member of an exchangeable set: every option, the answer among them, is a hidden centre
    order moved by none, one or two random swaps, and which option is the true order is drawn
    last. So no option sits nearer the others than the answer does on average (distractors made
    by swapping the answer would put the answer at the centre)."""
    free = [k for k in range(len(correct)) if k not in fixed]
    count = min(count, math.factorial(len(free)) - 1)
    while True:
        moves = [[tuple(rng.sample(free, 2)) for _ in range(rng.choice((0, 1, 2)))] for _ in range(count + 1)]
        truth = rng.randrange(count + 1)
        centre = _swapped(correct, moves[truth][::-1])
        options = [_swapped(centre, m) for m in moves]
        if len({tuple(o) for o in options}) == count + 1:
            return [o for k, o in enumerate(options) if k != truth]


def image_distractors(answer: int, n: int, rng: random.Random, count: int = 3) -> list:
    """Image numbers other than the answer."""
    return rng.sample([i for i in range(1, n + 1) if i != answer], min(count, n - 1))


def image_options(answer: int, n: int, rng: random.Random, among=None) -> list:
    """Distractor texts "Image k": drawn from ``among`` (image numbers that are plausible
    answers) when given, else from every other image of the context."""
    if among is None:
        return [f"Image {i}" for i in image_distractors(answer, n, rng)]
    others = [i for i in among if i != answer]
    return [f"Image {i}" for i in rng.sample(others, min(3, len(others)))]


def tracks(ctx) -> dict:
    """track_id -> [(image number, region)] in image order, for tracks seen in at least two images."""
    found = {}
    for i, metadata in enumerate(ctx.metadata, start=1):
        for r in regions(metadata):
            if attribute(r, "track_id"):
                found.setdefault(attribute(r, "track_id"), []).append((i, r))
    return {track: seen for track, seen in sorted(found.items()) if len(seen) >= 2}


def centre_px(ctx, image: int, region: dict) -> tuple:
    """A region's box centre in pixels of its image, so distances are the same along x and y."""
    width, height = ctx.sizes[image - 1]
    x0, y0, x1, y1 = region["bbox"]
    return (x0 + x1) / 2 * width, (y0 + y1) / 2 * height


_SHARES = ((1 / 10, "about a tenth"), (1 / 8, "about an eighth"), (1 / 6, "about a sixth"),
           (1 / 5, "about a fifth"), (1 / 4, "about a quarter"), (1 / 3, "about a third"), (1 / 2, "about half"),
           (2 / 3, "about two thirds"), (3 / 4, "about three quarters"), (1.0, "about the whole"))


def move_in_words(ctx, image: int, dx: float, dy: float) -> str:
    """A move of (dx, dy) pixels in ``image`` as words, so reasoning never cites pixel counts: the
    share of the frame's width (or, for a mostly vertical move, of its height) it spans."""
    width, height = ctx.sizes[image - 1]
    side, length = ("height", height) if abs(dy) > abs(dx) else ("width", width)
    share = math.hypot(dx, dy) / length
    if share < 0.06:
        return "only a little"
    return f"{min(_SHARES, key=lambda s: abs(math.log(share / s[0])))[1]} of the frame's {side}"


# A frame's sidecar caption may open with "Frame 3 (t = 1.5 s) of seq_a:"; the text states the
# time itself, and the frame's index in its clip is no fact the question gives.
_FRAME_PREFIX = re.compile(r"^\s*frame\s+\d+\s*(?:\([^)]*\))?\s*(?:of\s+[^:]+)?:\s*", re.I)


# Ways to tell a frame's objects apart by what a viewer sees, not by name (a name lets knowledge
# rank: a motorcycle outruns a cat): (how far apart two of them must be, the words for two, the
# words for three, the value each is ranked by).
_APART = {
    "across": (0.1, ("the one further left", "the one further right"),
               ("the leftmost one", "the middle one, left to right", "the rightmost one"),
               lambda box: (box[0] + box[2]) / 2),
    "down": (0.1, ("the higher one", "the lower one"),
             ("the highest one", "the middle one, top to bottom", "the lowest one"),
             lambda box: (box[1] + box[3]) / 2),
    "size": (1.5, ("the larger one", "the smaller one"), ("the largest one", "the middle-sized one", "the smallest one"),
             lambda box: -(box[2] - box[0]) * (box[3] - box[1])),
}


_GLUE = frozenset(("the", "to", "and", "one", "of", "a"))


def _clearly_apart(way: str, values: list) -> bool:
    gap = _APART[way][0]
    if way == "size":
        areas = [-v for v in values]   # largest first
        return all(a >= gap * b for a, b in zip(areas, areas[1:]))
    return all(b - a >= gap for a, b in zip(values, values[1:]))


def tell_apart(items: list, avoid: str = ""):
    """Words that single out each of two or three regions of one frame by where it is or how big it
    looks ("the one further left"), as (way, {index: words}); the way is the first (in a fixed order)
    whose values are clearly apart and whose words share none with ``avoid`` (a question about moving
    "to the left" must not tell its objects apart by "further left"). None when no way does."""
    avoided = set(re.findall(r"[a-z]+", avoid.lower())) - _GLUE
    if not 2 <= len(items) <= 3:
        return None
    for way, (_, two, three, value) in _APART.items():
        words = two if len(items) == 2 else three
        if avoided & (set(re.findall(r"[a-z]+", " ".join(words))) - _GLUE):
            continue
        ranked = sorted(range(len(items)), key=lambda k: value(items[k]["bbox"]))
        if _clearly_apart(way, [value(items[k]["bbox"]) for k in ranked]):
            return way, {k: words[place] for place, k in enumerate(ranked)}
    return None


def told_apart_in(ctx, seen_tracks: list, avoid: str = ""):
    """For two or three tracks (each [(image, region)]): the first frame in which all appear and
    ``tell_apart`` singles each out, as (image, way, [words per track]); None when no frame does."""
    for image in range(1, len(ctx) + 1):
        at = [dict(seen).get(image) for seen in seen_tracks]
        found = tell_apart(at, avoid) if all(at) else None
        if found:
            return image, found[0], [found[1][k] for k in range(len(at))]
    return None


def apart_by(way: str, frame: str) -> str:
    """How a question says what its objects are told apart by, in ``frame`` ("the frame taken at 0 s")."""
    if way == "marks":
        return f"the boxes drawn in {frame}"
    return f"how much of {frame} each covers" if way == "size" else f"where they are in {frame}"


def frame_texts(ctx, opening: str, fact) -> list:
    """Per frame of a clip, in order, the sentence that holds its placeholder: ``opening`` before
    the first, "The last frame, <image>, ..." for the last; ``fact(i, metadata)`` is what the text
    states of frame i (its time, or its place in the clip)."""
    out = []
    for i, metadata in enumerate(ctx.metadata, start=1):
        said = fact(i, metadata)
        if i == 1:
            out.append(f"{opening} <image> {said}.")
        elif i == len(ctx):
            out.append(f"The last frame, <image>, {said}.")
        else:
            out.append(f"<image> {said}.")
    return out


def shown_in_frame(metadata: dict) -> str:
    """A frame's caption without a "Frame k (t = ...) of clip:" opening: what the frame shows."""
    return _FRAME_PREFIX.sub("", caption_of(metadata)).strip()


def displacement(ctx, seen: list) -> tuple:
    """(dx, dy) in pixels of a track from its first to its last image (y grows downwards)."""
    (a, first), (b, last) = seen[0], seen[-1]
    (x0, y0), (x1, y1) = centre_px(ctx, a, first), centre_px(ctx, b, last)
    return x1 - x0, y1 - y0


# --- naming regions: the words a text uses for a region, and captions built from regions -------

_NOTE = re.compile(r"\s*\([^)]*\)")
# A track or instance id a source appended to a label ("pedestrian #72"): no viewer can see it.
_ID = re.compile(r"\s*#\s*[\w-]*$")
# Labels that stand for many objects in one box (a crowd annotation may instead carry the
# attribute iscrowd or crowd, as COCO's do).
CROWD_LABELS = frozenset(("crowd", "crowd of people", "group", "group of people", "people"))


def kind(label: str) -> str:
    """What a label says a region is, as far as a viewer can tell: without a note in brackets
    ("coin (bottom left)" would tell where it lies) or an id ("pedestrian #72")."""
    return _ID.sub("", _NOTE.sub("", label)).strip() or "object"


def _same_kind(a: dict, b: dict) -> bool:
    return kind(a["label"]).lower() == kind(b["label"]).lower()


def is_name(noun: str) -> bool:
    """Is a label a name ("Grace Hopper"), which takes no article and no plural?"""
    words = noun.split()
    return len(words) >= 2 and all(w[:1].isupper() for w in words[:2])


def named(label: str) -> str:
    """A label as a noun phrase: "the tabby cat", but "Grace Hopper" for a name (see ``kind``)."""
    noun = kind(label)
    return noun if is_name(noun) else f"the {noun}"


def called(region: dict) -> str:
    """How a question names a region handed to its wording: the words ``reference_question``
    chose for it (``refer``), else its name."""
    return region.get("words") or named(region["label"])


def crowd(region: dict) -> bool:
    """Does the region stand for many objects in one box (no viewer can tell which one is meant)?"""
    return bool(attribute(region, "iscrowd") or attribute(region, "crowd")
                or kind(region["label"]).lower() in CROWD_LABELS)


def shown_box(ctx, image: int, region: dict):
    """A region's box in the picture as shown (a derived view's crop box maps the source's box into
    the view), or None when the picture shows none of it."""
    cx0, cy0, cx1, cy1 = (ctx.transforms[image - 1] or {}).get("box", WHOLE)
    x0, y0 = max(region["bbox"][0], cx0), max(region["bbox"][1], cy0)
    x1, y1 = min(region["bbox"][2], cx1), min(region["bbox"][3], cy1)
    if x1 <= x0 or y1 <= y0:
        return None
    width, height = cx1 - cx0, cy1 - cy0
    return [(x0 - cx0) / width, (y0 - cy0) / height, (x1 - cx0) / width, (y1 - cy0) / height]


def visible(ctx, image: int, region: dict) -> bool:
    """Can a viewer find the region at all: no crowd, and its box as shown at least the build's
    ``min_region_side`` pixels on its short side."""
    box = shown_box(ctx, image, region)
    if box is None or crowd(region):
        return False
    width, height = ctx.sizes[image - 1]
    return min((box[2] - box[0]) * width, (box[3] - box[1]) * height) >= ctx.questions["min_region_side"]


# The ends of _APART's ways a referring expression may name (the smallest of several is often one
# hidden behind the others, so size names only the largest).
_EXTREMES = {"across": ("leftmost", "rightmost"), "down": ("highest", "lowest"), "size": ("largest", None)}


def _extreme_among(box: list, others: list):
    """The word for the end of a way (_EXTREMES) at which ``box`` lies clearly apart from every one
    of ``others`` by _APART's margin, or None."""
    for way, (first, last) in _EXTREMES.items():
        value = _APART[way][3]
        mine, theirs = value(box), sorted(value(b) for b in others)
        if mine < theirs[0] and _clearly_apart(way, [mine, theirs[0]]):
            return first
        if last and mine > theirs[-1] and _clearly_apart(way, [theirs[-1], mine]):
            return last
    return None


def refer(ctx, image: int, region: dict):
    """The words that pick out ``region`` in picture ``image`` and nothing else there, or None when
    no words do (a template then leaves the region out). The one place that decides how a region
    bound to an image is named; where no words can, ``reference_question`` may point by a drawn
    box instead (``marked_words``, when the build draws marks).

    Never a region a viewer cannot find (``visible``). Its name ("the cup", "Grace Hopper") when no
    other region the picture shows is of its kind; else, of several of its kind, the words for
    the one that is clearly the most extreme one way, by _APART's margins: its box's centre at
    least a tenth of the picture's width (height) further left, right, up or down than every
    other's, or its area at least 1.5 times every other's ("the leftmost of the seven cups").
    None for several of a name, or when a crowd of its kind hides how many there are."""
    if not visible(ctx, image, region):
        return None
    kin = [r for r in regions(ctx.metadata[image - 1]) if r is not region and _same_kind(r, region)]
    kin = [r for r in kin if shown_box(ctx, image, r)]
    if not kin:
        return named(region["label"])
    noun = kind(region["label"])
    if is_name(noun) or any(crowd(r) for r in kin):
        return None
    end = _extreme_among(shown_box(ctx, image, region), [shown_box(ctx, image, r) for r in kin])
    return f"the {end} of the {count_word(len(kin) + 1).lower()} {plural(noun)}" if end else None


# The marks a question may draw (drafter.questions.marks "boxes"): an outline around a region its text
# points at and no words single out, red for one (MARK), red, blue and yellow for up to three.
MARK_COLOURS = ({"colour": "red", "rgb": [230, 25, 25]}, {"colour": "blue", "rgb": [30, 90, 235]},
                {"colour": "yellow", "rgb": [245, 200, 0]})
MARK = MARK_COLOURS[0]


def colour_marks(image: int, found: list) -> tuple:
    """Up to three regions of picture ``image`` each outlined in its own colour (red, blue, yellow):
    (the words for each, "the one in the red box"; the question's marks)."""
    if len(found) > len(MARK_COLOURS):
        raise ValueError(f"{len(found)} regions to mark; there are {len(MARK_COLOURS)} colours")
    words = [f"the one in the {mark['colour']} box" for mark in MARK_COLOURS[:len(found)]]
    return words, {image: [mark_of(r, mark) for mark, r in zip(MARK_COLOURS, found)]}


def marked_words(ctx, image: int, region: dict):
    """Words pointing at ``region`` by a box drawn around it on a copy of its picture ("the cup in
    the red box"), for one of several of its kind that ``refer`` cannot name; None when the build
    draws no marks, a viewer could not find the region, or the picture is itself derived (its
    crop would move the box)."""
    if not marks_drawn(ctx, image) or not visible(ctx, image, region):
        return None
    return f"{named(region['label'])} in the {MARK['colour']} box"


def marks_drawn(ctx, image: int) -> bool:
    """May a question draw marks on picture ``image``: the build draws them, and the picture is a
    whole source image (a derived view's crop would move the boxes)?"""
    return ctx.questions["marks"] == "boxes" and ctx.transforms[image - 1] is None


def mark_of(region: dict, mark: dict = MARK) -> dict:
    """The mark drawn around a region's box: ``mark``'s colour (MARK, red, for the one region
    ``marked_words`` names)."""
    return dict(mark, box=list(region["bbox"]))


def _alone_in_context(ctx, region: dict) -> bool:
    return sum(_same_kind(r, region) for m in ctx.metadata for r in regions(m)) == 1


def findable(ctx, image: int, region: dict) -> bool:
    """Can a viewer told only its name, not its image, find this region, and only it? A viewer can
    find it at all (``visible``), and no other region of any image of the context is of its kind."""
    return visible(ctx, image, region) and _alone_in_context(ctx, region)


_COUNTS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve",
           "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen")
_TENS = ("Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")


def count_word(n: int) -> str:
    """"Three" for 3, "Twenty-five" for 25: how a sentence opening with a count says it (in figures
    from 100 on)."""
    if n < len(_COUNTS):
        return _COUNTS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens - 2] + (f"-{_COUNTS[ones].lower()}" if ones else "")
    return str(n)


_IRREGULAR = {"person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice",
              "foot": "feet", "tooth": "teeth", "goose": "geese", "ox": "oxen", "knife": "knives", "leaf": "leaves",
              "loaf": "loaves", "shelf": "shelves", "wolf": "wolves", "calf": "calves", "half": "halves",
              "life": "lives", "wife": "wives", "scarf": "scarves", "potato": "potatoes", "tomato": "tomatoes",
              "hero": "heroes", "cactus": "cacti", "die": "dice", "crisis": "crises"}
# Nouns whose plural is the word itself (some labels are plural already: COCO's "skis", "scissors").
_UNCHANGED = frozenset("""sheep deer fish moose bison salmon trout aircraft series species broccoli scissors skis
glasses pants jeans shorts trousers people police cattle""".split())
# A label's head noun stands before its first preposition ("person on vehicle" -> "people on vehicle").
_PREPOSITIONS = frozenset("of on in with at for from under by near".split())


def _plural_word(word: str) -> str:
    lower = word.lower()
    if lower in _UNCHANGED or not lower.isalpha():
        return word
    if lower in _IRREGULAR:
        return word[:1] + _IRREGULAR[lower][1:]
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def plural(noun: str) -> str:
    """The English plural of a noun phrase, made on its head word: "dining tables", "people", "wine
    glasses", "people on vehicle"."""
    words = noun.split()
    head = next((k for k, w in enumerate(words) if k and w.lower() in _PREPOSITIONS), len(words)) - 1
    words[head] = _plural_word(words[head])
    return " ".join(words)


# Openings that sound like a consonant though written with a vowel, and the reverse.
_CONSONANT_SOUND = ("uni", "use", "usu", "uti", "eu", "one", "once")
_VOWEL_SOUND = ("hour", "honest", "honour", "heir")


def counted(noun: str, n: int) -> str:
    """``n`` of ``noun`` in words: "a cup", "an apple", "seven cups"; a name as it is."""
    if is_name(noun):
        return noun
    if n != 1:
        return f"{count_word(n).lower()} {plural(noun)}"
    lower = noun.lower()
    vowel = (lower[:1] in "aeiou" and not lower.startswith(_CONSONANT_SOUND)) or lower.startswith(_VOWEL_SOUND)
    return f"{'an' if vowel else 'a'} {noun}"


def joined(parts: list) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def listed(names: list) -> str:
    return joined(sorted(names))


CAPTION_KINDS = 4   # kinds a caption built from regions names; the rest are "other objects"


def caption_kind(region: dict) -> str:
    """What a caption counts a region as: its kind, or a crowd of that kind."""
    noun = kind(region["label"])
    return f"crowd of {plural(noun)}" if crowd(region) and noun.lower() not in CROWD_LABELS else noun


def regions_in_words(metadata: dict):
    """An image's regions as the sentence a person writes: each kind once with its count, the most
    numerous first, then by name, at most CAPTION_KINDS kinds and then "other objects" ("Thirteen
    cows and a person."). None for an image without regions."""
    counts = {}
    for region in regions(metadata):
        noun = caption_kind(region)
        counts[noun] = counts.get(noun, 0) + 1
    if not counts:
        return None
    ranked = sorted(counts, key=lambda noun: (-counts[noun], noun.lower()))
    parts = [counted(noun, counts[noun]) for noun in ranked[:CAPTION_KINDS]]
    return sentence(joined(parts + ["other objects"] * (len(ranked) > CAPTION_KINDS))) + "."


NO_DESCRIPTION = "A picture its source gives no description of."


def described_as(metadata: dict):
    """What describes an image: its sidecar caption, else its regions in words
    (``regions_in_words``); None when neither does."""
    return metadata.get("caption") or regions_in_words(metadata)


def caption_of(metadata: dict, role: str = "") -> str:
    """An image's caption: what describes it (``described_as``), else what the question says the
    image is (``role``, a sentence), else that nothing describes it (never a filler that pretends
    to describe it)."""
    return described_as(metadata) or role or NO_DESCRIPTION


_REPEATS = ("second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
            "twelfth")


def distinct_captions(captions: list) -> list:
    """The captions, each repeat of an earlier one said to be one ("A second picture described the
    same way: Two cups."), so no two images share a caption and none claims a difference that the
    metadata does not show."""
    out = []
    for k, caption in enumerate(captions):
        seen = captions[:k].count(caption)
        repeat = _REPEATS[seen - 1] if seen <= len(_REPEATS) else f"{seen + 1}th"
        out.append(f"A {repeat} picture described the same way: {caption}" if seen else caption)
    return out


def captions_of(ctx, roles: list = None) -> list:
    """A question's captions, one per image: ``caption_of`` each (with its role in ``roles``, a
    sentence per image, for an image nothing describes), repeats said to be repeats."""
    roles = roles or [""] * len(ctx)
    return distinct_captions([caption_of(m, role) for m, role in zip(ctx.metadata, roles)])


def candidate_texts(ctx, shown: dict, *, reference: dict = None, stated: str = "") -> list:
    """Per image its text when the answer is an image: the objects ``shown`` (image -> region) are
    listed once, sorted by name, as shown "one each and in no particular order" by their images,
    whose own texts then say only that they show one of them; other images show none of them; the
    ``reference`` ({image: region}) image gets ``stated`` (a fact about its own object), and the
    listing leaves it out by its object when no other image shows one of its kind, else by its
    number. So the text names the candidates but never which image shows which: knowing which
    object wins points at no image."""
    (ref_image, ref), = reference.items() if reference else ((None, None),)
    others = "" if not reference else (f" other than the one with {called(ref)}" if _alone_in_context(ctx, ref)
                                       else f" other than Image {ref_image}")
    listing = (f"{count_word(len(shown))} of the images{others} show, one each and in no particular "
               f"order, {listed([named(r['label']) for r in shown.values()])}.")
    out, said = [], False
    for i in range(1, len(ctx) + 1):
        if i == ref_image:
            out.append(stated)
            continue
        role = "<image> shows one of them." if i in shown else "<image> shows none of them."
        out.append(role if said else f"{listing} {role}")
        said = True
    return out


def reference_question(ctx, rng, *, template: str, usable, judge, stated, ask, relation, explain, rationale,
                       summary: str, verified_by: str, singled_out: bool = False):
    """A stated reference against objects listed for the other images: "The tabby cat in <image>
    weighs 4 kg. Three of the images other than the one with the tabby cat show, one each and in no
    particular order, the man, the
    coin and the tripod. <image> shows one of them. ... Of them, only one is heavier than the tabby
    cat. Which image shows it?"

    The reference's value is the one number the text states (``stated(region)``: the reference
    image's own text, with its ``<image>`` placeholder). Which listed object meets the condition
    may be common knowledge (a man outweighs a cat); which image shows it is not: the answer needs
    the pictures. ``judge((image, ref), (image, region))`` is True when a region clearly meets the
    condition, False when it clearly does not, None when too close to call (never listed). Exactly
    one listed object meets it and at least two clearly do not, each ``findable`` by its name alone,
    or no question. The reference is named at its own image, so ``refer`` names it: with
    ``singled_out`` (the wording callbacks name regions by ``called``, which carries refer's words)
    it may be one of several of its kind ("the leftmost of the seven cups", or, when the build draws
    marks, "the cup in the red box": the question's ``marks`` then has the box drawn onto a copy of
    its picture); without, its kind is unique in its image. ``ask``, ``relation``, ``explain`` and
    ``rationale`` word the question and the steps; none of them may cite a value the text does not
    state.
    """
    usable_by_image = {i: [dict(r, words=named(r["label"])) for r in regions(m) if usable(r) and findable(ctx, i, r)]
                       for i, m in enumerate(ctx.metadata, start=1)}
    by_name, by_place, by_mark = [], [], []
    for i, m in enumerate(ctx.metadata, start=1):
        for r in (r for r in regions(m) if usable(r)):
            if words := refer(ctx, i, r):
                (by_name if words == named(r["label"]) else by_place).append((i, dict(r, words=words)))
            elif words := marked_words(ctx, i, r):
                by_mark.append((i, dict(r, words=words, mark=mark_of(r))))
    # A name is quicker to find than a place among several of a kind, and a place than a drawn box
    # (which changes the picture): each is drawn only when none of the one before gives a question.
    for found in (by_name, by_place, by_mark):
        rng.shuffle(found)
    for ref_image, ref in by_name + (by_place + by_mark) * singled_out:
        verdicts = {}
        for i, found in usable_by_image.items():
            if i == ref_image:
                continue
            judged = [(judge((ref_image, ref), (i, r)), r) for r in found]
            verdicts[i] = ([r for v, r in judged if v is True], [r for v, r in judged if v is False])
        meeting = [i for i, (yes, _) in verdicts.items() if yes]
        if not meeting:
            continue
        answer_image = rng.choice(meeting)
        answer = rng.choice(verdicts[answer_image][0])
        picks = [(i, rng.choice(verdicts[i][1])) for i in sorted(verdicts) if i != answer_image and verdicts[i][1]]
        if len(picks) < 2:
            continue
        picks = sorted(rng.sample(picks, min(3, len(picks))))
        shown = dict([(answer_image, answer), *picks])
        return Question(
            template=template,
            text=interleaved(candidate_texts(ctx, shown, reference={ref_image: ref}, stated=stated(ref)),
                             ask(ref_image, ref)),
            answer=f"Image {answer_image}",
            distractors=[f"Image {i}" for i, _ in picks],
            summary=summary,
            captions=captions_of(ctx),
            text2region=[text2region(called(ref), ref_image, ref)]
                        + [text2region(called(r), i, r) for i, r in sorted(shown.items())],
            region2region=[link(region_ref(i, r), region_ref(ref_image, ref), relation(i == answer_image),
                                explain((i, r), (ref_image, ref), i == answer_image))
                           for i, r in [(answer_image, answer), *picks]],
            rationale=rationale((answer_image, answer), (ref_image, ref)),
            verified_by=verified_by,
            marks={ref_image: [ref["mark"]]} if "mark" in ref else {})
    return None


# --- checks the drafter applies to every question (fair multiple choice) -----------------------

def leaks_answer(question: Question) -> bool:
    """The question text contains the answer's text while some distractor is absent from it, so
    the text alone singles the answer out."""
    text = question.text.lower()
    return question.answer.lower() in text and not all(d.lower() in text for d in question.distractors)


def _drawn(question: Question) -> tuple:
    """What a question was drawn about: the regions its text names."""
    return tuple(sorted((e["image"], tuple(e["bbox"]), e["label"]) for e in question.text2region))


def answer_ignores_images(template, ctx: TaskContext, rngs) -> bool:
    """Does ``template`` give one and the same answer whatever images or regions it draws?

    The template is run once per rng in ``rngs``; when those runs draw at least two different
    sets of images or regions yet all give the same answer text, the answer does not depend on
    the images (e.g. "the motorcycle" for every draw), so a solver could answer without them.
    """
    questions = [q for q in (template(ctx, rng) for rng in rngs) if q is not None]
    return len({_drawn(q) for q in questions}) >= 2 and len({q.answer for q in questions}) == 1
