"""What a task is: how its contexts are grouped and how its grounded questions are computed."""
import dataclasses
import random
from typing import Callable, Optional


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
Template = Callable[["TaskContext", random.Random], Optional[Question]]


@dataclasses.dataclass(frozen=True)
class Task:
    id: str
    category: str
    grouping: str                       # "single" (derived from one image), "group" or "sequence"
    needs: Callable                     # metadata dict -> bool: can this image feed the task?
    templates: tuple                    # Template functions, tried in a seeded order
    derive: Optional[Callable] = None   # "single" tasks: (image, rng) -> list of transform dicts
    min_images: Optional[int] = None   # overrides the manifest's grouping.min_images

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
    """Interleaved placeholders in reading order, the MIR convention."""
    return " ".join(f"Image {i}: <image>" for i in range(1, n + 1))


def regions(metadata: dict) -> list:
    return metadata.get("regions", [])


def region_ref(image: int, region: dict) -> dict:
    return {"image": image, "label": region["label"], "bbox": list(region["bbox"])}


def text2region(text: str, image: int, region: dict) -> dict:
    return {"text": text, "image": image, "bbox": list(region["bbox"]), "label": region["label"]}


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
