"""Whole-build throughput against the hash-only pass over the same images, plus peak memory.

Generates N photo-like JPEGs (1024x768 by default; ``photo``) with sidecar metadata (groups and
regions, so every photo task gets contexts), then in the same run times, each in its own process:
  * the baseline: ReadSources + DecodeAndHash only (what any build must at least do), and
  * the whole build with the offline drafter (`mir build`).
The two passes alternate --repeat times and each keeps its fastest run (as timeit does): a shared
machine's noise only ever adds time, and it swings a single run by 10% or more. Prints images/s
for both, the whole build's peak RSS (target < 2 GB), and, last, one JSON line with the figures.
(The whole build's speed against the peer script, on one core and on all, is cores_bench.py's.)

    .venv/bin/python benchmarks/build_bench.py [--images 2000] [--repeat 3] [--workers N] [--size W H]
"""
import argparse
import json
import multiprocessing
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
from PIL import Image

HERE = pathlib.Path(__file__).resolve()


NOISE = 2.0  # sensor noise, in grey levels
_DETAIL = {}


def detail_bank(size: tuple) -> np.ndarray:
    """Zero-mean fine detail (octaves of 96 and 384 cells across) plus sensor noise, as int16 grey
    levels, twice ``size`` each way: each photo adds a piece of it cut at an offset of its own."""
    rng = np.random.default_rng(0)
    width, height = 2 * size[0], 2 * size[1]
    field = np.zeros((height, width, 3), np.float32)
    for octave, cells in ((2, 96), (3, 384)):
        grid = rng.random((cells * 4 // 3, cells * 2, 3), dtype=np.float32) - 0.5
        field += cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC) * 255 / 1.6 ** octave
    field += rng.standard_normal((height, width, 3), dtype=np.float32) * NOISE
    return np.round(field * 0.6).astype(np.int16)


def photo(i: int, size: tuple) -> Image.Image:
    """Photo ``i``: detail at every scale with amplitude falling with frequency, as in natural
    images (hash_bench.py's content), made fast enough for collections of thousands. The coarse
    octaves (6 and 24 cells across), which give each photo its own structure and perceptual
    hash, come from its own seed; the fine ones and the noise from the shared bank."""
    rng = np.random.default_rng([0, i])
    width, height = size
    coarse = np.zeros((height // 8, width // 8, 3), np.float32)
    for octave, cells in enumerate((6, 24)):
        grid = rng.random((cells * 2 // 3, cells, 3), dtype=np.float32)
        coarse += cv2.resize(grid, (width // 8, height // 8), interpolation=cv2.INTER_CUBIC) * 255 / 1.6 ** octave
    base = cv2.resize(coarse * (200 / coarse.max()) + 20, size, interpolation=cv2.INTER_LINEAR).astype(np.int16)
    if size not in _DETAIL:
        _DETAIL[size] = detail_bank(size)
    x, y = rng.integers(0, width), rng.integers(0, height)
    return Image.fromarray(np.clip(base + _DETAIL[size][y:y + height, x:x + width], 0, 255).astype(np.uint8))


def _write_photo(job: tuple) -> None:
    """Photo ``i`` of the collection: the same file whichever process makes it."""
    folder, i, size = job
    photo(i, size).save(folder / f"img{i:05d}.jpg", quality=88)


def make_collection(folder: pathlib.Path, count: int, size: tuple) -> pathlib.Path:
    """``count`` photos (made on every core) with sidecar metadata in ``folder``, and a manifest
    next to it; returns the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    with multiprocessing.Pool() as pool:
        pool.map(_write_photo, [(folder, i, tuple(size)) for i in range(count)], chunksize=16)
    rng = np.random.default_rng(0)
    lines = []
    for i in range(count):
        x, y = rng.uniform(0.05, 0.6, size=2)
        lines.append({"file": f"img{i:05d}.jpg", "caption": f"Generated photo {i}.", "group": f"g{i // 60}",
                      "regions": [{"id": "r", "label": f"object {i}", "bbox": [round(x, 3), round(y, 3),
                                                                               round(x + 0.3, 3), round(y + 0.3, 3)]}]})
    (folder / "metadata.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    manifest = folder.parent / "manifest.yaml"
    manifest.write_text(f"name: bench\nsources:\n  - {{name: gen, kind: folder, location: {folder}, "
                        "licence: CC0-1.0, attribution: generated}\n")
    return manifest


def hash_only(manifest: str, threads, beam_args: list) -> None:
    """The baseline pass, run inside its own process."""
    import apache_beam as beam

    from pipeline.manifest import load_manifest
    from pipeline.run import beam_options  # the runner and options `mir build` uses
    from pipeline.stages.decode_and_hash import DecodeAndHash
    from pipeline.stages.read_sources import ReadSources
    loaded = load_manifest(manifest)
    with beam.Pipeline(options=beam_options(beam_args)) as p:
        listed = p | ReadSources(loaded.sources)
        hashed = listed["images"] | DecodeAndHash(**loaded.decode, threads=threads)
        hashed["images"] | beam.combiners.Count.Globally() | beam.Map(lambda n: print(f"hashed {n}"))


def timed_process(command: list) -> tuple:
    """(wall seconds, peak RSS in MB) of a child process; output goes to stderr."""
    started = time.monotonic()
    child = subprocess.Popen(command, stdout=sys.stderr)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        sys.exit(f"benchmark step failed: {' '.join(command)}")
    return time.monotonic() - started, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each pass; the fastest counts")
    parser.add_argument("--workers", type=int, help="threads of the heavy stages in both passes (mir build "
                                                     "--workers; default: every core)")
    parser.add_argument("--size", type=int, nargs=2, default=(1024, 768), metavar=("W", "H"),
                        help="size of the generated photos (default: a common web photo size)")
    parser.add_argument("--hash-only", metavar="MANIFEST", help=argparse.SUPPRESS)
    args, beam_args = parser.parse_known_args()
    if args.hash_only:
        return hash_only(args.hash_only, args.workers, beam_args)
    beam_args += ["--workers", str(args.workers)] if args.workers else []
    with tempfile.TemporaryDirectory() as work:
        manifest = make_collection(pathlib.Path(work) / "images", args.images, tuple(args.size))
        hash_command = [sys.executable, str(HERE), "--hash-only", str(manifest)] + beam_args
        build_command = [sys.executable, "-m", "pipeline.cli", "build", "--quiet", "--overwrite",
                         "--manifest", str(manifest), "--output", str(pathlib.Path(work) / "out")] + beam_args
        hash_runs, build_runs = [], []
        for _ in range(args.repeat):
            hash_runs.append(timed_process(hash_command))
            build_runs.append(timed_process(build_command))
        report = json.loads((pathlib.Path(work) / "out" / "report.json").read_text())
    (hash_seconds, _), (build_seconds, _) = min(hash_runs), min(build_runs)
    hash_mb, build_mb = max(mb for _, mb in hash_runs), max(mb for _, mb in build_runs)
    figures = {"images": args.images, "size": list(args.size), "workers": args.workers, "repeat": args.repeat,
               "hash_only_images_per_s": round(args.images / hash_seconds, 1),
               "build_images_per_s": round(args.images / build_seconds, 1),
               "build_peak_rss_mb": round(build_mb, 1), "hash_only_peak_rss_mb": round(hash_mb, 1),
               "samples": report["samples"]["written"],
               "hash_only_seconds": [round(s, 2) for s, _ in hash_runs],
               "build_seconds": [round(s, 2) for s, _ in build_runs]}
    print(f"hash-only pass: {figures['hash_only_images_per_s']} images/s; whole build: "
          f"{figures['build_images_per_s']} images/s ({figures['samples']} samples)")
    print(f"peak RSS of the whole build {figures['build_peak_rss_mb']:.0f} MB (target < 2048 MB)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
