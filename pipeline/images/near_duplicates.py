"""Exact all-pairs search for near-duplicate perceptual hashes, and clustering of the matches.

Each image has K 64-bit hashes: its full pHash, then the pHashes of parts of it (central crops,
one side cut; phash.CROP_BOXES). Two images are near duplicates when the full hash of one is
within the Hamming threshold of any hash of the other: a crop B of A hashes like the matching
part of A. Crop hashes are never compared with each other, which would only add false matches.

Every such pair is found (recall 1.0 by construction): the search is a cache-blocked brute
force, XOR plus popcount on uint64 (2K - 1 hash pairs per image pair), which numpy runs at
hundreds of millions of hash pairs per second per core. Blocks of query rows are independent,
so a pipeline can spread them over workers.
"""
import dataclasses
import functools
import typing

import numpy as np

BLOCK_ROWS = 64
BLOCK_COLUMNS = 4096


# What a copy's format says of its pixels: lossless files hold them exactly; of lossy ones, JPEG
# is what cameras write, and WebP, GIF and the rest are what copies are usually re-encoded into.
LOSSLESS_FORMATS = frozenset({"PNG", "TIFF", "BMP", "PPM"})
CAMERA_FORMATS = frozenset({"JPEG", "MPO"})
LOSSLESS, CAMERA, RE_ENCODED = 2, 1, 0


def encoding(fmt: str) -> int:
    return LOSSLESS if fmt in LOSSLESS_FORMATS else CAMERA if fmt in CAMERA_FORMATS else RE_ENCODED


@dataclasses.dataclass(frozen=True)
class Copy:
    """What decides which copy of an image is kept: colour over greyscale, then more pixels, then
    a lossless format, then JPEG over other lossy formats, then more bytes (at the same pixel
    count: more bytes per pixel, less compressed), then the smallest uri."""
    uri: str
    colour: bool = True
    pixels: int = 1
    encoding: int = RE_ENCODED  # encoding(format)
    file_size: int = 0

    @classmethod
    def of(cls, image) -> "Copy":
        """The Copy of a records.HashedImage."""
        return cls(image.uri, bool(image.colour), image.pixels, encoding(image.format), image.file_size)

    @property
    def preference(self) -> tuple:
        """Smaller is better; the uri makes it a total order."""
        return (not self.colour, -self.pixels, -self.encoding, -self.file_size, self.uri)


def kept_because(keeper: Copy, other: Copy) -> str:
    """The rule by which ``keeper`` is kept rather than ``other``: the first preference that
    differs ("colour", "more pixels", "lossless", "original format", "less compressed", "smaller
    uri"), or "same file" when a source listed one file twice."""
    for rule, mine, theirs in zip(("colour", "more pixels", "encoding", "less compressed", "smaller uri"),
                                  keeper.preference, other.preference):
        if mine != theirs:
            return rule if rule != "encoding" else "lossless" if keeper.encoding == LOSSLESS else "original format"
    return "same file"


def hash_values(hex_hashes) -> tuple:
    """64-bit ints of hex hashes (the full pHash first). Parsed per image, so a malformed hash
    fails its own image rather than the table."""
    values = tuple(int(h, 16) for h in hex_hashes)
    if not values or any(not 0 <= v < 2 ** 64 for v in values):
        raise ValueError(f"not 64-bit hashes: {hex_hashes!r}")
    return values


class Row(typing.NamedTuple):
    """One image of the table: its uri, hash_values, scope name, sha256 and Copy."""
    uri: str
    hashes: tuple
    scope: str
    sha256: str
    copy: Copy


@dataclasses.dataclass(frozen=True)
class HashTable:
    """The comparable images' hashes, one row per image, sorted by key for deterministic rows."""
    keys: tuple          # image uri: unique per row of a scope (two sources may list one file)
    ids: tuple           # sha256 of the image bytes
    hashes: np.ndarray   # (N, K) uint64: column 0 the full-image pHash, then the crop hashes
    scopes: np.ndarray   # int32 scope code; rows only match rows of the same scope
    pixels: np.ndarray   # int64 pixel count
    colour: np.ndarray   # bool
    encoding: np.ndarray  # int8 encoding(format)
    file_size: np.ndarray  # int64 bytes
    scope_names: tuple = ()  # scope name of each code

    @classmethod
    def build(cls, rows):
        """``rows``: iterable of Row. An image with fewer hashes than the others has the missing
        ones filled with its full hash, so it is compared as the full image it is."""
        rows = sorted(rows, key=lambda r: (r.uri, r.scope, r.sha256))
        code = {name: i for i, name in enumerate(sorted({r.scope for r in rows}))}
        k = max((len(r.hashes) for r in rows), default=1)
        copies = [r.copy for r in rows]
        return cls(keys=tuple(r.uri for r in rows), ids=tuple(r.sha256 for r in rows),
                   hashes=np.array([h + h[:1] * (k - len(h)) for h in (list(r.hashes) for r in rows)],
                                   dtype=np.uint64).reshape(-1, k),
                   scopes=np.array([code[r.scope] for r in rows], dtype=np.int32),
                   pixels=np.array([c.pixels for c in copies], dtype=np.int64),
                   colour=np.array([c.colour for c in copies], dtype=bool),
                   encoding=np.array([c.encoding for c in copies], dtype=np.int8),
                   file_size=np.array([c.file_size for c in copies], dtype=np.int64), scope_names=tuple(code))

    def __len__(self):
        return len(self.keys)

    @functools.cached_property
    def row_of(self) -> dict:
        """(uri, scope name) -> row."""
        return {(key, self.scope_names[code]): row for row, (key, code) in enumerate(zip(self.keys, self.scopes))}

    @functools.cached_property
    def columns(self) -> np.ndarray:
        """(K, N): each kind of hash contiguous, as the search reads a tile of columns."""
        return np.ascontiguousarray(self.hashes.T)

    @property
    def hash_pairs_per_image_pair(self) -> int:
        """Full against all K of the other, and the other's full against the K - 1 crops."""
        return 2 * self.hashes.shape[1] - 1

    def hex_hashes(self, row: int) -> tuple:
        return tuple(f"{int(h):016x}" for h in self.hashes[row])

    def copy(self, row: int) -> Copy:
        return Copy(self.keys[row], bool(self.colour[row]), int(self.pixels[row]), int(self.encoding[row]),
                    int(self.file_size[row]))


def closest_match(a: tuple, b: tuple) -> tuple:
    """(distance, slot of a, slot of b) of the closest compared pair of two images' hex hashes
    (full first): full of a against every hash of b, full of b against every crop of a. At most
    one slot is not 0; ties go to full hashes, then to the earlier crop."""
    full_a, full_b = int(a[0], 16), int(b[0], 16)
    compared = [((full_a ^ int(h, 16)).bit_count(), 0, k) for k, h in enumerate(b)]
    compared += [((full_b ^ int(h, 16)).bit_count(), k, 0) for k, h in enumerate(a) if k]
    return min(compared, key=lambda c: (c[0], c[1] + c[2], c[1]))


class _Tile:
    """Reused buffers of one BLOCK_ROWS x BLOCK_COLUMNS tile (2 MB of XORs stays in cache)."""

    def __init__(self):
        shape = (BLOCK_ROWS, BLOCK_COLUMNS)
        self.xor, self.distance = np.empty(shape, dtype=np.uint64), np.empty(shape, dtype=np.uint8)
        self.closest, self.close = np.empty(shape, dtype=np.uint8), np.empty(shape, dtype=bool)

    def closest_distances(self, query: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """[r, c]: the smallest distance between the full hash of query row r and any hash of
        column c, or the full hash of column c and any crop hash of row r."""
        h, w = query.shape[0], columns.shape[1]
        xor, distance, closest = self.xor[:h, :w], self.distance[:h, :w], self.closest[:h, :w]
        np.bitwise_xor(query[:, :1], columns[:1], out=xor)
        np.bitwise_count(xor, out=closest)
        for k in range(1, query.shape[1]):
            for rows, cols in ((query[:, :1], columns[k:k + 1]), (query[:, k:k + 1], columns[:1])):
                np.bitwise_xor(rows, cols, out=xor)
                np.bitwise_count(xor, out=distance)
                np.minimum(closest, distance, out=closest)
        return closest


def _close_in_tiles(table: HashTable, threshold: int, start: int, stop: int):
    """Per tile, the (i, j, distance) arrays of its pairs with start <= i < stop, i < j, same scope
    and closest_match distance <= threshold. Scopes are only compared for the rare pairs within
    the threshold."""
    hashes, columns, n = table.hashes, table.columns, len(table)
    tile = _Tile()
    for lo in range(start, stop, BLOCK_ROWS):
        hi = min(stop, lo + BLOCK_ROWS)
        # Only columns after the tile's first row: each pair is compared once.
        for left in range(lo + 1, n, BLOCK_COLUMNS):
            right = min(n, left + BLOCK_COLUMNS)
            closest = tile.closest_distances(hashes[lo:hi], columns[:, left:right])
            close = np.less_equal(closest, threshold, out=tile.close[:hi - lo, :right - left])
            if not close.any():
                continue
            r, c = np.nonzero(close)
            i, j = r + lo, c + left
            keep = (i < j) & (table.scopes[i] == table.scopes[j])
            yield i[keep], j[keep], closest[r[keep], c[keep]]


def near_duplicate_pairs(table: HashTable, threshold: int, start: int, stop: int):
    """Yield (i, j, distance) with start <= i < stop, i < j, same scope, and the closest_match
    distance of rows i and j <= threshold."""
    for i, j, distance in _close_in_tiles(table, threshold, start, stop):
        yield from zip(i.tolist(), j.tolist(), distance.tolist())


def _roots(parent: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The root of each of ``rows`` (parent[r] <= r, so pointers only go down)."""
    while True:
        up = parent[rows]
        if np.array_equal(up, rows):
            return rows
        rows = up


def _union(parent: np.ndarray, a: np.ndarray, b: np.ndarray):
    """Join rows a[k] and b[k] for every k, in place: each round hooks every root still apart from
    its partner's onto the smallest such root, so the number of roots falls every round."""
    while a.size:
        ra, rb = _roots(parent, a), _roots(parent, b)
        apart = ra != rb
        a, b = np.maximum(ra[apart], rb[apart]), np.minimum(ra[apart], rb[apart])
        np.minimum.at(parent, a, b)


def near_duplicate_links(table: HashTable, threshold: int, start: int, stop: int) -> list:
    """The pairs near_duplicate_pairs(table, threshold, start, stop) finds, reduced as they are
    found to (row, root) links: each row they join to a smaller one, with the smallest row of
    its component. At most one link per row, so memory is linear in the rows, whatever the
    number of pairs (N identical hashes are N^2 / 2 pairs, N - 1 links); the components, and so
    cluster_keepers, are those of the pairs."""
    n = len(table)
    parent = np.arange(n, dtype=np.int64)
    for i, j, _ in _close_in_tiles(table, threshold, start, stop):
        _union(parent, i, j)
    joined = np.nonzero(parent != np.arange(n))[0]
    return [(int(row), int(root)) for row, root in zip(joined, _roots(parent, joined))]


def _root(parent: list, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def cluster_keepers(table: HashTable, pairs) -> dict:
    """Map each clustered row to its cluster's keeper row: the best Copy (Copy.preference).

    ``pairs``: (i, j, ...) tuples (near_duplicate_pairs' triples, near_duplicate_links' pairs),
    consumed one by one into a union-find, so a generator of them is never held whole. Clusters
    are the connected components of the match graph, so the result does not depend on the order
    in which pairs arrive, nor on whether they come as pairs or links.
    """
    parent = list(range(len(table)))
    for i, j, *_ in pairs:
        a, b = _root(parent, i), _root(parent, j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members = {}
    for i in range(len(table)):
        members.setdefault(_root(parent, i), []).append(i)
    keepers = {}
    for rows in members.values():
        if len(rows) > 1:
            keeper = min(rows, key=lambda r: table.copy(r).preference)
            keepers.update({r: keeper for r in rows})
    return keepers
