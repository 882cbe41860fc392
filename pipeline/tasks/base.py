"""What a task is: how its contexts are grouped and how its grounded questions are computed."""
import dataclasses
import random
from collections.abc import Callable


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


@dataclasses.dataclass(frozen=True)
class TaskContext:
    """What a template sees: per image (1-based order = list order) its metadata and transform."""
    task: str
    metadata: tuple      # metadata dict per image
    transforms: tuple    # transform dict (or None) per image
    sizes: tuple         # (width, height) per image

    def __len__(self):
        return len(self.metadata)


def image_list(n: int) -> str:
    """Placeholders in reading order with bare labels: the front-loaded form, which MIR does not
    count as interleaved (``interleaved`` is the form templates use)."""
    return " ".join(f"Image {i}: <image>" for i in range(1, n + 1))


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


def whole_image(text: str, image: int, label: str) -> dict:
    """A Text2Region entry for a phrase that names a whole image (a chart, a view, a step)."""
    return {"text": text, "image": image, "bbox": list(WHOLE), "label": label}


def whole_ref(image: int, label: str) -> dict:
    return {"image": image, "label": label, "bbox": list(WHOLE)}


def link(source: dict, target: dict, relation: str, explanation: str) -> dict:
    """A Region2Region entry."""
    return {"from": source, "to": target, "relation": relation, "explanation": explanation}


def region_name(image: int, region: dict) -> str:
    return f"the {region['label']} in Image {image}"


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised and the rest untouched (unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def attribute(region: dict, key: str):
    return region.get("attributes", {}).get(key)


def mentions(label: str, words) -> bool:
    """Does a label give away the relation asked about (e.g. "nearest" in a depth question)?"""
    lowered = label.lower()
    return any(word in lowered for word in words)


def one_region_each(ctx, rng, keep, limit: int = 4) -> list:
    """(image number, region) for up to ``limit`` images, one region drawn from each image's
    regions that ``keep`` accepts, in a random order."""
    picks = []
    for i, metadata in enumerate(ctx.metadata, start=1):
        usable = [r for r in regions(metadata) if keep(r)]
        if usable:
            picks.append((i, rng.choice(usable)))
    rng.shuffle(picks)
    return picks[:limit]


def clear_winner(values: list, ratio: float) -> bool:
    """Is the largest of positive ``values`` at least ``ratio`` times the runner-up?"""
    ranked = sorted(values, reverse=True)
    return len(ranked) >= 2 and ranked[0] >= ratio * ranked[1]


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


def permutation_distractors(correct: list, rng: random.Random, count: int = 3) -> list:
    """Other orders of the same items, each one or two swaps away from the correct order, so
    that they look plausible; distinct from each other and from the answer."""
    seen, out = {tuple(correct)}, []
    while len(out) < count:
        candidate = list(correct)
        for _ in range(rng.choice((1, 2))):
            i, j = rng.sample(range(len(candidate)), 2)
            candidate[i], candidate[j] = candidate[j], candidate[i]
        if tuple(candidate) not in seen:
            seen.add(tuple(candidate))
            out.append(candidate)
    return out


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


def displacement(ctx, seen: list) -> tuple:
    """(dx, dy) in pixels of a track from its first to its last image (y grows downwards)."""
    (a, first), (b, last) = seen[0], seen[-1]
    (x0, y0), (x1, y1) = centre_px(ctx, a, first), centre_px(ctx, b, last)
    return x1 - x0, y1 - y0


def superlative_question(ctx, rng, *, template: str, key: str, largest: bool, quality: str, relation: str,
                         unit: str, hint: str = "", avoid_words=(), ratio: float = 1.3, verified_by: str):
    """"Which image shows the <quality> of these objects?" over one region per image.

    The objects are listed in alphabetical order, not image order, so the text never ties an
    object to an image: the solver must find each object in the images and compare them. The
    winner must beat the runner-up by ``ratio`` (or lose by it, for the smallest), or no question.
    """
    picks = one_region_each(ctx, rng, keep=lambda r: (attribute(r, key) or 0) > 0
                            and not mentions(r["label"], avoid_words))
    labels = [r["label"] for _, r in picks]
    if len(picks) < 3 or len(set(labels)) < len(labels):
        return None
    ranked = sorted(picks, key=lambda p: attribute(p[1], key), reverse=largest)
    values = [attribute(r, key) for _, r in ranked]
    if not clear_winner(values if largest else [1 / v for v in values], ratio):
        return None
    best_image, best = ranked[0]
    listed = ", ".join(f"the {label}" for label in sorted(labels))
    return Question(
        template=template,
        text=f"{image_list(len(ctx))} Some of these images each show one of the following: {listed}. "
             f"Which image shows the one of these objects that is {quality}?{hint}",
        answer=f"Image {best_image}",
        distractors=[f"Image {i}" for i, _ in ranked[1:]],
        summary=f"The question lists {len(picks)} objects, each shown in a different image, and asks which "
                f"image holds the {quality} of them.",
        captions=[caption_of(m) for m in ctx.metadata],
        text2region=[text2region(f"the {r['label']}", i, r) for i, r in picks],
        region2region=[link(region_ref(best_image, best), region_ref(i, r), relation,
                            f"{sentence(region_name(best_image, best))} ({number(attribute(best, key))} {unit}) "
                            f"against {region_name(i, r)} ({number(attribute(r, key))} {unit}).")
                       for i, r in ranked[1:]],
        rationale=f"Comparing the objects found in the images, {region_name(best_image, best)} is the {quality} "
                  f"({number(attribute(best, key))} {unit}).",
        verified_by=verified_by)


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
