"""Exact near-duplicate search: the project's blocked kernel against a plain reference.

Generates N random images' hashes (a full pHash and one hash per images.phash.CROP_BOXES) with
planted near pairs: every tenth image's full hash is 1..threshold bits from some hash of its
predecessor, or one of its crop hashes is that close to its predecessor's full hash. Finds every
pair within the threshold with ``near_duplicates.near_duplicate_pairs`` (one core) and with a
plain row-by-row reference on the same hashes, checks both find exactly the same pairs, and
times the kernel again at 2N. Throughput counts hash pairs compared (2K - 1 per image pair).
Last line: one JSON object with the figures; the exit status is 1 when the pairs differ.

    .venv/bin/python benchmarks/dedup_bench.py [--n 100000] [--threshold 8]
"""
import argparse
import json
import sys
import time

import numpy as np

from pipeline.images.near_duplicates import HashTable, near_duplicate_pairs
from pipeline.images.phash import CROP_BOXES

HASHES_PER_IMAGE = 1 + len(CROP_BOXES)


def _flipped(rng, value: np.uint64, threshold: int) -> np.uint64:
    bits = rng.choice(64, size=rng.integers(1, threshold + 1), replace=False).astype(np.uint64)
    return value ^ np.bitwise_or.reduce(np.uint64(1) << bits)


def planted_hashes(n: int, threshold: int, seed: int) -> np.ndarray:
    """(n, K) random hashes; every tenth image is planted near its predecessor, through each
    crop slot in turn and in both directions (its full hash near a crop of the predecessor, or
    a crop of it near the predecessor's full hash)."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64, size=(n, HASHES_PER_IMAGE), dtype=np.uint64)
    for plant, i in enumerate(range(1, n, 10)):
        slot = plant % HASHES_PER_IMAGE
        if plant % 2:
            hashes[i, slot] = _flipped(rng, hashes[i - 1, 0], threshold)
        else:
            hashes[i, 0] = _flipped(rng, hashes[i - 1, slot], threshold)
    return hashes


def table_of(hashes: np.ndarray) -> HashTable:
    n = len(hashes)
    return HashTable(keys=tuple(range(n)), ids=tuple(range(n)), hashes=hashes,
                     scopes=np.zeros(n, dtype=np.int32), pixels=np.ones(n, dtype=np.int64),
                     colour=np.ones(n, dtype=bool), encoding=np.zeros(n, dtype=np.int8),
                     file_size=np.zeros(n, dtype=np.int64))


def project_pairs(hashes, threshold):
    start = time.perf_counter()
    found = {(i, j) for i, j, _ in near_duplicate_pairs(table_of(hashes), threshold, 0, len(hashes))}
    return found, time.perf_counter() - start


def reference_pairs(hashes, threshold):
    """The definition, row by row: row i's full hash against every hash of every later row, and
    every later row's full hash against row i's crop hashes."""
    start = time.perf_counter()
    found = set()
    for i in range(len(hashes) - 1):
        later = hashes[i + 1:]
        full_against_all = np.bitwise_count(hashes[i, 0] ^ later).min(axis=1)
        crops_against_full = np.bitwise_count(hashes[i, 1:] ^ later[:, :1]).min(axis=1)
        close = np.nonzero(np.minimum(full_against_all, crops_against_full) <= threshold)[0]
        found.update((i, i + 1 + int(c)) for c in close)
    return found, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--threshold", type=int, default=8)
    args = parser.parse_args()
    hashes = planted_hashes(2 * args.n, args.threshold, seed=0)
    at_n = hashes[:args.n]
    image_pairs = args.n * (args.n - 1) / 2
    hash_pairs = image_pairs * table_of(at_n).hash_pairs_per_image_pair
    found, seconds = project_pairs(at_n, args.threshold)
    expected, reference_seconds = reference_pairs(at_n, args.threshold)
    _, seconds_2n = project_pairs(hashes, args.threshold)
    figures = {
        "n": args.n, "threshold": args.threshold, "hashes_per_image": HASHES_PER_IMAGE,
        "pairs_found": len(found), "pairs_reference": len(expected), "same_pairs": found == expected,
        "hash_pairs_per_second_per_core": round(hash_pairs / seconds),
        "image_pairs_per_second_per_core": round(image_pairs / seconds),
        "reference_hash_pairs_per_second": round(hash_pairs / reference_seconds),
        "speedup_vs_reference": round(reference_seconds / seconds, 2),
        "wall_seconds_n": round(seconds, 2), "wall_seconds_2n": round(seconds_2n, 2),
        "ratio_2n_over_n": round(seconds_2n / seconds, 2),
    }
    print(f"N={args.n} images, {HASHES_PER_IMAGE} hashes each: {len(found)} pairs in {seconds:.2f} s "
          f"({figures['hash_pairs_per_second_per_core']:.3g} hash pairs/s, "
          f"{figures['image_pairs_per_second_per_core']:.3g} image pairs/s on one core); reference "
          f"{len(expected)} pairs in {reference_seconds:.2f} s; same pairs: {found == expected}")
    print(f"2N={2 * args.n}: {seconds_2n:.2f} s ({figures['ratio_2n_over_n']}x N: all pairs grow as N^2)")
    print(json.dumps(figures))
    if found != expected:
        sys.exit("dedup_bench: the kernel's pairs differ from the reference's")


if __name__ == "__main__":
    main()
