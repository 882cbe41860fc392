"""Running a build: manifest, Beam options, a clean output folder, the pipeline, the report."""
import contextlib
import dataclasses
import json
import os
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TestOptions
from jsonschema import Draft202012Validator

from .flow import build_pipeline
from .difficulty.solver import load_solver_prompt
from .drafters.prompting import load_prompt
from .llm.accounting import drafter_report
from .llm.preflight import PreflightFailed, check_endpoint
from .manifest import endpoint_settings, load_manifest
from .output import publish
from .output.report import tasks_without_samples
from .parallelism import WorkersError, plan
from .schemas import load_schema
from .stages.progress import BUILD_PROCESS, PROGRESS_SECONDS
from .storage import read_bytes, write_text
from .tasks import TASKS

# Listing rejects that mean a source could not be read at all (or, images_not_found, that none of
# the files it names is where it looked): the build stops (exit 2).
UNUSABLE_SOURCE = ("missing_source", "unreadable_source", "images_not_found")


class BuildError(ValueError):
    """Arguments a build cannot start with; the message is one line."""


def beam_options(beam_args: list) -> PipelineOptions:
    """Beam's options from the command line. Without ``--runner``, the local runner is Beam's
    FnApiRunner: Beam's default DirectRunner first tries its Prism runner, a binary it
    downloads at run time (and fails to fetch offline), so the same build could run on a
    different runner depending on the network."""
    options = PipelineOptions(beam_args)
    known = options.get_all_options()
    unknown = sorted(set(options.get_all_options(retain_unknown_options=True)) - set(known))
    if unknown:
        raise BuildError(f"unknown option --{unknown[0]} (neither mir's nor Apache Beam's; see mir build --help)")
    standard = options.view_as(StandardOptions)
    standard.runner = standard.runner or "FnApiRunner"
    return options


def is_dry_run(options: PipelineOptions) -> bool:
    return str(options.view_as(TestOptions).dry_run).lower() in ("true", "1", "yes")


def _dry_run(pipeline, options: PipelineOptions, output: str) -> dict:
    """The job graph only: DataflowRunner builds the job it would submit and submits nothing;
    another runner is not started at all. No source is read and OUT is not touched."""
    runner = options.view_as(StandardOptions).runner
    if runner in ("DataflowRunner", "dataflow"):
        proto = pipeline.run().job.proto_pipeline
    else:
        proto = pipeline.to_runner_api()
    transforms = proto.components.transforms
    stages = transforms[proto.root_transform_ids[0]].subtransforms
    return {"dry_run": True, "runner": runner, "output": output, "transforms": len(transforms),
            "stages": sorted(transforms[s].unique_name for s in stages)}


def _missing_sources(manifest) -> list:
    return [f"source {s.name!r}: {s.location} does not exist" for s in manifest.sources
            if not FileSystems.exists(s.location)]


def _unusable_sources(staging: str) -> list:
    """The read_sources rejects of the build in ``staging`` that mean a source could not be read."""
    lines = read_bytes(FileSystems.join(staging, "rejects", "read_sources.jsonl")).decode("utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["reason"] in UNUSABLE_SOURCE]


def _counters(result) -> dict:
    try:
        counters = result.metrics().query()["counters"]
    except Exception:  # not every runner reports metrics
        return {}
    return {f"{c.key.metric.namespace}.{c.key.metric.name}": c.committed or c.attempted
            for c in sorted(counters, key=lambda c: (c.key.metric.namespace, c.key.metric.name))}


def _checked_endpoint(settings: dict, section: str, output: str) -> dict:
    """Endpoint settings checked again after the command line's overrides, with the cache kept
    under OUT by default (outside what a build clears, so a rerun reuses it)."""
    problems = list(Draft202012Validator(load_schema("manifest")["$defs"]["openai_drafter"]).iter_errors(settings))
    if problems:
        raise BuildError(f"{section}.{'.'.join(map(str, problems[0].absolute_path))}: {problems[0].message}")
    if settings["api_key_file"] and not FileSystems.exists(settings["api_key_file"]):
        raise BuildError(f"{section}.api_key_file: {settings['api_key_file']} does not exist")
    return dict(settings, cache_location=settings["cache_location"] or FileSystems.join(output, "llm_cache"))


def _with_llm_settings(drafter: dict, overrides: dict, output: str) -> dict:
    """drafter.openai with the command line's overrides."""
    settings = dict(drafter["openai"], **{k: v for k, v in (overrides or {}).items() if v is not None})
    return dict(drafter, openai=_checked_endpoint(settings, "drafter.openai", output))


def _with_solver_settings(difficulty: dict, overrides: dict, output: str) -> dict:
    """difficulty with the command line's solver overrides: a base URL or model turns the solver
    on (defaults from the schema), ``samples`` sets the draws, ``blind_samples`` the blind check's
    (0: off), ``cache`` applies to a solver in use."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    samples = overrides.pop("samples", difficulty["samples"])
    if samples < 1:
        raise BuildError(f"difficulty.samples: {samples} is less than the minimum of 1")
    blind = dict(difficulty["blind"], samples=overrides.pop("blind_samples", difficulty["blind"]["samples"]))
    if blind["samples"] < 0:
        raise BuildError(f"difficulty.blind.samples: {blind['samples']} is less than the minimum of 0")
    difficulty = dict(difficulty, blind=blind)
    solver = difficulty["solver"]
    if solver is None and ("base_url" in overrides or "model" in overrides):
        solver = endpoint_settings({})
    if solver is None:
        return dict(difficulty, samples=samples)
    return dict(difficulty, samples=samples,
                solver=_checked_endpoint(dict(solver, **overrides), "difficulty.solver", output))


def run_build(manifest_path: str, output: str, beam_args: list, *, seed=None, drafter=None, llm=None,
              solver=None, overwrite: bool = False, workers=None, progress_seconds=PROGRESS_SECONDS) -> dict:
    """Build into a staging folder, publish it in OUT's place, and return the report (also in
    OUT/report.json). ``llm`` overrides keys of the manifest's drafter.openai section, ``solver``
    keys of difficulty.solver plus ``samples`` (None values leave them alone); ``overwrite``
    allows replacing a previous mir build in OUT; ``workers``: threads per worker process of the
    heavy stages (parallelism.plan); ``progress_seconds``: interval of the progress lines on
    stderr (None: none). Raises BuildError
    (nothing published) when a source is missing or unreadable, PublishError when OUT cannot
    take a build."""
    manifest = load_manifest(manifest_path)
    unreachable = _unreachable(manifest, output, probe=False)
    if unreachable:
        raise BuildError(unreachable[0])
    if seed is not None:
        manifest = dataclasses.replace(manifest, seed=seed)
    if drafter is not None:
        manifest = dataclasses.replace(manifest, drafter=dict(manifest.drafter, kind=drafter))
    manifest = dataclasses.replace(manifest, drafter=_with_llm_settings(manifest.drafter, llm, output),
                                   difficulty=_with_solver_settings(manifest.difficulty, solver, output))
    options = beam_options(beam_args)
    if is_dry_run(options):   # no source is read, so none is sized
        pipeline = beam.Pipeline(options=options)
        build_pipeline(pipeline, manifest, output, threads=_parallelism(options, beam_args, workers, ()).threads,
                       progress_seconds=progress_seconds)
        return _dry_run(pipeline, options, output)
    unreachable = _unreachable(manifest, output)
    if unreachable:
        raise BuildError(unreachable[0])
    missing = _missing_sources(manifest)
    if missing:
        raise BuildError(missing[0])
    parallel = _parallelism(options, beam_args, workers, manifest.sources)
    _preflight(manifest)
    with publish.build_lock(output):
        publish.recover(output)
        publish.check_output(output, overwrite, [(s.name, s.location) for s in manifest.sources])
        staging = publish.new_staging(output)
        try:
            return _build_and_publish(manifest, options, parallel, progress_seconds, staging, output)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                publish.discard(staging)   # nothing half-written stays beside OUT, whatever went wrong
            cause = publish.environment_error(exc)
            if cause is not None and not isinstance(exc, (BuildError, publish.PublishError)):
                raise BuildError(f"cannot write the build beside {output}: {cause.strerror or cause}; nothing was "
                                 "published") from exc
            raise


# What a request's text holds besides its prompt file, roughly: a drafter's grounded facts, and
# each image's metadata and bound sentence; a solver's question and options.
FACTS_CHARS, PER_IMAGE_CHARS, QUESTION_CHARS = 2000, 600, 1500


def _preflight(manifest) -> None:
    """One request to each LLM endpoint the build uses (llm/preflight.py): a wrong base URL, key,
    model or context window stops the build here with one line."""
    images = manifest.grouping["max_images"]
    checks = []
    if manifest.drafter["kind"] == "openai":
        longest = max(len(load_prompt(task).system) for task in TASKS)
        checks.append((manifest.drafter["openai"], "drafter.openai", longest + FACTS_CHARS + images * PER_IMAGE_CHARS))
    if manifest.difficulty["solver"]:
        checks.append((manifest.difficulty["solver"], "difficulty.solver",
                       len(load_solver_prompt().system) + QUESTION_CHARS))
    for settings, section, chars in checks:
        try:
            check_endpoint(settings, section, chars, images)
        except PreflightFailed as failed:
            raise BuildError(str(failed)) from None


def _unreachable(manifest, output: str, probe: bool = True) -> list:
    """A line for each source location and the output that no filesystem here reads (an
    unsupported scheme; with ``probe``, a filesystem whose client is missing)."""
    problems = [f"source {s.name!r}: {problem}" for s in manifest.sources
                for problem in [publish.location_problem(s.location, probe)] if problem]
    problem = publish.location_problem(output, probe)
    return problems + ([f"--output {problem}"] if problem else [])


def _parallelism(options: PipelineOptions, flags: list, workers, sources):
    try:
        return plan(options, flags, workers, sources)
    except WorkersError as exc:
        raise BuildError(str(exc)) from None


def _build_and_publish(manifest, options, parallel, progress_seconds, staging: str, output: str) -> dict:
    started = time.monotonic()
    os.environ[BUILD_PROCESS] = str(os.getpid())  # progress lines tell workers' own counts apart
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, manifest, staging, threads=parallel.threads, progress_seconds=progress_seconds)
    result = pipeline.run()
    result.wait_until_finish()
    report_path = FileSystems.join(staging, "report.json")
    with FileSystems.open(report_path) as f:
        report = json.load(f)
    unusable = _unusable_sources(staging)
    if unusable:    # the caller clears the staging folder: an incomplete dataset is not published
        first = unusable[0]
        raise BuildError(f"a source could not be read: {first['detail']}"
                         + (f" and {len(unusable) - 1} more" if len(unusable) > 1 else "")
                         + f"; nothing was published to {output}")
    report["timings"] = {"wall_seconds": round(time.monotonic() - started, 3), **parallel.report()}
    report["counters"] = _counters(result)
    report["tasks_without_samples"] = tasks_without_samples(report, report["counters"], manifest.sources,
                                                             manifest.grouping)
    if manifest.drafter["kind"] == "openai":
        report["llm"] = drafter_report(report["counters"], manifest.drafter["openai"])
    if manifest.difficulty["solver"]:
        from .difficulty.solver import solver_report  # the openai client loads only when a solver ran
        report["solver"] = solver_report(report["counters"], manifest.difficulty)
    write_text(report_path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    publish.publish(staging, output)
    return report
