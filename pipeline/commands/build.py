"""``mir build``: run the whole pipeline over a manifest."""
import argparse
import logging
import sys

from ..schemas import load_schema
from . import fail, guarded, one_line

NAME = "build"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A task's shortcut is worth a word in the summary when a strategy that never looks at the
# images beats chance by more than this, on at least this many of the task's samples.
SHORTCUT_MARGIN, SHORTCUT_MIN_SAMPLES = 0.10, 50
HELP = "build a dataset from a manifest"
ACCEPTS_EXTRA = True  # unknown --flags are Apache Beam pipeline options
PARSER_ARGS = {
    "description": "Run the whole pipeline (read, decode and hash, deduplicate, group, draft, validate, "
                   "score difficulty, write) and write OUT/data/<task>/*.parquet, OUT/images.parquet, "
                   "OUT/rejects/, OUT/report.json and OUT/README.md.",
    "epilog": "Any other --flag is passed to Apache Beam as a pipeline option, for example --runner "
              "DataflowRunner --project P --region R --temp_location gs://B/tmp --setup_file ./setup.py, or "
              "--direct_num_workers 1 (one process: on the local runner a collection of 128 MB or more is otherwise "
              "built by a worker process per core; see docs/dataflow.md). "
              "The build is written into a staging folder next to OUT and then put in OUT's place, so OUT holds "
              "the previous complete build or the new one, never a mixture; OUT must be new, empty, or (with "
              "--overwrite) a previous mir build. Exit status: 0 built, 1 the build failed, wrote no sample, drafted "
              "too few contexts (--max-failed-share) or its counts do not add up (the last three after publishing "
              "it), 2 bad manifest, arguments or output folder, or a source that is missing or unreadable "
              "(nothing published), 130 interrupted.",
    "formatter_class": argparse.RawDescriptionHelpFormatter,
}


def _seed(text: str) -> int:
    """A --seed within the range the manifest schema gives ``seed``."""
    bounds = load_schema("manifest")["properties"]["seed"]
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not bounds["minimum"] <= value <= bounds["maximum"]:
        raise argparse.ArgumentTypeError(f"{text} is outside {bounds['minimum']}..{bounds['maximum']}")
    return value


def add_arguments(parser) -> None:
    parser.add_argument("--manifest", default="data_manifest.yaml", help="build manifest (default: %(default)s)")
    parser.add_argument("--output", default="out", help="output folder or URI (default: %(default)s)")
    parser.add_argument("--seed", type=_seed, help="override the manifest's seed (the manifest schema's range)")
    parser.add_argument("--drafter", choices=["grounded", "openai"], help="override the manifest's drafter")
    llm = parser.add_argument_group("LLM drafting (override the manifest's drafter.openai, which falls back to "
                                    "OPENAI_BASE_URL and OPENAI_MODEL; the key comes from the manifest's "
                                    "api_key_file, else OPENAI_API_KEY)")
    llm.add_argument("--llm-base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    llm.add_argument("--llm-model", help="model name")
    llm.add_argument("--llm-concurrency", type=int, help="requests in flight per worker")
    llm.add_argument("--llm-timeout", type=float, help="seconds per request")
    llm.add_argument("--llm-max-retries", type=int, help="retries per request on 429, 5xx, timeouts, dropped connections")
    llm.add_argument("--no-cache", action="store_true", help="make fresh calls instead of reusing cached responses "
                                                              "(drafter and solver)")
    solver = parser.add_argument_group("Difficulty solver (override the manifest's difficulty.solver; giving a base "
                                       "URL or model turns the solver on)")
    solver.add_argument("--solver-base-url", help="OpenAI-compatible vision endpoint that answers each sample")
    solver.add_argument("--solver-model", help="solver model name")
    solver.add_argument("--solver-samples", type=int, help="answers asked per sample (default: the manifest's, 10)")
    solver.add_argument("--solver-blind-samples", type=int, metavar="N",
                        help="answers asked per sample without the images, for the blind check (default: the "
                             "manifest's difficulty.blind.samples, 5; 0 turns the check off)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the previous mir build in OUT (only the files it wrote; anything else in OUT "
                             "is kept). Without it, a build goes only into a new or empty folder")
    parser.add_argument("--max-failed-share", type=float, default=0.5, metavar="SHARE",
                        help="exit 1 (after publishing the build and its report) when more than this share of the "
                             "contexts sent to drafting was rejected there (default: %(default)s)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="threads per worker process for reading, hashing, drafting and writing (default: 1 where "
                             "the build runs a worker process per core, as a large local collection and Dataflow "
                             "do; else every core the build may use); the output is the same for every N")
    parser.add_argument("--progress-seconds", type=float, default=10.0, metavar="S",
                        help="interval of the progress lines on stderr while images are read and hashed, contexts "
                             "drafted and shards written (done/total, rate, ETA; default: %(default)g; an LLM "
                             "drafter's line keeps its manifest's progress_seconds)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--log-level", choices=LOG_LEVELS, type=str.upper, default="ERROR",
                        help="level of Apache Beam's (and mir's) logging on stderr (default: %(default)s)")
    parser.add_argument("--verbose", action="store_const", dest="log_level", const="INFO",
                        help="the same as --log-level INFO")
    parser.add_argument("--debug", action="store_true", help="show a traceback when the build fails")


def _summary(report: dict, output: str) -> str:
    images, samples = report["images"], report["samples"]
    return (f"{samples['written']} samples in {len(samples['by_task'])} tasks written to {output} "
            f"({samples['rejected']} contexts rejected); images: {images['in']} in, {images['kept']} kept, "
            f"{images['duplicate']} duplicates, {images['rejected']} rejected; "
            f"{report['timings']['wall_seconds']:.1f} s" + _llm_summary(report.get("llm"))
            + _solver_summary(report.get("solver")) + _shortcut_summary(report.get("shortcuts"))
            + _no_sample_summary(report.get("tasks_without_samples")))


def _no_sample_summary(missing) -> str:
    """Why tasks got no sample: each task that had images to use, with its reason; the tasks no
    image carries metadata for, together; tasks the sources leave out, not at all (their choice)."""
    # report.py loads Apache Beam, which only a finished build has loaded already.
    from ..output.report import NO_METADATA, REJECTED, TAKEN, TOO_FEW
    missing = missing or {}
    parts = [f"{task}: {m['why']}" for task, m in missing.items() if m["stopped"] in (TOO_FEW, TAKEN, REJECTED)]
    bare = [task for task, m in missing.items() if m["stopped"] == NO_METADATA]
    said = f"; no sample for {'; '.join(parts)}" if parts else ""
    if bare:
        said += f"; no image carries the metadata {', '.join(bare)} need{'s' if len(bare) == 1 else ''}"
    return said


def _llm_summary(llm) -> str:
    if not llm:
        return ""
    said = next(iter(llm.get("server_messages") or {}), None)
    return (f"; LLM: {llm['calls']} calls, {llm['cache_hits']} cache hits, {llm['retries']} retries, "
            f"{sum(llm['failures_by_cause'].values())} failed drafts"
            + (f" (the server said: {said})" if said else ""))


def _solver_summary(solver) -> str:
    if not solver:
        return ""
    blind = solver.get("blind")
    checked = (f", {blind['answerable']} of {blind['checked']} answerable without images "
               f"({'rejected' if blind['on_answerable'] == 'reject' else 'flagged'})") if blind else ""
    return (f"; solver: {solver['calls']} calls, {solver['cache_hits']} cache hits, {solver['scored']} samples "
            f"scored, {solver['heuristic_fallbacks']} by heuristic{checked}")


def _shortcut_summary(shortcuts) -> str:
    """The task whose shortcut beats chance by the most, when that is more than SHORTCUT_MARGIN
    on SHORTCUT_MIN_SAMPLES samples or more (and how many other tasks do too), else ""."""
    flagged = sorted(((figures["worst"]["above_chance"], task, figures)
                      for task, figures in (shortcuts or {}).get("by_task", {}).items()
                      if figures["samples"] >= SHORTCUT_MIN_SAMPLES
                      and figures["worst"]["above_chance"] > SHORTCUT_MARGIN), key=lambda f: (-f[0], f[1]))
    if not flagged:
        return ""
    _, task, figures = flagged[0]
    strategy = figures["worst"]["strategy"]
    more = f" (and {len(flagged) - 1} more task{'s' if len(flagged) > 2 else ''})" if len(flagged) > 1 else ""
    return (f"; shortcut: {strategy} right {figures['accuracy'][strategy]:.0%} against {figures['chance']:.0%} "
            f"chance on {task}{more}")


def _draft_failure_share(report: dict):
    """Contexts rejected in Draft over the contexts sent to it (None when none were)."""
    rejects = report["rejects"]
    sent = report["contexts"]["total"] - sum(rejects.get("group_contexts", {}).values())
    return sum(rejects.get("draft", {}).values()) / sent if sent else None


def _shortfall(report: dict, max_failed_share: float) -> str:
    """Why a published build still failed (exit 1), or ""."""
    broken = [name for name, check in report["conservation"].items() if not check["holds"]]
    if broken:
        return f"counts do not add up for {', '.join(broken)}: see report.json 'conservation'"
    if not report["samples"]["written"]:
        # report.py loads Apache Beam, which only a finished build has loaded already.
        from ..output.report import commonest_rejects
        reasons = commonest_rejects(report)
        return ("the build wrote no sample; " + (f"its commonest reject reasons: {'; '.join(reasons)}"
                                                 if reasons else "nothing was rejected: no task could use the images")
                + " (report.json 'rejects', 'tasks_without_samples')")
    share = _draft_failure_share(report)
    if share is not None and share > max_failed_share:
        return (f"{share:.0%} of the contexts were rejected while drafting (over --max-failed-share "
                f"{max_failed_share:g}): see rejects/draft.jsonl")
    return ""


def run(args, beam_args) -> int:
    # Apache Beam loads only when a build runs.
    from ..manifest import ManifestError
    from ..output.publish import PublishError
    from ..run import BuildError, run_build
    llm = {"base_url": args.llm_base_url, "model": args.llm_model, "concurrency": args.llm_concurrency,
           "timeout": args.llm_timeout, "max_retries": args.llm_max_retries,
           "cache": False if args.no_cache else None}
    solver = {"base_url": args.solver_base_url, "model": args.solver_model, "samples": args.solver_samples,
              "blind_samples": args.solver_blind_samples, "cache": False if args.no_cache else None}
    if not 0 <= args.max_failed_share <= 1:
        return fail("--max-failed-share must be between 0 and 1", 2)
    if args.progress_seconds <= 0:
        return fail("--progress-seconds must be more than 0", 2)
    # A failing build ends with mir's one line; Beam's own error log of it (a traceback per failed
    # bundle) shows only with --debug or a --log-level asked for.
    beam_log = logging.getLogger("apache_beam")
    level = beam_log.level
    if not args.debug and args.log_level == "ERROR":
        beam_log.setLevel(logging.CRITICAL)
    try:
        report, code = guarded(args, "build", lambda: run_build(
            args.manifest, args.output, beam_args, seed=args.seed, drafter=args.drafter, llm=llm, solver=solver,
            overwrite=args.overwrite, workers=args.workers,
            progress_seconds=None if args.quiet else args.progress_seconds),
            {(ManifestError, BuildError, PublishError): 2})
    except KeyboardInterrupt:
        return fail(f"interrupted; {args.output} is as it was before this build", 130)
    finally:
        beam_log.setLevel(level)
    if code is not None:
        return code
    if report.get("dry_run"):
        print(f"dry run on {report['runner']}: a job graph of {report['transforms']} transforms "
              f"({', '.join(report['stages'])}); nothing was run or submitted, {report['output']} is untouched")
        return 0
    for warning in report.get("warnings", []):
        print(f"mir: warning: {one_line(warning)}", file=sys.stderr)
    print(_summary(report, args.output))
    shortfall = _shortfall(report, args.max_failed_share)
    return fail(shortfall, 1) if shortfall else 0
