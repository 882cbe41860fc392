"""WriteShards: samples to Parquet shards per task and split, plus images.parquet, rejects/,
report.json and the dataset card, all under OUT through Beam's FileSystems.

Files are named the Hugging Face way (``data/<task>/<split>-00000-of-00002.parquet``). Shards
are sized by bytes (``output.shard_mb``, ``output.rows_per_shard``); a sample's shard is fixed by
its id and rows are sorted by id, so reruns write identical files. With ``output.images:
shared`` each source image is written once into ``image_table/`` first, and a sample whose image
could not go there is rejected rather than left pointing at nothing.
"""
import collections
import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import AsDict, AsSingleton

from ..output import report as facts
from ..output.card import render_card
from ..output.parquet import write_jsonl, write_parquet
from ..output.shortcut_report import ShortcutTotals
from ..output.sharding import cut_into_shards, stored_bytes
from ..records import image_entry
from ..schemas import load_schema
from ..sources import read_unchanged_image
from ..storage import write_text
from .base import REJECTS, sample_subject, to_rejects
from .derived_images import read_derived
from .parallel import PooledFn, in_order, thread_pool, windowed

STAGE = "write_shards"
REJECT_STAGES = tuple(load_schema("reject")["properties"]["stage"]["enum"])


def shard_path(output: str, task: str, split: str, shard: int, shards: int) -> str:
    return FileSystems.join(output, "data", task, f"{split}-{shard:05d}-of-{shards:05d}.parquet")


def table_path(output: str, shard: int, shards: int) -> str:
    return FileSystems.join(output, "image_table", f"images-{shard:05d}-of-{shards:05d}.parquet")


class _CutIntoShards(beam.PTransform):
    """(group, (key, bytes)) -> {key: (group, shard, shards)}: each group's rows cut into shards
    by bytes (``output.sharding``); only keys and sizes travel, never the rows."""

    def __init__(self, settings: dict):
        super().__init__()
        self.settings = settings

    def expand(self, sizes):
        return (sizes
                | "PerGroup" >> beam.GroupByKey()
                | "Cut" >> beam.FlatMapTuple(lambda group, pairs: [
                    (key, (*group, shard, shards)) for key, shard, shards in cut_into_shards(pairs, self.settings)]))


def _source_images(sample: dict):
    """(sha256, (uri, file_size)) of each source image the sample shows."""
    for known in sample["image_facts"]:
        if not known["derived_from"]:
            yield known["sha256"], (known["uri"], known["file_size"])


def _with_bytes(sample: dict, embed: bool, derived_folder) -> dict:
    """The sample with the image bytes its row holds read again (samples travel without them):
    derived images' always, from where Draft kept them (stages/derived_images.py), source
    images' when ``embed``."""
    derived = read_derived(derived_folder, [known for image, known in zip(sample["images"], sample["image_facts"])
                                            if image["bytes"] is None])
    images = []
    for image, known in zip(sample["images"], sample["image_facts"]):
        if image["bytes"] is None and known["derived_from"]:
            image = image_entry(known, derived[known["sha256"]])
        elif image["bytes"] is None and embed:
            image = image_entry(known, read_unchanged_image(known["uri"], known["sha256"]))
        images.append(image)
    return dict(sample, images=images)


def _without_bytes(sample: dict) -> dict:
    return dict(sample, images=[image_entry(facts, None) for facts in sample["image_facts"]])


class WriteShardFn(PooledFn):
    """Writes one shard per element, its rows sorted by id. A sample whose source image can no
    longer be read as the build hashed it (changed or gone since), or did not reach the shared
    image table, is left out and rejected; the samples written come out (without their bytes)
    for report.json to count, so its counts are the shards'. Shards are written side by side,
    one per core (a second pool: a shard's writer waits on the first one, which reads its
    images), each file's rows in id order whatever the number of threads."""

    stage, progress_label, progress_unit = STAGE, "writing shards", "samples"

    def __init__(self, output: str, embed: bool, derived_folder, threads=None, progress_seconds=None):
        super().__init__(threads, progress_seconds)
        self.output, self.embed, self.derived_folder = output, embed, derived_folder

    def setup(self):
        super().setup()
        self.writers, _ = thread_pool(self.threads, f"{STAGE}_files")

    def teardown(self):
        if self.writers:
            self.writers.shutdown()
        super().teardown()

    def start_bundle(self):
        self.pending = collections.deque()

    def process(self, keyed, total: int, missing=None):
        self.expect(total)
        if self.writers is None:
            yield from self._outputs(*self._write_shard(keyed, missing or {}))
            return
        self.pending.append(self.writers.submit(self._write_shard, keyed, missing or {}))
        while self.pending and self.pending[0].done():
            yield from self._outputs(*self.pending.popleft().result())

    def finish_bundle(self):
        while self.pending:
            for output in self._outputs(*self.pending.popleft().result()):
                yield windowed(output)

    def _write_shard(self, keyed, missing: dict) -> tuple:
        """Writes one shard; returns (samples written, [(sample, why) refused]). No Beam calls:
        it runs on a writer thread."""
        key, rows = keyed
        written, refused = [], []
        ordered = sorted(rows, key=lambda s: s["id"])
        write_parquet(shard_path(self.output, *key), self._rows(ordered, missing, written, refused), "sample")
        return written, refused

    @staticmethod
    def _outputs(written: list, refused: list):
        """On the DoFn's thread, where Beam counts the rejects."""
        yield from written
        for sample, detail in refused:
            yield to_rejects(sample_subject(sample).reject(STAGE, "unreadable", detail))

    def _rows(self, ordered, missing: dict, written: list, refused: list):
        def filled(sample):
            """(row, None), or (None, why the sample cannot be written); runs on a pool thread."""
            lost = [missing[sha256] for sha256, _ in _source_images(sample) if sha256 in missing]
            if lost:
                return None, lost[0]   # the image table's reason, already "<exception>: <message>"
            try:
                return _with_bytes(sample, self.embed, self.derived_folder), None
            except (ValueError, OSError) as exc:
                return None, f"{exc.__class__.__name__}: {exc}"

        for sample, (row, problem) in zip(ordered, in_order(self.pool, filled, ordered, self.in_flight)):
            if self.progress:
                self.progress.advance()
            if problem:
                refused.append((sample, problem))
                continue
            written.append(_without_bytes(sample))
            yield row


class WriteImageTableFn(beam.DoFn):
    """Writes one shard of the shared image table, rows sorted by sha256; yields (sha256,
    detail) for each image that can no longer be read as the build hashed it."""

    def __init__(self, output: str):
        self.output = output

    def process(self, keyed):
        key, images = keyed
        missing = []
        write_parquet(table_path(self.output, *key), self._rows(sorted(images), missing), "image_table")
        yield from missing

    @staticmethod
    def _rows(images, missing: list):
        for sha256, (uri, _) in images:
            try:
                data = read_unchanged_image(uri, sha256)
            except (ValueError, OSError) as exc:
                missing.append((sha256, f"{exc.__class__.__name__}: {exc}"))
                continue
            yield {"sha256": sha256, "image": image_entry({"uri": uri, "sha256": sha256, "derived_from": None}, data)}


class _WriteImageTable(beam.PTransform):
    """Samples -> the sha256 (and why) of each of their source images that the table could not hold."""

    def __init__(self, output: str, settings: dict):
        super().__init__()
        self.output, self.settings = output, settings

    def expand(self, samples):
        images = (samples | "SourceImages" >> beam.FlatMap(_source_images)
                  | "OncePerImage" >> beam.CombinePerKey(min))
        shards = (images | "ImageSize" >> beam.MapTuple(lambda sha256, seen: ((), (sha256, seen[1])))
                  | "CutTable" >> _CutIntoShards(self.settings))
        return (images
                | "AssignTableShard" >> beam.Map(lambda image, shards: (shards[image[0]], image), AsDict(shards))
                | "CollectTableShards" >> beam.GroupByKey()
                | "WriteTableShard" >> beam.ParDo(WriteImageTableFn(self.output)))


class _WriteSamples(beam.PTransform):
    def __init__(self, output: str, settings: dict, derived_folder, threads, progress_seconds):
        super().__init__()
        self.output, self.settings, self.derived_folder = output, settings, derived_folder
        self.threads, self.progress_seconds = threads, progress_seconds

    def expand(self, samples):
        images = self.settings["images"]
        shards = (samples
                  | "SampleSize" >> beam.Map(lambda s: ((s["task"], s["split"]), (s["id"], stored_bytes(s, images))))
                  | "CutSamples" >> _CutIntoShards(self.settings))
        # The shards wait for the table so that no sample names an image the table lacks.
        missing = [AsDict(samples | "ImageTable" >> _WriteImageTable(self.output, self.settings))] \
            if images == "shared" else []
        out = (samples
               | "AssignShard" >> beam.Map(lambda s, shards: (shards[s["id"]], s), AsDict(shards))
               | "CollectShards" >> beam.GroupByKey()
               | "WriteShard" >> beam.ParDo(WriteShardFn(self.output, images == "embedded", self.derived_folder, self.threads,
                                                         self.progress_seconds),
                                            AsSingleton(samples | "CountSamples" >> beam.combiners.Count.Globally()),
                                            *missing)
               .with_outputs(REJECTS, main="written"))
        return {"written": out.written, "rejects": out[REJECTS]}


def _write_rejects(output: str, stage: str, records) -> None:
    records = sorted((r for r in records if r is not None), key=lambda r: json.dumps(r, sort_keys=True))
    write_jsonl(FileSystems.join(output, "rejects", f"{stage}.jsonl"), records)


class WriteReport(beam.DoFn):
    def __init__(self, output: str, manifest):
        self.output, self.manifest = output, manifest

    def process(self, counts, shortcuts):
        m = self.manifest
        report = facts.build_report(counts, dataset=m.name, seed=m.seed, drafter=m.drafter["kind"],
                                    threshold=m.dedup["threshold"], output=m.output, shortcuts=shortcuts,
                                    blind=m.difficulty["blind"] if m.difficulty["solver"] else None)
        write_text(FileSystems.join(self.output, "report.json"), json.dumps(report, indent=2, sort_keys=True) + "\n")
        write_text(FileSystems.join(self.output, "README.md"), render_card(report, list(m.sources)))
        yield report


class WriteShards(beam.PTransform):
    """{"samples", "images", "rejects", "listed", "contexts"} -> the report (one element).
    ``derived_folder``: where Draft kept the derived images whose bytes the samples lack (None
    when they carry them); ``threads`` and ``progress_seconds`` as for every heavy stage
    (stages/parallel.py)."""

    def __init__(self, output: str, manifest, derived_folder=None, threads=None, progress_seconds=None):
        super().__init__()
        self.output, self.manifest, self.derived_folder = output, manifest, derived_folder
        self.threads, self.progress_seconds = threads, progress_seconds

    def expand(self, pcolls):
        output = self.output
        shards = pcolls["samples"] | "Samples" >> _WriteSamples(output, self.manifest.output, self.derived_folder,
                                                                self.threads, self.progress_seconds)
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
        shortcuts = shards["written"] | "Shortcuts" >> ShortcutTotals()
        return counted | "WriteReport" >> beam.ParDo(WriteReport(output, self.manifest), AsSingleton(shortcuts))
