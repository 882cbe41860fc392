"""Perceptual hashing: the plain ``imagehash.phash(Image.open(p))`` loop against the project's
hashing (``images.phash.hash_image``: draft-mode JPEG decode, matrix DCT) on the same files.

Generates photo-like 1920x1280 JPEGs (quality 90), hashes them both ways in the same run (each way reading
the files itself), and prints the speedup and the Hamming deviation between the two hashes.
Last line: one JSON object with the figures; the exit status is 1 when a hash strays more than
MAX_HAMMING bits from imagehash's (the bound docs/ gives).

    .venv/bin/python benchmarks/hash_bench.py [--images 200]
"""
import argparse
import json
import pathlib
import sys
import tempfile
import time

import imagehash
import numpy as np
from PIL import Image

from pipeline.images.phash import HASH_ALGORITHM, hamming, hash_image

MAX_HAMMING = 4

SIZE = (1920, 1280)


def photo(rng, noise: float, size=SIZE) -> Image.Image:
    """Photo-like content: detail at every scale with amplitude falling with frequency (as in
    natural images), plus Gaussian sensor noise of ``noise`` grey levels."""
    width, height = size
    field = np.zeros((height, width, 3), dtype=np.float32)
    for octave, cells in enumerate((6, 24, 96, 384)):
        grid = Image.fromarray((rng.random((cells * 2 // 3, cells, 3)) * 255).astype("uint8"))
        field += np.asarray(grid.resize(size, Image.Resampling.BICUBIC), dtype=np.float32) / 1.6 ** octave
    field = field * (255 / field.max()) + rng.standard_normal(field.shape, dtype=np.float32) * noise
    return Image.fromarray(np.clip(field, 0, 255).astype("uint8"))


def write_photos(folder: pathlib.Path, count: int, noise: float) -> list:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = folder / f"photo_{i:04d}.jpg"
        photo(rng, noise).save(path, quality=90)
        paths.append(path)
    return paths


def plain(paths):
    return [str(imagehash.phash(Image.open(p))) for p in paths]


def project(paths):
    return [hash_image(p.read_bytes(), max_pixels=10**9, min_side=1, uri=str(p)).phash for p in paths]


def timed(fn, paths):
    start = time.perf_counter()
    hashes = fn(paths)
    return hashes, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--noise", type=float, default=2.0,
                        help="sensor noise (grey levels); more noise, bigger files, less speedup")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_photos(pathlib.Path(folder), args.images, args.noise)
        mean_kb = float(np.mean([p.stat().st_size for p in paths])) / 1000
        project(paths[:5])  # warm up both paths (imports, DCT basis) before timing
        plain(paths[:5])
        reference, plain_seconds = timed(plain, paths)
        ours, project_seconds = timed(project, paths)
    deviations = [hamming(a, b) for a, b in zip(reference, ours)]
    figures = {"images": args.images, "size": list(SIZE), "noise": args.noise, "mean_kb": round(mean_kb),
               "plain_seconds": round(plain_seconds, 2),
               "project_seconds": round(project_seconds, 2),
               "speedup": round(plain_seconds / project_seconds, 2),
               "mean_hamming": round(float(np.mean(deviations)), 3), "max_hamming": max(deviations),
               "hash_algorithm": HASH_ALGORITHM}
    print(f"{args.images} JPEGs {SIZE[0]}x{SIZE[1]} ({mean_kb:.0f} kB each): plain loop {plain_seconds:.2f} s, project "
          f"{project_seconds:.2f} s ({figures['speedup']}x); Hamming deviation mean "
          f"{figures['mean_hamming']}, max {figures['max_hamming']}")
    print(json.dumps(figures))
    if figures["max_hamming"] > MAX_HAMMING:
        sys.exit(f"hash_bench: a hash differs from imagehash's by {figures['max_hamming']} bits (> {MAX_HAMMING})")


if __name__ == "__main__":
    main()
