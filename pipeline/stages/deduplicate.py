"""Deduplicate: exact duplicates by sha256, then near duplicates by perceptual-hash distance.

Scope per source: ``global`` images are compared with every other global image,
``within_source`` only with their own source's, ``off`` not at all (consecutive video frames
must not delete each other). One image is kept per cluster, the best copy
(``images.near_duplicates.Copy``); every other one is recorded, with the rule that kept the
other (``kept_because``).
"""
import apache_beam as beam
from apache_beam.pvalue import AsSingleton

from ..images.near_duplicates import (Copy, HashTable, Row, closest_match, cluster_keepers, hash_values,
                                      kept_because, near_duplicate_links)
from ..output.audit import duplicate_row, kept_row
from .base import REJECTS, guarded, image_subject

STAGE = "deduplicate"
AUDIT = "audit"
# Query rows per work item: each item compares QUERY_ROWS hashes with the whole table.
QUERY_ROWS = 4096


def _scope(image, scopes: dict) -> str:
    scope = scopes[image.source]
    return f"source:{image.source}" if scope == "within_source" else scope


def _content_key(image, scopes: dict) -> str:
    scope = _scope(image, scopes)
    return f"off|{image.uri}" if scope == "off" else f"{scope}|{image.id}"


def _pick_exact(images, scopes: dict) -> tuple:
    """Of identical files (they differ only in uri: the smallest is the best Copy), keep one; the
    rest ride along with it, and so does its row of the hash table."""
    first, *rest = sorted(images, key=lambda im: Copy.of(im).preference)
    return first, tuple(rest), Row(first.uri, hash_values(_hashes(first)), _scope(first, scopes), first.id,
                                   Copy.of(first))


def _hashes(image) -> tuple:
    return (image.phash, *image.crop_hashes)


def _blocks(table: HashTable):
    return [(start, min(start + QUERY_ROWS, len(table))) for start in range(0, len(table), QUERY_ROWS)]


def _group_subjects(group) -> list:
    return [image_subject(image) for image in (group[0], *group[1])]


def _root(parent: dict, row: int) -> int:
    while parent.get(row, row) != row:
        parent[row] = parent.get(parent[row], parent[row])
        row = parent[row]
    return row


class MergeLinks(beam.CombineFn):
    """The (row, root) links of every query block merged as they arrive into one union-find
    (a dict holding only joined rows), so memory is linear in the rows however many pairs
    matched; out come the merged links, one per joined row."""

    def create_accumulator(self):
        return {}

    def add_input(self, parent: dict, link):
        a, b = _root(parent, link[0]), _root(parent, link[1])
        if a != b:
            parent[max(a, b)] = min(a, b)
        return parent

    def merge_accumulators(self, accumulators):
        merged, *rest = list(accumulators)
        for other in rest:
            for link in other.items():
                self.add_input(merged, link)
        return merged

    def extract_output(self, parent: dict) -> list:
        return sorted((row, _root(parent, row)) for row in list(parent))


class AssignStatus(beam.DoFn):
    """Emit the kept images, and an images.parquet row for every image of the group."""

    def __init__(self, threshold: int):
        self.threshold = threshold

    def process(self, group, table: HashTable, keepers: dict):
        representative, copies, hash_row = group
        row = table.row_of.get((hash_row.uri, hash_row.scope))
        keeper = keepers.get(row, row)
        if keeper == row:
            yield representative
            yield beam.pvalue.TaggedOutput(AUDIT, kept_row(representative))
            kept = representative.id, _hashes(representative), Copy.of(representative)
        else:
            kept = table.ids[keeper], table.hex_hashes(keeper), table.copy(keeper)
            yield beam.pvalue.TaggedOutput(AUDIT, self._duplicate(representative, *kept))
        for image in copies:
            yield beam.pvalue.TaggedOutput(AUDIT, self._duplicate(image, *kept))

    def _duplicate(self, image, keeper_id: str, keeper_hashes: tuple, keeper: Copy) -> dict:
        return duplicate_row(image, keeper.uri, closest_match(_hashes(image), keeper_hashes),
                             exact=image.id == keeper_id, threshold=self.threshold,
                             kept_because=kept_because(keeper, Copy.of(image)))


class Deduplicate(beam.PTransform):
    """HashedImage -> {"images": kept HashedImage, "audit": images.parquet rows, "rejects":
    rejects records (images that met an internal error)}."""

    def __init__(self, scopes: dict, threshold: int):
        super().__init__()
        self.scopes = dict(scopes)
        self.threshold = threshold

    def expand(self, images):
        scopes, threshold = self.scopes, self.threshold
        keyed = images | "KeyByContent" >> guarded(STAGE, lambda im: (_content_key(im, scopes), im),
                                                   lambda im: [image_subject(im)], main="keyed")
        exact = (keyed.keyed
                 | "ExactGroups" >> beam.GroupByKey()
                 | "PickExact" >> guarded(STAGE, lambda kv: _pick_exact(kv[1], scopes),
                                          lambda kv: [image_subject(im) for im in kv[1]], main="groups"))
        table = (exact.groups
                 # Only the row (about 250 bytes) travels to the one worker that builds the table.
                 | "HashRows" >> beam.Map(lambda group: group[2])
                 | "Comparable" >> beam.Filter(lambda row: row.scope != "off")
                 | "AllHashes" >> beam.combiners.ToList()
                 | "HashTable" >> beam.Map(HashTable.build))
        # Each block's pairs are reduced to links (one per joined row) as they are found, and the
        # links merged as they arrive: N identical hashes cost memory linear in N, not N^2 pairs.
        links = (table
                 | "QueryBlocks" >> beam.FlatMap(_blocks)
                 | "SpreadBlocks" >> beam.Reshuffle()
                 | "NearLinks" >> beam.FlatMap(lambda block, t: near_duplicate_links(t, threshold, *block),
                                               t=AsSingleton(table)))
        keepers = (links
                   | "AllLinks" >> beam.CombineGlobally(MergeLinks())
                   | "Clusters" >> beam.Map(lambda found, t: cluster_keepers(t, found), t=AsSingleton(table)))
        out = exact.groups | "Assign" >> guarded(STAGE, AssignStatus(threshold), _group_subjects, AsSingleton(table),
                                                 AsSingleton(keepers), main="images", tags=(AUDIT,))
        rejects = (keyed[REJECTS], exact[REJECTS], out[REJECTS]) | "Rejects" >> beam.Flatten()
        return {"images": out.images, "audit": out[AUDIT], "rejects": rejects}
