"""Cutting a table into Parquet shards by bytes (images included), with a cap on rows: rows
sorted by a content key (a sample's id, an image's sha256) go to shards in order, as few
shards as ``output.shard_mb`` and ``output.rows_per_shard`` allow, about equal in size; no
shard is empty, and reruns cut the same rows into the same shards."""
import json
import math

MEGABYTE = 10**6


def stored_bytes(sample: dict, images: str) -> int:
    """About what ``sample`` weighs in its shard: the images it embeds (derived ones always,
    source ones when ``images`` is "embedded") and its text."""
    embedded = sum(f["file_size"] for f in sample["image_facts"] if f["derived_from"] or images == "embedded")
    text = len(json.dumps({k: v for k, v in sample.items() if k != "images"}, ensure_ascii=False))
    return embedded + text


def cut_into_shards(sizes, output: dict):
    """(key, shard, shards) for every (key, bytes) in ``sizes``, in key order: the fewest shards
    of at most ``output["shard_mb"]`` megabytes and ``output["rows_per_shard"]`` rows (a row
    larger than that gets a shard of its own), filled to the smallest size that needs no more
    of them, so they come out about equal (their writers then finish together) rather than
    full ones and a small last one."""
    limit, cap = output["shard_mb"] * MEGABYTE, output["rows_per_shard"]
    ordered = sorted(sizes)
    count = len(_filled(ordered, limit, cap))
    low, high = -(-sum(size for _, size in ordered) // max(count, 1)), max(math.ceil(limit), 1)
    while low < high:   # the greedy fill needs no more shards as their size grows
        middle = (low + high) // 2
        low, high = (low, middle) if len(_filled(ordered, middle, cap)) <= count else (middle + 1, high)
    shards = _filled(ordered, min(low, limit), cap)
    return [(key, shard, len(shards)) for shard, keys in enumerate(shards) for key in keys]


def _filled(ordered: list, limit, cap: int) -> list:
    """The keys of ``ordered`` (key, bytes) pairs filling shards in order up to ``limit`` bytes
    and ``cap`` rows."""
    shards, filled = [[]], 0
    for key, size in ordered:
        if shards[-1] and (filled + size > limit or len(shards[-1]) >= cap):
            shards.append([])
            filled = 0
        shards[-1].append(key)
        filled += size
    return shards if shards[0] else []
