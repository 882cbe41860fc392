"""Deduplicate: exact duplicates by sha256, then near duplicates by perceptual-hash distance.

Scope per source: ``global`` images are compared with every other global image,
``within_source`` only with their own source's, ``off`` not at all (consecutive video frames
must not delete each other). One image is kept per cluster; every other one is recorded.
"""
import apache_beam as beam
from apache_beam.pvalue import AsSingleton

from ..images.near_duplicates import HashTable, closest_match, cluster_keepers, near_duplicate_pairs
from ..output.audit import duplicate_row, kept_row

AUDIT = "audit"
# Query rows per work item: each item compares QUERY_ROWS hashes with the whole table.
QUERY_ROWS = 4096


def _scope(image, scopes: dict) -> str:
    scope = scopes[image.source]
    return f"source:{image.source}" if scope == "within_source" else scope


def _content_key(image, scopes: dict) -> str:
    scope = _scope(image, scopes)
    return f"off|{image.uri}" if scope == "off" else f"{scope}|{image.id}"


def _pick_exact(keyed):
    """Of identical files, keep the one with the smallest uri; the rest ride along with it."""
    images = sorted(keyed[1], key=lambda im: im.uri)
    return images[0], tuple(images[1:])


def _hashes(image) -> tuple:
    return (image.phash, *image.crop_hashes)


def _blocks(table: HashTable):
    return [(start, min(start + QUERY_ROWS, len(table))) for start in range(0, len(table), QUERY_ROWS)]


class AssignStatus(beam.DoFn):
    """Emit the kept images, and an images.parquet row for every image of the group."""

    def __init__(self, threshold: int):
        self.threshold = threshold

    def process(self, group, table: HashTable, keepers: dict):
        representative, copies = group
        row = table.row_of.get(representative.uri)
        keeper = keepers.get(row, row)
        if keeper == row:
            yield representative
            yield beam.pvalue.TaggedOutput(AUDIT, kept_row(representative))
            keeper_uri, keeper_id, keeper_hashes = representative.uri, representative.id, _hashes(representative)
        else:
            keeper_uri, keeper_id, keeper_hashes = table.keys[keeper], table.ids[keeper], table.hex_hashes(keeper)
            yield beam.pvalue.TaggedOutput(AUDIT, self._duplicate(representative, keeper_uri, keeper_id, keeper_hashes))
        for image in copies:
            yield beam.pvalue.TaggedOutput(AUDIT, self._duplicate(image, keeper_uri, keeper_id, keeper_hashes))

    def _duplicate(self, image, keeper_uri: str, keeper_id: str, keeper_hashes: tuple) -> dict:
        return duplicate_row(image, keeper_uri, closest_match(_hashes(image), keeper_hashes),
                             exact=image.id == keeper_id, threshold=self.threshold)


class Deduplicate(beam.PTransform):
    """HashedImage -> {"images": kept HashedImage, "audit": images.parquet rows}."""

    def __init__(self, scopes: dict, threshold: int):
        super().__init__()
        self.scopes = dict(scopes)
        self.threshold = threshold

    def expand(self, images):
        scopes, threshold = self.scopes, self.threshold
        groups = (images
                  | "KeyByContent" >> beam.Map(lambda im: (_content_key(im, scopes), im))
                  | "ExactGroups" >> beam.GroupByKey()
                  | "PickExact" >> beam.Map(_pick_exact))
        table = (groups
                 # Only the row (about 250 bytes) travels to the one worker that builds the table.
                 | "HashRows" >> beam.Map(lambda g: (g[0].uri, _hashes(g[0]), _scope(g[0], scopes),
                                                     g[0].pixels, g[0].id))
                 | "Comparable" >> beam.Filter(lambda row: row[2] != "off")
                 | "AllHashes" >> beam.combiners.ToList()
                 | "HashTable" >> beam.Map(HashTable.build))
        pairs = (table
                 | "QueryBlocks" >> beam.FlatMap(_blocks)
                 | "SpreadBlocks" >> beam.Reshuffle()
                 | "NearPairs" >> beam.FlatMap(lambda block, t: near_duplicate_pairs(t, threshold, *block),
                                               t=AsSingleton(table)))
        keepers = (pairs
                   | "AllPairs" >> beam.combiners.ToList()
                   | "Clusters" >> beam.Map(lambda found, t: cluster_keepers(t, found), t=AsSingleton(table)))
        out = groups | "Assign" >> beam.ParDo(AssignStatus(threshold), AsSingleton(table),
                                              AsSingleton(keepers)).with_outputs(AUDIT, main="images")
        return {"images": out.images, "audit": out[AUDIT]}
