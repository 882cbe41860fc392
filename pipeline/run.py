"""Running a build: manifest, Beam options, a clean output folder, the pipeline, the report."""
import dataclasses
import json
import time

import apache_beam as beam
from jsonschema import Draft202012Validator
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from .build import build_pipeline
from .drafters.accounting import llm_report
from .manifest import load_manifest
from .schemas import load_schema
from .parquet_io import write_text

# What a build writes under OUT; removed first so no shard of an earlier build survives.
OUTPUTS = ("data", "rejects", "images.parquet", "report.json", "README.md")


class BuildError(ValueError):
    """Arguments a build cannot start with; the message is one line."""


def beam_options(beam_args: list) -> PipelineOptions:
    options = PipelineOptions(beam_args)
    known = options.get_all_options()
    unknown = sorted(set(options.get_all_options(retain_unknown_options=True)) - set(known))
    if unknown:
        raise BuildError(f"unknown option --{unknown[0]} (neither mir's nor Apache Beam's; see mir build --help)")
    return options


def _clear_outputs(output: str) -> None:
    stale = [FileSystems.join(output, name) for name in OUTPUTS]
    stale = [path for path in stale if FileSystems.exists(path)]
    if stale:
        FileSystems.delete(stale)


def _counters(result) -> dict:
    try:
        counters = result.metrics().query()["counters"]
    except Exception:  # not every runner reports metrics
        return {}
    return {f"{c.key.metric.namespace}.{c.key.metric.name}": c.committed or c.attempted
            for c in sorted(counters, key=lambda c: (c.key.metric.namespace, c.key.metric.name))}


def _with_llm_settings(drafter: dict, overrides: dict, output: str) -> dict:
    """drafter.openai with the command line's overrides, and the cache kept under OUT by default
    (outside what a build clears, so a rerun reuses it)."""
    settings = dict(drafter["openai"], **{k: v for k, v in (overrides or {}).items() if v is not None})
    problems = list(Draft202012Validator(load_schema("manifest")["$defs"]["openai_drafter"]).iter_errors(settings))
    if problems:
        raise BuildError(f"drafter.openai.{'.'.join(map(str, problems[0].absolute_path))}: {problems[0].message}")
    if settings["cache_location"] is None:
        settings["cache_location"] = FileSystems.join(output, "llm_cache")
    return dict(drafter, openai=settings)


def run_build(manifest_path: str, output: str, beam_args: list, *, seed=None, drafter=None, llm=None) -> dict:
    """Build, and return the report (also written to OUT/report.json). ``llm`` overrides keys of
    the manifest's drafter.openai section (None values leave them alone)."""
    manifest = load_manifest(manifest_path)
    if seed is not None:
        manifest = dataclasses.replace(manifest, seed=seed)
    if drafter is not None:
        manifest = dataclasses.replace(manifest, drafter=dict(manifest.drafter, kind=drafter))
    manifest = dataclasses.replace(manifest, drafter=_with_llm_settings(manifest.drafter, llm, output))
    options = beam_options(beam_args)
    _clear_outputs(output)
    started = time.monotonic()
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, manifest, output)
    result = pipeline.run()
    result.wait_until_finish()
    report_path = FileSystems.join(output, "report.json")
    with FileSystems.open(report_path) as f:
        report = json.load(f)
    report["timings"] = {"wall_seconds": round(time.monotonic() - started, 3)}
    report["counters"] = _counters(result)
    if manifest.drafter["kind"] == "openai":
        report["llm"] = llm_report(report["counters"], manifest.drafter["openai"])
    write_text(report_path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
