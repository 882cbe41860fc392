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


def caption_of(metadata: dict) -> str:
    """The sidecar caption, or a description built from the image's regions."""
    if metadata.get("caption"):
        return metadata["caption"]
    labels = [r["label"] for r in regions(metadata)]
    return f"An image showing {', '.join(labels)}." if labels else "An image."


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


_NOTE = re.compile(r"\s*\([^)]*\)")


def named(label: str) -> str:
    """A label as a noun phrase: "the tabby cat", but "Grace Hopper" for a name; a note in brackets
    is left out ("coin (bottom left)" would tell where it lies)."""
    label = _NOTE.sub("", label).strip()
    words = label.split()
    return label if len(words) >= 2 and all(w[:1].isupper() for w in words[:2]) else f"the {label}"


def findable(ctx, image: int, region: dict) -> bool:
    """Can a viewer told its name find this region, and only it? Its name is unique in its own image
    and named by no region of any other image of the context."""
    name = named(region["label"])
    return sum(named(r["label"]) == name for m in ctx.metadata for r in regions(m)) == 1


_COUNTS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve")


def count_word(n: int) -> str:
    """"Three" for 3: how a sentence opening with a count says it."""
    return _COUNTS[n] if n < len(_COUNTS) else str(n)


def listed(names: list) -> str:
    names = sorted(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def candidate_texts(ctx, shown: dict, *, reference: dict = None, stated: str = "") -> list:
    """Per image its text when the answer is an image: the objects ``shown`` (image -> region) are
    listed once, sorted by name, as shown "one each and in no particular order" by their images,
    whose own texts then say only that they show one of them; other images show none of them; the
    ``reference`` ({image: region}) image gets ``stated`` (a fact about its own object). So the text
    names the candidates but never which image shows which: knowing which object wins points at no
    image."""
    (ref_image, ref), = reference.items() if reference else ((None, None),)
    others = f" other than the one with {named(ref['label'])}" if reference else ""
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
                       summary: str, verified_by: str):
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
    one listed object meets it and at least two clearly do not, each findable in its image
    (``findable``), or no question. ``ask``, ``relation``, ``explain`` and ``rationale`` word the
    question and the steps; none of them may cite a value the text does not state.
    """
    usable_by_image = {i: [r for r in regions(m) if usable(r) and findable(ctx, i, r)]
                       for i, m in enumerate(ctx.metadata, start=1)}
    references = [(i, r) for i, found in usable_by_image.items() for r in found]
    rng.shuffle(references)
    for ref_image, ref in references:
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
            captions=[caption_of(m) for m in ctx.metadata],
            text2region=[text2region(named(ref["label"]), ref_image, ref)]
                        + [text2region(named(r["label"]), i, r) for i, r in sorted(shown.items())],
            region2region=[link(region_ref(i, r), region_ref(ref_image, ref), relation(i == answer_image),
                                explain((i, r), (ref_image, ref), i == answer_image))
                           for i, r in [(answer_image, answer), *picks]],
            rationale=rationale((answer_image, answer), (ref_image, ref)),
            verified_by=verified_by)
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
