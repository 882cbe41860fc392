"""GroupContexts: per task, turn kept images into contexts of about six images.

Deterministic under the seed. Splits are decided per source group (sequence, group key, or the
image itself), before any task is considered, so an image and everything grouped with it land
in one split whichever tasks use them. No two contexts of a build show the same images: tasks
cut a group in their own seeded orders, tasks sharing a sequence take turns at its windows
(which overlap by at most half), and a context whose image set another already has is rejected
(``repeated_image_set``) rather than drafted twice. Where tasks claim the same image set, a task
that needs more of the images than their boxes and labels (depths, tracks, weights, ...) claims
it before a task any annotated image feeds (``generic_for``).

Counters per task (``<counter>.<task>``) say what became of the images a task could have had,
for report.json's account of a task that got no sample: ``offered`` (its source and the image's
``tasks`` let it feed the task), ``eligible`` (and the image carries what the task needs) and
``in_small_groups`` (eligible, but its group or sequence has too few images for a context) and
``windows_to_other_tasks`` (windows of its sequences that the other sequence tasks' turns took).
"""
import dataclasses
import math
import random

import apache_beam as beam
from apache_beam.metrics import Metrics

from ..records import Context, ContextImage, content_id
from ..tasks import TASKS
from ..tasks.base import derivable, regions
from .base import REJECTS, Subject, context_subject, guarded, image_subject, to_rejects

STAGE = "group_contexts"


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
    """Starts of windows of ``size`` consecutive frames over ``n`` frames: every half window. The
    fewer than half a window of frames after the last one are left out: a window ending at the
    last frame would overlap the one before by more than half and ask nearly the same question."""
    return list(range(0, n - size + 1, max(1, size // 2)))


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


def _window_turns(task, images: list, sources: dict) -> tuple:
    """(turn, turns): the sequence tasks that all of ``images`` can feed take turns at the
    sequence's windows, so no two of them ask about the same frames."""
    sharing = [t.id for t in TASKS.values()
               if t.grouping == "sequence" and all(_eligible(t, im, sources) for im in images)]
    return (sharing.index(task.id), len(sharing)) if task.id in sharing else (0, 1)


def _offered(task, image, sources: dict) -> bool:
    """Do the image's source and its own ``tasks`` let it feed ``task``?"""
    listed = image.metadata.get("tasks")
    return sources[image.source].feeds(task.id) and (not listed or task.id in listed)


def _fits(task, image) -> bool:
    """Does the image carry what ``task`` needs (and, for a sequence task, belong to a sequence)?"""
    return (task.grouping != "sequence" or "sequence" in image.metadata) and task.needs(image.metadata)


def _eligible(task, image, sources: dict) -> bool:
    return _offered(task, image, sources) and _fits(task, image)


def task_counter(name: str, task_id: str):
    return Metrics.counter(STAGE, f"{name}.{task_id}")


class KeyByTaskGroup(beam.DoFn):
    def __init__(self, sources: dict, seed: int, test_fraction: float):
        self.sources, self.seed, self.test_fraction = sources, seed, test_fraction

    def setup(self):
        self.offered = {t: task_counter("offered", t) for t in TASKS}
        self.eligible = {t: task_counter("eligible", t) for t in TASKS}

    def process(self, image):
        split = split_of(image, self.seed, self.test_fraction)
        for task in TASKS.values():
            if not _offered(task, image, self.sources):
                continue
            self.offered[task.id].inc()
            if _fits(task, image):
                self.eligible[task.id].inc()
                yield (task.id, split, _group_key(task, image)), image


class MakeContexts(beam.DoFn):
    def __init__(self, sources: dict, seed: int, grouping: dict):
        self.sources, self.seed, self.grouping = sources, seed, grouping
        self.unused = Metrics.counter("group_contexts", "images_unused")
        self.elongated = Metrics.counter("group_contexts", "images_too_elongated_to_derive")

    def _slots(self, task, group: str, images: list) -> list:
        """Lists of ContextImage, one list per context."""
        if task.grouping == "single":
            return self._derived(task, group, images)
        low = task.min_images or self.grouping["min_images"]
        if len(images) < low:
            task_counter("in_small_groups", task.id).inc(len(images))
        if task.grouping == "sequence":
            return self._windows(task, group, images, low)
        # Seeded per task, so tasks that share a group cut it into different contexts.
        ordered = sorted(images, key=lambda im: content_id("shuffle", self.seed, task.id, group, im.id))
        sizes = chunk_sizes(len(ordered), self.grouping["target_images"], low, self.grouping["max_images"])
        self.unused.inc(len(ordered) - sum(sizes))
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return [[ContextImage(im) for im in ordered[s:s + n]] for s, n in zip(starts, sizes)]

    def _derived(self, task, group: str, images: list) -> list:
        """A seeded pick of ceil(share x n) images of the group (at least one), each of which
        the task turns into a whole context (tiles, zooms); images more elongated than
        tasks.base.MAX_DERIVE_ASPECT are left out (counter images_too_elongated_to_derive)."""
        usable = [im for im in images if derivable(im)]   # a 40 x 60000 strip would make huge views
        self.elongated.inc(len(images) - len(usable))
        ordered = sorted(usable, key=lambda im: content_id("derive_pick", self.seed, task.id, group, im.id))
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
        turn, turns = _window_turns(task, ordered, self.sources)
        # Where the turns start rotates per sequence, so each task gets some of a collection's
        # single-window sequences.
        first = int(content_id("window_turns", self.seed, group), 16) % turns
        every = window_starts(len(ordered), size)
        starts = [s for w, s in enumerate(every) if (w + first) % turns == turn]
        task_counter("windows_to_other_tasks", task.id).inc(len(every) - len(starts))
        frames = [ordered[s:s + size] for s in starts]
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


def _image_set(context) -> str:
    return content_id(sorted(content_id(slot.image.id, slot.transform) for slot in context.images))


def _bare(metadata: dict) -> dict:
    """What every annotated image has: its boxes and their labels, nothing more."""
    return {"regions": [{key: r[key] for key in ("id", "label", "bbox") if key in r} for r in regions(metadata)]}


def generic_for(context) -> bool:
    """Would the context's task take each of its images on their boxes and labels alone? Such a
    task (location_relationship) can use any annotated image; the depths, tracks, weights or
    cameras that make an image worth asking about go first to the tasks that need them."""
    task = TASKS[context.task]
    return all(task.needs(_bare(slot.image.metadata)) for slot in context.images)


def claim_order(context) -> tuple:
    """The order in which contexts showing one image set claim it: tasks that need what the
    images carry beyond their boxes first, then the smallest id (a seeded draw, not a task's name)."""
    return generic_for(context), context.id


class DistinctImageSets(beam.DoFn):
    """Of the contexts showing one image set, the first in ``claim_order`` keeps it. With
    ``leave_out``, each other context of a ``group`` task leaves out a different image of the set
    (seeded), while it keeps ``min_images``: a small group then still feeds every task that can
    use it, each with its own images. What remains repeated goes to rejects."""

    def __init__(self, seed: int, grouping: dict, leave_out: bool):
        self.seed, self.grouping, self.leave_out = seed, grouping, leave_out

    def process(self, keyed):
        _, contexts = keyed
        first, *others = sorted(contexts, key=claim_order)
        yield first
        ids = [slot.image.id for slot in first.images]
        left_out = sorted(ids, key=lambda i: content_id("leave_out", self.seed, first.id, i))
        for n, context in enumerate(others):
            task = TASKS[context.task]
            low = task.min_images or self.grouping["min_images"]
            if self.leave_out and task.grouping == "group" and n < len(left_out) and len(ids) - 1 >= low:
                yield _without(context, left_out[n])
            else:
                yield to_rejects(context_subject(context).reject(
                    STAGE, "repeated_image_set", f"the same images as context {first.id} ({first.task})"))


def _group_subject(keyed) -> list:
    """The image group MakeContexts was cutting."""
    (task_id, split, group), images = keyed
    return [Subject(f"{task_id}/{split}/{group}", "group", ",".join(sorted({im.source for im in images})), task_id)]


def _without(context, image_id: str):
    images = tuple(slot for slot in context.images if slot.image.id != image_id)
    return dataclasses.replace(context, id=content_id(context.id, "without", image_id), images=images)


class GroupContexts(beam.PTransform):
    """Kept HashedImage -> {"contexts": Context to draft, "rejects": rejects records, "made": every
    Context made (what report.json counts as contexts)}."""

    def __init__(self, sources: dict, seed: int, grouping: dict):
        super().__init__()
        self.sources, self.seed, self.grouping = dict(sources), seed, dict(grouping)

    def expand(self, images):
        keyed = images | "KeyByTaskGroup" >> guarded(
            STAGE, KeyByTaskGroup(self.sources, self.seed, self.grouping["test_fraction"]),
            lambda image: [image_subject(image)], main="keyed")
        made = (keyed.keyed
                | "CollectGroups" >> beam.GroupByKey()
                | "MakeContexts" >> guarded(STAGE, MakeContexts(self.sources, self.seed, self.grouping), _group_subject,
                                            main="contexts"))
        varied = made.contexts | "VaryRepeatedSets" >> _Distinct(self.seed, self.grouping, leave_out=True)
        # A varied context could meet another's images by chance: a second pass rejects it then.
        unique = varied.contexts | "RejectRepeatedSets" >> _Distinct(self.seed, self.grouping, leave_out=False)
        rejects = ((keyed[REJECTS], made[REJECTS], varied[REJECTS], unique[REJECTS])
                   | "GroupingRejects" >> beam.Flatten())
        return {"contexts": unique.contexts, "rejects": rejects, "made": made.contexts}


class _Distinct(beam.PTransform):
    def __init__(self, seed: int, grouping: dict, leave_out: bool):
        super().__init__()
        self.fn = DistinctImageSets(seed, grouping, leave_out)

    def expand(self, contexts):
        return (contexts
                | "KeyByImageSet" >> beam.Map(lambda c: (_image_set(c), c))
                | "CollectImageSets" >> beam.GroupByKey()
                | "KeepDistinct" >> guarded(STAGE, self.fn, lambda keyed: [context_subject(c) for c in keyed[1]],
                                            main="contexts"))
