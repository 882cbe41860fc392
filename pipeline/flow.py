"""The whole flow of DESIGN.md as one Beam pipeline."""
import apache_beam as beam

from .output.audit import rejected_row
from .output.publish import scratch_folder
from .stages.decode_and_hash import DecodeAndHash
from .stages.deduplicate import Deduplicate
from .stages.draft import Draft
from .stages.group_contexts import GroupContexts
from .stages.read_sources import ReadSources
from .stages.score_difficulty import ScoreDifficulty
from .stages.validate import Validate
from .stages.write_shards import WriteShards


def build_pipeline(pipeline, manifest, output: str, *, threads=None, progress_seconds=None):
    """Add every stage to ``pipeline``; returns the PCollection holding the report. ``threads``:
    threads per worker process of the heavy stages (None: its cores; stages/parallel.py);
    ``progress_seconds``: interval of their progress lines (None: no lines)."""
    sources = {s.name: s for s in manifest.sources}
    listed = pipeline | "ReadSources" >> ReadSources(manifest.sources)
    decoded = listed["images"] | "DecodeAndHash" >> DecodeAndHash(**manifest.decode, threads=threads,
                                                                  progress_seconds=progress_seconds)
    deduped = decoded["images"] | "Deduplicate" >> Deduplicate(
        {name: s.dedup_scope for name, s in sources.items()}, manifest.dedup["threshold"])
    grouped = deduped["images"] | "GroupContexts" >> GroupContexts(sources, manifest.seed, manifest.grouping)
    # Derived images wait in a scratch folder between Draft and WriteShards, unless a solver
    # looks at the images before WriteShards: they then travel with their bytes.
    derived = None if manifest.difficulty["solver"] else scratch_folder(output, "derived")
    drafted = grouped["contexts"] | "Draft" >> Draft(manifest.drafter, sources, manifest.seed, manifest.decode,
                                                     threads=threads, progress_seconds=progress_seconds,
                                                     derived_folder=derived)
    validated = drafted["samples"] | "Validate" >> Validate()
    scored = validated["samples"] | "ScoreDifficulty" >> ScoreDifficulty(manifest.difficulty)

    # An image rejected before or during dedup has no other images.parquet row; one that GroupContexts
    # rejects has its "kept" row already.
    image_rejects = ((listed["rejects"], decoded["rejects"], deduped["rejects"])
                     | "ImageStageRejects" >> beam.Flatten()
                     | "ImageRejectsOnly" >> beam.Filter(lambda r: r["subject_kind"] == "image")
                     | "RejectedImageRows" >> beam.Map(rejected_row))
    return {
        "samples": scored["samples"],
        "images": (deduped["audit"], image_rejects) | "ImageRows" >> beam.Flatten(),
        "rejects": ((listed["rejects"], decoded["rejects"], deduped["rejects"], grouped["rejects"],
                     drafted["rejects"], validated["rejects"], scored["rejects"])
                    | "AllRejects" >> beam.Flatten()),
        "listed": listed["images"],
        "contexts": grouped["made"],
    } | "WriteShards" >> WriteShards(output, manifest, derived, threads=threads, progress_seconds=progress_seconds)
