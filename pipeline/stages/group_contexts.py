"""GroupContexts: per task, turn kept images into contexts of about six images.

Deterministic under the seed. Splits are decided per source group (sequence, group key, or the
image itself), before any task is considered, so an image and everything grouped with it land
in one split whichever tasks use them.
"""
import math
import random

import apache_beam as beam
from apache_beam.metrics import Metrics

from ..records import content_id, Context, ContextImage
from ..tasks import TASKS


def split_of(image, seed: int, test_fraction: float) -> str:
    key = image.metadata.get("sequence") or image.metadata.get("group") or image.id
    return "test" if int(content_id("split", seed, key), 16) / 16 ** 16 < test_fraction else "train"


def chunk_sizes(n: int, target: int, low: int, high: int) -> list:
    """Sizes of the contexts ``n`` images make: near ``target``, each within [low, high]."""
    if n < low:
        return []
    k = max(1, round(n / target))
    while math.ceil(n / k) > high:
        k += 1
    while k > 1 and n // k < low:
        k -= 1
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def window_starts(n: int, size: int) -> list:
    """Starts of windows of ``size`` consecutive frames over ``n`` frames: every half window,
    the last one ending at the last frame, so every frame is in a window."""
    if n < size:
        return []
    starts = list(range(0, n - size + 1, max(1, size // 2)))
    return starts if starts[-1] == n - size else starts + [n - size]


def _display_order(frames: list, seed: int, group: str) -> list:
    """A seeded shuffle of a window that never leaves it in its true order."""
    shown = sorted(frames, key=lambda im: content_id("display", seed, group, im.id))
    return shown if shown != frames else shown[1:] + shown[:1]


def _group_key(task, image) -> str:
    if task.grouping == "sequence":
        return image.metadata["sequence"]
    # Single-image tasks group too, so that their share of each group is exact (see _derived).
    return image.metadata.get("group") or image.metadata.get("sequence") or f"source:{image.source}"


def derive_share(grouping: dict) -> float:
    """Share of a group's images that seed a single-image context. By default one in
    target_images, so a derived task yields about as many samples as a task that groups the
    same images six by six, instead of one per photo."""
    share = grouping.get("derive_share")
    return 1 / grouping["target_images"] if share is None else share


def _eligible(task, image, sources: dict) -> bool:
    listed = image.metadata.get("tasks")
    return (sources[image.source].feeds(task.id) and (not listed or task.id in listed)
            and (task.grouping != "sequence" or "sequence" in image.metadata)
            and task.needs(image.metadata))


class KeyByTaskGroup(beam.DoFn):
    def __init__(self, sources: dict, seed: int, test_fraction: float):
        self.sources, self.seed, self.test_fraction = sources, seed, test_fraction

    def process(self, image):
        split = split_of(image, self.seed, self.test_fraction)
        for task in TASKS.values():
            if _eligible(task, image, self.sources):
                yield (task.id, split, _group_key(task, image)), image


class MakeContexts(beam.DoFn):
    def __init__(self, seed: int, grouping: dict):
        self.seed, self.grouping = seed, grouping
        self.unused = Metrics.counter("group_contexts", "images_unused")

    def _slots(self, task, group: str, images: list) -> list:
        """Lists of ContextImage, one list per context."""
        if task.grouping == "single":
            return self._derived(task, group, images)
        low = task.min_images or self.grouping["min_images"]
        if task.grouping == "sequence":
            return self._windows(task, group, images, low)
        ordered = sorted(images, key=lambda im: content_id("shuffle", self.seed, group, im.id))
        sizes = chunk_sizes(len(ordered), self.grouping["target_images"], low, self.grouping["max_images"])
        self.unused.inc(len(ordered) - sum(sizes))
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return [[ContextImage(im) for im in ordered[s:s + n]] for s, n in zip(starts, sizes)]

    def _derived(self, task, group: str, images: list) -> list:
        """A seeded pick of ceil(share x n) images of the group (at least one), each of which
        the task turns into a whole context (tiles, zooms)."""
        ordered = sorted(images, key=lambda im: content_id("derive_pick", self.seed, task.id, group, im.id))
        chosen = ordered[:math.ceil(len(ordered) * derive_share(self.grouping))]
        self.unused.inc(len(ordered) - len(chosen))
        return [[ContextImage(image, t) for t in
                 task.derive(image, random.Random(content_id("derive", self.seed, task.id, image.id)))]
                for image in chosen]

    def _windows(self, task, group: str, images: list, low: int) -> list:
        """Overlapping windows of consecutive frames (in time order, or shuffled for display
        when the task asks to recover the order); a short sequence is one window."""
        ordered = sorted(images, key=lambda im: (im.metadata.get("order", 0), im.metadata.get("timestamp", 0), im.uri))
        if len(ordered) < low:
            self.unused.inc(len(ordered))
            return []
        size = min(len(ordered), self.grouping["target_images"])
        frames = [ordered[s:s + size] for s in window_starts(len(ordered), size)]
        if task.shuffled:
            frames = [_display_order(f, self.seed, group) for f in frames]
        return [[ContextImage(im) for im in f] for f in frames]

    def process(self, keyed):
        (task_id, split, group), images = keyed
        task = TASKS[task_id]
        images = sorted(images, key=lambda im: im.uri)
        for slots in self._slots(task, group, images):
            members = [(slot.image.id, slot.transform) for slot in slots]
            yield Context(id=content_id(task_id, split, group, members, self.grouping, self.seed),
                          task=task_id, split=split, group=group, images=tuple(slots))


class GroupContexts(beam.PTransform):
    """Kept HashedImage -> Context."""

    def __init__(self, sources: dict, seed: int, grouping: dict):
        super().__init__()
        self.sources, self.seed, self.grouping = dict(sources), seed, dict(grouping)

    def expand(self, images):
        return (images
                | "KeyByTaskGroup" >> beam.ParDo(KeyByTaskGroup(self.sources, self.seed, self.grouping["test_fraction"]))
                | "CollectGroups" >> beam.GroupByKey()
                | "MakeContexts" >> beam.ParDo(MakeContexts(self.seed, self.grouping)))
