"""Cutting a table into Parquet shards by bytes (images included), with a cap on rows: rows
sorted by a content key (a sample's id, an image's sha256) fill shards in order, so every
shard but the last of a table is about ``output.shard_mb``, no shard is empty, and reruns cut
the same rows into the same shards."""
import json

MEGABYTE = 10**6


def stored_bytes(sample: dict, images: str) -> int:
    """About what ``sample`` weighs in its shard: the images it embeds (derived ones always,
    source ones when ``images`` is "embedded") and its text."""
    embedded = sum(f["file_size"] for f in sample["image_facts"] if f["derived_from"] or images == "embedded")
    text = len(json.dumps({k: v for k, v in sample.items() if k != "images"}, ensure_ascii=False))
    return embedded + text


def cut_into_shards(sizes, output: dict):
    """(key, shard, shards) for every (key, bytes) in ``sizes``: shards filled in key order up
    to ``output["shard_mb"]`` megabytes and ``output["rows_per_shard"]`` rows (a row larger
    than a shard gets one of its own)."""
    limit, cap = output["shard_mb"] * MEGABYTE, output["rows_per_shard"]
    shards, filled = [[]], 0
    for key, size in sorted(sizes):
        if shards[-1] and (filled + size > limit or len(shards[-1]) >= cap):
            shards.append([])
            filled = 0
        shards[-1].append(key)
        filled += size
    return [(key, shard, len(shards)) for shard, keys in enumerate(shards) for key in keys]
