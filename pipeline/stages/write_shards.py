"""WriteShards: samples to Parquet shards per task and split, plus images.parquet, rejects/,
report.json and the dataset card, all under OUT through Beam's FileSystems.

Files are named the Hugging Face way (``data/<task>/<split>-00000-of-00002.parquet``). A
sample's shard is fixed by its id, and rows are sorted by id, so reruns write identical files.
"""
import json
import math

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import AsDict

from ..output import report as facts
from ..output.card import render_card
from ..output.parquet import write_jsonl, write_parquet
from ..records import image_entry
from ..schemas import load_schema
from ..sources import read_unchanged_image
from ..storage import write_text
from .base import REJECTS, sample_subject, to_rejects

STAGE = "write_shards"
REJECT_STAGES = tuple(load_schema("reject")["properties"]["stage"]["enum"])


def shard_path(output: str, task: str, split: str, shard: int, shards: int) -> str:
    return FileSystems.join(output, "data", task, f"{split}-{shard:05d}-of-{shards:05d}.parquet")


def _assign_shard(sample, counts: dict, rows_per_shard: int):
    key = (sample["task"], sample["split"])
    shards = max(1, math.ceil(counts[key] / rows_per_shard))
    shard = int(sample["id"].rsplit("-", 1)[1], 16) % shards
    return (sample["task"], sample["split"], shard, shards), sample


def _with_source_bytes(sample: dict) -> dict:
    """The sample with its source images' bytes read again (samples travel without them)."""
    images = []
    for image, known in zip(sample["images"], sample["image_facts"]):
        if image["bytes"] is None and known["derived_from"] is None:
            image = image_entry(known, read_unchanged_image(known["uri"], known["sha256"]))
        images.append(image)
    return dict(sample, images=images)


def _without_bytes(sample: dict) -> dict:
    return dict(sample, images=[image_entry(facts, None) for facts in sample["image_facts"]])


class WriteShardFn(beam.DoFn):
    """Writes one shard, its rows sorted by id. A sample whose source image can no longer be read
    as the build hashed it (changed or gone since) is left out and rejected; the samples written
    come out (without their bytes) for report.json to count, so its counts are the shards'."""

    def __init__(self, output: str, embed: bool):
        self.output, self.embed = output, embed

    def process(self, keyed):
        key, rows = keyed
        written, refused = [], []
        write_parquet(shard_path(self.output, *key), self._rows(sorted(rows, key=lambda s: s["id"]), written, refused),
                      "sample")
        yield from written
        for sample, exc in refused:
            yield to_rejects(sample_subject(sample).reject(STAGE, "unreadable", f"{exc.__class__.__name__}: {exc}"))

    def _rows(self, ordered, written: list, refused: list):
        for sample in ordered:
            try:
                row = _with_source_bytes(sample) if self.embed else sample
            except (ValueError, OSError) as exc:
                refused.append((sample, exc))
                continue
            written.append(_without_bytes(sample))
            yield row


class _WriteSamples(beam.PTransform):
    def __init__(self, output: str, rows_per_shard: int, embed: bool):
        super().__init__()
        self.output, self.rows_per_shard, self.embed = output, rows_per_shard, embed

    def expand(self, samples):
        counts = (samples
                  | "TaskSplit" >> beam.Map(lambda s: ((s["task"], s["split"]), 1))
                  | "CountPerTaskSplit" >> beam.CombinePerKey(sum))
        out = (samples
               | "AssignShard" >> beam.Map(_assign_shard, AsDict(counts), self.rows_per_shard)
               | "CollectShards" >> beam.GroupByKey()
               | "WriteShard" >> beam.ParDo(WriteShardFn(self.output, self.embed)).with_outputs(REJECTS, main="written"))
        return {"written": out.written, "rejects": out[REJECTS]}


def _write_rejects(output: str, stage: str, records) -> None:
    records = sorted((r for r in records if r is not None), key=lambda r: json.dumps(r, sort_keys=True))
    write_jsonl(FileSystems.join(output, "rejects", f"{stage}.jsonl"), records)


class WriteReport(beam.DoFn):
    def __init__(self, output: str, manifest):
        self.output, self.manifest = output, manifest

    def process(self, counts):
        m = self.manifest
        report = facts.build_report(counts, dataset=m.name, seed=m.seed, drafter=m.drafter["kind"],
                                    threshold=m.dedup["threshold"])
        write_text(FileSystems.join(self.output, "report.json"), json.dumps(report, indent=2, sort_keys=True) + "\n")
        write_text(FileSystems.join(self.output, "README.md"), render_card(report, list(m.sources)))
        yield report


class WriteShards(beam.PTransform):
    """{"samples", "images", "rejects", "listed", "contexts"} -> the report (one element)."""

    def __init__(self, output: str, manifest):
        super().__init__()
        self.output, self.manifest = output, manifest

    def expand(self, pcolls):
        output = self.output
        shards = pcolls["samples"] | "Samples" >> _WriteSamples(output, self.manifest.output["rows_per_shard"],
                                                                self.manifest.output["embed_images"])
        rejects = (pcolls["rejects"], shards["rejects"]) | "WithShardRejects" >> beam.Flatten()
        (pcolls["images"]
         | "AllImageRows" >> beam.combiners.ToList()
         | "WriteImageTable" >> beam.Map(lambda rows: write_parquet(
             FileSystems.join(output, "images.parquet"), sorted(rows, key=lambda r: r["uri"]), "image_row")))
        # Every stage gets a rejects file, empty when it rejected nothing.
        stages = rejects.pipeline | "RejectStages" >> beam.Create([(s, None) for s in REJECT_STAGES])
        ((rejects | "KeyByStage" >> beam.Map(lambda r: (r["stage"], r)), stages)
         | "AllRejects" >> beam.Flatten()
         | "CollectRejects" >> beam.GroupByKey()
         | "WriteRejects" >> beam.MapTuple(lambda stage, records: _write_rejects(output, stage, records)))
        counted = ((pcolls["listed"] | "ListedFacts" >> beam.Map(facts.listed_fact),
                    pcolls["images"] | "ImageFacts" >> beam.FlatMap(facts.image_row_facts),
                    rejects | "RejectFacts" >> beam.FlatMap(facts.reject_facts),
                    pcolls["contexts"] | "ContextFacts" >> beam.Map(facts.context_fact),
                    shards["written"] | "SampleFacts" >> beam.FlatMap(facts.sample_facts))
                   | "AllFacts" >> beam.Flatten()
                   | "CountFacts" >> beam.CombineGlobally(facts.CountFacts()))
        return counted | "WriteReport" >> beam.ParDo(WriteReport(output, self.manifest))
