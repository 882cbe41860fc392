"""Exact all-pairs search for near-duplicate perceptual hashes, and clustering of the matches.

Every pair within the Hamming threshold is found (recall 1.0 by construction): the search is a
cache-blocked brute force over 64-bit hashes, XOR plus popcount on uint64, which numpy runs at
hundreds of millions of pairs per second per core. Blocks of query rows are independent, so a
pipeline can spread them over workers.
"""
import dataclasses
import functools

import numpy as np

BLOCK_ROWS = 64
BLOCK_COLUMNS = 4096


@dataclasses.dataclass(frozen=True)
class HashTable:
    """The comparable images' hashes, one row per image, sorted by key for deterministic rows."""
    keys: tuple          # image uri: unique per row
    ids: tuple           # sha256 of the image bytes
    hashes: np.ndarray   # uint64 perceptual hash
    scopes: np.ndarray   # int32 scope code; rows only match rows of the same scope
    pixels: np.ndarray   # int64 pixel count

    @classmethod
    def build(cls, rows):
        """``rows``: iterable of (key, phash hex, scope name, pixel count, sha256)."""
        rows = sorted(rows)
        code = {name: i for i, name in enumerate(sorted({r[2] for r in rows}))}
        return cls(keys=tuple(r[0] for r in rows), ids=tuple(r[4] for r in rows),
                   hashes=np.array([int(r[1], 16) for r in rows], dtype=np.uint64),
                   scopes=np.array([code[r[2]] for r in rows], dtype=np.int32),
                   pixels=np.array([r[3] for r in rows], dtype=np.int64))

    def __len__(self):
        return len(self.keys)

    @functools.cached_property
    def row_of(self) -> dict:
        return {key: row for row, key in enumerate(self.keys)}

    def phash(self, row: int) -> str:
        return f"{int(self.hashes[row]):016x}"


def near_duplicate_pairs(table: HashTable, threshold: int, start: int, stop: int):
    """Yield (i, j, distance) with start <= i < stop, i < j, same scope, distance <= threshold.

    Tiles of BLOCK_ROWS x BLOCK_COLUMNS pairs (2 MB of XORs) stay in cache, and their buffers
    are reused; scopes are only compared for the rare pairs within the threshold."""
    hashes, n = table.hashes, len(table)
    xor = np.empty((BLOCK_ROWS, BLOCK_COLUMNS), dtype=np.uint64)
    distance = np.empty((BLOCK_ROWS, BLOCK_COLUMNS), dtype=np.uint8)
    close = np.empty((BLOCK_ROWS, BLOCK_COLUMNS), dtype=bool)
    for lo in range(start, stop, BLOCK_ROWS):
        hi = min(stop, lo + BLOCK_ROWS)
        rows = hashes[lo:hi, None]
        # Only columns after the tile's first row: each pair is compared once.
        for left in range(lo + 1, n, BLOCK_COLUMNS):
            right = min(n, left + BLOCK_COLUMNS)
            x, d, c = xor[:hi - lo, :right - left], distance[:hi - lo, :right - left], close[:hi - lo, :right - left]
            np.bitwise_xor(rows, hashes[None, left:right], out=x)
            np.bitwise_count(x, out=d)
            np.less_equal(d, threshold, out=c)
            if not c.any():
                continue
            for r, col in zip(*np.nonzero(c)):
                i, j = lo + int(r), left + int(col)
                if i < j and table.scopes[i] == table.scopes[j]:
                    yield i, j, int(d[r, col])


def _root(parent: list, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def cluster_keepers(table: HashTable, pairs) -> dict:
    """Map each clustered row to its cluster's keeper row: the largest image, then the smallest
    sha256, then the smallest uri.

    Clusters are the connected components of the match graph, so the result does not depend
    on the order in which pairs arrive.
    """
    parent = list(range(len(table)))
    for i, j, _ in pairs:
        a, b = _root(parent, i), _root(parent, j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members = {}
    for i in range(len(table)):
        members.setdefault(_root(parent, i), []).append(i)
    keepers = {}
    for rows in members.values():
        if len(rows) > 1:
            keeper = min(rows, key=lambda r: (-int(table.pixels[r]), table.ids[r], table.keys[r]))
            keepers.update({r: keeper for r in rows})
    return keepers
