"""GroupContexts on real Beam pipelines: window sizes, derived single-photo contexts, seeded
determinism, and splits decided per source group."""
import hashlib

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to
from conftest import region

from pipeline.manifest import Source
from pipeline.stages.group_contexts import GroupContexts, chunk_sizes, window_starts

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
    return (p | f"Create{label}" >> beam.Create(images) | f"Group{label}" >> GroupContexts(SOURCES, seed, GROUPING))["contexts"]


def _fingerprint(contexts) -> list:
    return sorted((c.id, c.split, tuple(slot.image.id for slot in c.images)) for c in contexts)


def test_chunk_sizes_stay_within_bounds_near_target():
    for n in range(4, 60):
        sizes = chunk_sizes(n, 6, 4, 8)
        assert sum(sizes) == n and all(4 <= s <= 8 for s in sizes)
    assert chunk_sizes(3, 6, 4, 8) == []


def test_windows_step_half_a_window_and_never_overlap_more():
    assert window_starts(6, 6) == [0]
    assert window_starts(8, 6) == [0]          # a window at 2 would share 4 of its 6 frames
    assert window_starts(9, 6) == [0, 3]
    assert window_starts(10, 6) == [0, 3]      # ending at the last frame (4) would overlap 3 by 5
    assert window_starts(12, 6) == [0, 3, 6]
    for n in range(6, 30):
        starts = window_starts(n, 6)
        assert starts[0] == 0 and all(b - a >= 3 for a, b in zip(starts, starts[1:]))
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
    # No two contexts of any tasks show the same images.
    image_sets = [frozenset((slot.image.id, str(slot.transform)) for slot in c.images) for c in contexts]
    assert len(set(image_sets)) == len(image_sets)
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


def _shared_group_of_six() -> list:
    """Six photos every group task can use (weights, sizes, depths, regions) and one clip of
    nine frames that both tracking tasks can use."""
    photos = [_image(f"shared{p}", {"group": "six", "regions": [region(
        f"thing {p}", [0.1, 0.1, 0.5, 0.5], weight_kg=p + 1.0, real_size_m=p + 0.5, depth_m=p + 2.0)]})
        for p in range(6)]
    frames = [_image(f"clip_{k}", {"sequence": "clip", "order": k, "timestamp": k * 0.5,
                                   "regions": [region("ball", [0.1, 0.1, 0.3, 0.3], track_id="ball")]})
              for k in range(9)]
    return photos + frames


def _distinct_sets_per_task(contexts):
    try:
        # Single-photo tasks (tiles, zooms) derive their own images; the rest share the six photos.
        shared = [c for c in contexts if c.group == "six" and len({slot.image.id for slot in c.images}) > 1]
        group_tasks = {c.task for c in shared}
        assert group_tasks == {"weight_comparison", "forced_perspective", "depth_relationship",
                               "location_relationship"}, group_tasks
        sets = [frozenset(slot.image.id for slot in c.images) for c in contexts]
        assert len(set(sets)) == len(sets)
        # One keeps all six photos; each other task leaves a different one out.
        assert sorted(len(c.images) for c in shared) == [5, 5, 5, 6]
        # The clip's two windows (frames 0-5 and 3-8) go one to each tracking task.
        tracking = [c for c in contexts if c.task in ("motion_detection", "speed_comparison")]
        assert sorted(c.task for c in tracking) == ["motion_detection", "speed_comparison"]
        assert sorted(c.images[0].image.metadata["order"] for c in tracking) == [0, 3]
    except AssertionError as failure:
        raise BeamAssertException(str(failure)) from failure


def test_tasks_sharing_images_get_distinct_image_sets():
    with TestPipeline() as p:
        assert_that(_grouped(p, "", 5, _shared_group_of_six()), _distinct_sets_per_task)


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


def test_a_set_too_small_to_vary_is_rejected_for_all_but_one_task():
    """Four photos (the minimum) that three tasks can use (weights, sizes, regions): leaving one
    out would go under min_images, so two of the three contexts are rejected, naming the first."""
    photos = [_image(f"few{p}", {"group": "four", "regions": [region(f"thing {p}", [0.1, 0.1, 0.5, 0.5],
                                                                        weight_kg=p + 1.0, real_size_m=p + 0.5)]})
              for p in range(4)]

    def check(found):
        try:
            contexts = [c for c in found if not isinstance(c, dict)]
            rejects = [r for r in found if isinstance(r, dict)]
            shared = [c for c in contexts if len({slot.image.id for slot in c.images}) > 1]
            assert len(shared) == 1 and len(shared[0].images) == 4
            assert sorted((r["stage"], r["reason"], r["subject_kind"]) for r in rejects) == [
                ("group_contexts", "repeated_image_set", "context")] * 2
            assert {shared[0].task, *(r["task"] for r in rejects)} == {
                "weight_comparison", "forced_perspective", "location_relationship"}
            assert all(shared[0].id in r["detail"] for r in rejects)
        except AssertionError as failure:
            raise BeamAssertException(str(failure)) from failure

    with TestPipeline() as p:
        out = p | beam.Create(photos) | GroupContexts(SOURCES, 5, GROUPING)
        assert_that((out["contexts"], out["rejects"]) | beam.Flatten(), check)
