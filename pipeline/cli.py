"""The ``mir`` command line."""
import argparse
import logging
import sys

from . import __version__

BUILD_EPILOG = """Any other --flag is passed to Apache Beam as a pipeline option, for example
--runner DataflowRunner --project P --region R --temp_location gs://B/tmp --setup_file ./setup.py,
or --direct_num_workers 2 --direct_running_mode multi_processing for a parallel local run.
Exit status: 0 built, 1 the build failed or its counts do not add up, 2 bad manifest or arguments."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mir", description="Build and check MIR-style multi-image reasoning datasets.")
    parser.add_argument("--version", action="version", version=f"mir {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build = commands.add_parser(
        "build", help="build a dataset from a manifest", epilog=BUILD_EPILOG,
        description="Run the whole pipeline (read, decode and hash, deduplicate, group, draft, validate, "
                    "score difficulty, write) and write OUT/data/<task>/*.parquet, OUT/images.parquet, "
                    "OUT/rejects/, OUT/report.json and OUT/README.md.")
    build.add_argument("--manifest", default="data_manifest.yaml", help="build manifest (default: %(default)s)")
    build.add_argument("--output", default="out", help="output folder or URI (default: %(default)s)")
    build.add_argument("--seed", type=int, help="override the manifest's seed")
    build.add_argument("--drafter", choices=["grounded"], help="override the manifest's drafter")
    build.add_argument("--verbose", action="store_true", help="show Beam's progress logging")
    build.add_argument("--debug", action="store_true", help="show a traceback when the build fails")
    return parser


def _fail(message: str, code: int) -> int:
    print(f"mir: {message}", file=sys.stderr)
    return code


def main(argv=None) -> int:
    args, beam_args = _parser().parse_known_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command == "build":
        from .run import BuildError, run_build
        from .manifest import ManifestError
        try:
            report = run_build(args.manifest, args.output, beam_args, seed=args.seed, drafter=args.drafter)
        except (ManifestError, BuildError) as exc:
            return _fail(str(exc), 2)
        except Exception as exc:  # the one-line contract: the traceback only on request
            if args.debug:
                raise
            return _fail(f"build failed: {exc.__class__.__name__}: {exc} (rerun with --debug for details)", 1)
        print(_summary(report, args.output))
        broken = [name for name, check in report["conservation"].items() if not check["holds"]]
        if broken:
            return _fail(f"counts do not add up for {', '.join(broken)}: see report.json 'conservation'", 1)
        return 0
    return 2


def _summary(report: dict, output: str) -> str:
    images, samples = report["images"], report["samples"]
    return (f"{samples['written']} samples in {len(samples['by_task'])} tasks written to {output} "
            f"({samples['rejected']} contexts rejected); images: {images['in']} in, {images['kept']} kept, "
            f"{images['duplicate']} duplicates, {images['rejected']} rejected; "
            f"{report['timings']['wall_seconds']:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
