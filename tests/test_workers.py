"""Builds spread over threads (stages/parallel.py) write the same files whatever the number of
threads, and derived images wait in the build's scratch folder, made once, until shards are written."""
import hashlib
import json
import os
import pathlib
import random
import threading

import pytest
from apache_beam.options.pipeline_options import DirectOptions
from conftest import make_photo

from pipeline.images.phash import HASH_ALGORITHM, hash_image
from pipeline.images.views import materialize
from pipeline.readback.shards import iter_samples, shard_paths
from pipeline.records import Context, ContextImage, HashedImage
from pipeline import parallelism
from pipeline.manifest import Source
from pipeline.parallelism import Parallelism, WorkersError, collection_bytes, plan
from pipeline.run import beam_options, run_build
from pipeline.stages.derived_images import keep_derived, read_derived
from pipeline.stages.parallel import in_order, thread_pool
from pipeline.tasks import TASKS

LIMITS = {"max_pixels": 10**8, "min_side": 16}


def files_of(out: pathlib.Path) -> dict:
    """sha256 of every file of a build, report.json without its timings."""
    found = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path == out / "report.json":
            data = json.dumps(dict(json.loads(data), timings=None), sort_keys=True).encode()
        found[str(path.relative_to(out))] = hashlib.sha256(data).hexdigest()
    return found


def test_a_build_writes_the_same_files_on_one_thread_and_on_three(photo_manifest, tmp_path):
    one, three = tmp_path / "one", tmp_path / "three"
    run_build(str(photo_manifest), str(one), [], workers=1, progress_seconds=None)
    run_build(str(photo_manifest), str(three), [], workers=3, progress_seconds=None)
    assert files_of(one) == files_of(three)
    samples = list(iter_samples(shard_paths(str(one))))
    derived = [(image, facts) for s in samples for image, facts in zip(s["images"], s["image_facts"])
               if facts["derived_from"]]
    # Derived images (tiles, zooms) came back from the scratch folder as the images named, and the
    # scratch folder itself was not published.
    assert derived and {s["task"] for s in samples} >= {"image_puzzle", "location_relationship"}
    assert all(hashlib.sha256(image["bytes"]).hexdigest() == facts["sha256"] for image, facts in derived)
    assert not [name for name in files_of(one) if "scratch" in name or name.endswith(".jpg")]


def test_a_large_collection_is_built_by_a_process_per_core_into_the_same_files(photo_manifest, photo_folder, tmp_path):
    with open(photo_folder / "padding.bin", "wb") as f:   # sparse: the collection's bytes, no disk used
        f.truncate(parallelism.PROCESSES_FROM_BYTES)
    cores = len(os.sched_getaffinity(0))
    one = run_build(str(photo_manifest), str(tmp_path / "one"), ["--direct_num_workers", "1"], progress_seconds=None)
    every = run_build(str(photo_manifest), str(tmp_path / "every"), [], progress_seconds=None)
    assert (one["timings"]["processes"], every["timings"]["processes"]) == (1, cores)
    assert every["timings"]["threads_per_process"] == (1 if cores > 1 else cores)
    assert files_of(tmp_path / "one") == files_of(tmp_path / "every")
    assert every["rejects"]["read_sources"] == {"unsupported_format": 1}   # the padding, in both


def _hashed(path: pathlib.Path) -> HashedImage:
    data = path.read_bytes()
    facts = hash_image(data, uri=str(path), **LIMITS)
    return HashedImage(id=hashlib.sha256(data).hexdigest(), uri=str(path), source="photos", width=facts.width,
                       height=facts.height, phash=facts.phash, metadata={}, hash_algorithm=HASH_ALGORITHM,
                       crop_hashes=facts.crop_hashes, colour=facts.colour, format=facts.format, file_size=len(data))


@pytest.mark.parametrize("task", ["image_puzzle", "scale_blur"])
def test_derived_images_are_kept_once_and_read_back_as_made(tmp_path, task):
    image = _hashed(make_photo(tmp_path / "photo.jpg", seed=3, size=(640, 480)))
    slots = tuple(ContextImage(image, t) for t in TASKS[task].derive(image, random.Random(5)))
    context = Context(id="c1", task=task, split="train", group="g", images=slots)
    entries = materialize(context, source_bytes=False, **LIMITS)
    folder = str(tmp_path / "scratch")
    keep_derived(folder, entries)
    made = {hashlib.sha256(e["bytes"]).hexdigest(): e["bytes"] for e in entries}
    assert len(made) == len(slots) > 1
    # One file, named by the images' sha256s whatever their order, holding them all.
    [kept] = (tmp_path / "scratch").iterdir()
    assert kept.name == hashlib.sha256("\n".join(sorted(made)).encode()).hexdigest() + ".bin"
    assert kept.stat().st_size == sum(map(len, made.values()))
    facts = [dict(e, bytes=None) for e in reversed(entries)] + [
        {"sha256": image.id, "file_size": image.file_size, "derived_from": None}]   # a source image: not kept
    assert read_derived(folder, facts) == made
    assert read_derived(folder, facts[-1:]) == {}
    # The file changed since (same length, other bytes; or cut short), or gone: refused, never
    # other bytes under the recorded sha256.
    data = kept.read_bytes()
    kept.write_bytes(data[1:] + data[:1])
    with pytest.raises(ValueError):
        read_derived(folder, facts)
    kept.write_bytes(data[:-1])
    with pytest.raises(ValueError):
        read_derived(folder, facts)
    kept.unlink()
    with pytest.raises(OSError):
        read_derived(folder, facts)


def _folder_of(tmp_path, name: str, size: int) -> pathlib.Path:
    """A source folder holding one sparse file of ``size`` bytes (no disk used)."""
    folder = tmp_path / name
    folder.mkdir()
    with open(folder / "padding.bin", "wb") as f:
        f.truncate(size)
    return folder


def _source(location, images=""):
    return Source(name="s", kind="files", location=str(location), licence="", attribution="", dedup_scope="source",
                  tasks=(), images=str(images))


def _plan(flags: list, workers, *sources) -> tuple:
    """(the plan, the local runner's (workers, mode) in the options it set) for Beam ``flags``."""
    options = beam_options(flags)
    found = plan(options, flags, workers, sources)
    direct = options.view_as(DirectOptions)
    return found, (direct.direct_num_workers, direct.direct_running_mode)


def test_large_local_builds_get_a_worker_process_per_core_and_small_ones_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(parallelism, "available_cores", lambda: 4)
    small, large = _source(_folder_of(tmp_path, "small", 1000)), _source(_folder_of(tmp_path, "large", 200 * 2**20))
    assert _plan([], None, small) == (Parallelism(1, None), (1, "in_memory"))   # one process, threads on every core
    assert _plan([], None, large) == (Parallelism(4, 1), (4, "multi_processing"))
    assert _plan([], 3, large)[0] == Parallelism(4, 3)                           # --workers: threads per process
    # A source named by its file (a video, a COCO JSON) counts the folder holding it, and a COCO
    # source its images folder too: 70 MB in each adds up to enough, the same folder counts once.
    half, images = _folder_of(tmp_path, "half", 70 * 2**20), _folder_of(tmp_path, "images", 70 * 2**20)
    (half / "annotations.json").write_text("{}")
    assert _plan([], None, _source(half / "annotations.json", images=images))[0].processes == 4
    assert _plan([], None, _source(half / "annotations.json"))[0].processes == 1
    assert _plan([], None, _source(half / "annotations.json", images=f"{half}/"))[0].processes == 1
    # One core, or Beam flags that choose the mode (even as Beam's defaults): the build does as told.
    monkeypatch.setattr(parallelism, "available_cores", lambda: 1)
    assert _plan([], None, large) == (Parallelism(1, None), (1, "in_memory"))
    monkeypatch.setattr(parallelism, "available_cores", lambda: 4)
    assert _plan(["--direct_num_workers", "1"], None, large) == (Parallelism(1, None), (1, "in_memory"))
    assert _plan(["--direct_num_workers=2", "--direct_running_mode=multi_processing"], None, small) == \
        (Parallelism(2, 1), (2, "multi_processing"))
    assert _plan(["--direct_num_workers", "0", "--direct_running_mode", "multi_processing"], None, small)[0] == \
        Parallelism(os.cpu_count(), 1 if os.cpu_count() > 1 else None)   # Beam's 0: a worker per CPU
    assert _plan(["--runner", "DataflowRunner"], None, large)[0] == Parallelism(None, 1)
    with pytest.raises(WorkersError):
        _plan([], 0, small)


def test_links_in_a_source_are_not_followed_when_sizing_it(tmp_path):
    outside = _folder_of(tmp_path, "outside", 200 * 2**20)
    source = tmp_path / "source"
    source.mkdir()
    (source / "big.bin").symlink_to(outside / "padding.bin")
    (source / "folder").symlink_to(outside)
    (source / "photo.jpg").write_bytes(b"x" * 10)
    assert collection_bytes([_source(source)], 2**30) == 10


def test_results_come_in_the_order_of_the_items_whatever_finishes_first():
    pool, _ = thread_pool(4, "test")
    last_started = threading.Event()

    def work(item):
        if item == 0:
            assert last_started.wait(10)   # the first item finishes after the last has begun
        if item == 5:
            last_started.set()
        return item * item

    assert list(in_order(pool, work, range(6), in_flight=6)) == [0, 1, 4, 9, 16, 25]
    assert list(in_order(None, lambda i: -i, range(3), in_flight=1)) == [0, -1, -2]
    pool.shutdown()
