"""GroupContexts on real Beam pipelines: window sizes, derived single-photo contexts, seeded
determinism, and splits decided per source group."""
import hashlib

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to

from conftest import region
from pipeline.stages.group_contexts import chunk_sizes, GroupContexts, window_starts
from pipeline.manifest import Source

GROUPING = {"min_images": 4, "target_images": 6, "max_images": 8, "test_fraction": 0.5}
SOURCES = {"gen": Source(name="gen", kind="folder", location="/gen", licence="CC0-1.0", attribution="tests",
                         dedup_scope="global", tasks=())}


def _image(name: str, metadata: dict):
    from pipeline.records import HashedImage
    return HashedImage(id=hashlib.sha256(name.encode()).hexdigest(), uri=f"/gen/{name}.jpg", source="gen",
                       width=64, height=48, phash="0" * 16, metadata=dict(metadata, file=f"{name}.jpg"))


def _collection() -> list:
    """Nine clips of 6..10 frames with tracks and timestamps, and 13 photos with weights in one group."""
    images = []
    for clip in range(9):
        for k in range(6 + clip % 5):
            images.append(_image(f"clip{clip}_{k}", {
                "sequence": f"clip{clip}", "order": k, "timestamp": k * 0.5, "caption": f"step {k}",
                "regions": [region("ball", [0.1, 0.1, 0.3, 0.3], track_id="ball")]}))
    for p in range(13):
        images.append(_image(f"photo{p}", {"group": "photos", "regions": [region(f"thing {p}", [0.1, 0.1, 0.5, 0.5],
                                                                               weight_kg=p + 1.0)]}))
    return images


def _grouped(p, label: str, seed: int, images: list):
    return p | f"Create{label}" >> beam.Create(images) | f"Group{label}" >> GroupContexts(SOURCES, seed, GROUPING)


def _fingerprint(contexts) -> list:
    return sorted((c.id, c.split, tuple(slot.image.id for slot in c.images)) for c in contexts)


def test_chunk_sizes_stay_within_bounds_near_target():
    for n in range(4, 60):
        sizes = chunk_sizes(n, 6, 4, 8)
        assert sum(sizes) == n and all(4 <= s <= 8 for s in sizes)
    assert chunk_sizes(3, 6, 4, 8) == []


def test_windows_cover_every_frame():
    for n in range(6, 30):
        starts = window_starts(n, 6)
        covered = {s + k for s in starts for k in range(6)}
        assert covered == set(range(n)) and starts[0] == 0 and starts[-1] == n - 6
    assert window_starts(5, 6) == []


def _check_contexts(contexts):
    try:
        _context_properties(contexts)
    except AssertionError as failure:
        raise BeamAssertException(str(failure)) from failure


def test_contexts_sizes_order_and_splits():
    with TestPipeline() as p:
        assert_that(_grouped(p, "", 3, _collection()), _check_contexts)


def _context_properties(contexts):
    by_task = {}
    for c in contexts:
        by_task.setdefault(c.task, []).append(c)
    assert {"speed_comparison", "motion_detection", "cooking_process", "weight_comparison", "image_puzzle",
            "scale_blur", "location_relationship"} <= set(by_task)

    for c in by_task["speed_comparison"] + by_task["motion_detection"]:
        orders = [slot.image.metadata["order"] for slot in c.images]
        assert len(c.images) == 6 and orders == list(range(orders[0], orders[0] + 6))
        assert len({slot.image.metadata["sequence"] for slot in c.images}) == 1
    for c in by_task["cooking_process"]:
        orders = [slot.image.metadata["order"] for slot in c.images]
        assert sorted(orders) == list(range(min(orders), min(orders) + 6)) and orders != sorted(orders)
    for c in by_task["weight_comparison"]:
        assert 4 <= len(c.images) <= 8
    for c in by_task["image_puzzle"] + by_task["scale_blur"]:
        assert len({slot.image.id for slot in c.images}) == 1 and len(c.images) == 6
        assert all(slot.transform for slot in c.images)

    sizes = [len(c.images) for c in contexts]
    assert 5 <= sum(sizes) / len(sizes) <= 7

    split_of_group = {}
    for c in contexts:
        for slot in c.images:
            key = slot.image.metadata.get("sequence") or slot.image.metadata.get("group")
            split_of_group.setdefault(key, set()).add(c.split)
    assert all(len(splits) == 1 for splits in split_of_group.values())
    assert {c.split for c in contexts} == {"train", "test"}


def test_grouping_is_deterministic_under_the_seed():
    images = _collection()
    with TestPipeline() as p:
        runs = {label: _grouped(p, label, seed, order) | f"All{label}" >> beam.combiners.ToList()
                for label, seed, order in (("a", 3, images), ("again", 3, images[::-1]), ("other", 4, images))}
        same = (p | beam.Create([None])
                | beam.Map(lambda _, a, again, other: (_fingerprint(a) == _fingerprint(again),
                                                       _fingerprint(a) == _fingerprint(other)),
                           *(beam.pvalue.AsSingleton(runs[k]) for k in ("a", "again", "other"))))
        assert_that(same, equal_to([(True, False)]))
