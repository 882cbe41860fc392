"""Exact near-duplicate search: the project's blocked kernel against a plain reference.

Generates N random 64-bit hashes with planted near pairs (distance 1..threshold), finds every
pair within the threshold with ``near_duplicates.near_duplicate_pairs`` (one core) and with a
plain row-by-row reference on the same hashes, checks both find exactly the same pairs, and
times the kernel again at 2N. Last line: one JSON object with the figures.

    .venv/bin/python benchmarks/dedup_bench.py [--n 100000] [--threshold 8]
"""
import argparse
import json
import time

import numpy as np

from pipeline.near_duplicates import HashTable, near_duplicate_pairs


def planted_hashes(n: int, threshold: int, seed: int) -> np.ndarray:
    """n random hashes; every tenth is a copy of its predecessor with 1..threshold bits flipped."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64, size=n, dtype=np.uint64)
    for i in range(1, n, 10):
        bits = rng.choice(64, size=rng.integers(1, threshold + 1), replace=False)
        hashes[i] = hashes[i - 1] ^ np.bitwise_or.reduce(np.uint64(1) << bits.astype(np.uint64))
    return hashes


def table_of(hashes: np.ndarray) -> HashTable:
    n = len(hashes)
    return HashTable(keys=tuple(range(n)), ids=tuple(range(n)), hashes=hashes,
                     scopes=np.zeros(n, dtype=np.int32), pixels=np.ones(n, dtype=np.int64))


def project_pairs(hashes, threshold):
    start = time.perf_counter()
    found = {(i, j) for i, j, _ in near_duplicate_pairs(table_of(hashes), threshold, 0, len(hashes))}
    return found, time.perf_counter() - start


def reference_pairs(hashes, threshold):
    """The definition, row by row: row i against every later row."""
    start = time.perf_counter()
    found = set()
    for i in range(len(hashes) - 1):
        close = np.nonzero(np.bitwise_count(hashes[i] ^ hashes[i + 1:]) <= threshold)[0]
        found.update((i, i + 1 + int(c)) for c in close)
    return found, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--threshold", type=int, default=8)
    args = parser.parse_args()
    hashes = planted_hashes(2 * args.n, args.threshold, seed=0)
    at_n = hashes[:args.n]
    comparisons = args.n * (args.n - 1) / 2
    found, seconds = project_pairs(at_n, args.threshold)
    expected, reference_seconds = reference_pairs(at_n, args.threshold)
    _, seconds_2n = project_pairs(hashes, args.threshold)
    figures = {
        "n": args.n, "threshold": args.threshold, "pairs_found": len(found),
        "pairs_reference": len(expected), "same_pairs": found == expected,
        "pairs_per_second_per_core": round(comparisons / seconds),
        "reference_pairs_per_second": round(comparisons / reference_seconds),
        "speedup_vs_reference": round(reference_seconds / seconds, 2),
        "wall_seconds_n": round(seconds, 2), "wall_seconds_2n": round(seconds_2n, 2),
        "ratio_2n_over_n": round(seconds_2n / seconds, 2),
    }
    print(f"N={args.n}: {len(found)} pairs in {seconds:.2f} s "
          f"({figures['pairs_per_second_per_core']:.3g} pairs/s on one core); reference "
          f"{len(expected)} pairs in {reference_seconds:.2f} s; same pairs: {found == expected}")
    print(f"2N={2 * args.n}: {seconds_2n:.2f} s ({figures['ratio_2n_over_n']}x N: all pairs grow as N^2)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
