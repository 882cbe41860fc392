"""``mir preview``: a static HTML gallery of a build."""
import argparse

from . import OutputError, fail, guarded, one_line, writing

NAME = "preview"
HELP = "write a static HTML gallery of a build"
PARSER_ARGS = {
    "description": "Write DIR/index.html (samples per task and split) and a page per task showing each sample's "
                   "question with its images in reading order, the Text2Region boxes drawn on the images, the "
                   "options with the answer marked, the five reasoning steps and the difficulty.",
    "epilog": "Each sample shown is judged as by mir validate; an invalid one (a hand-edited shard) is left out "
              "with one line on stderr naming it and why. Exit status: 0 written, 1 the preview failed or left "
              "out an invalid sample, 2 OUT missing or empty, unknown task, or bad arguments.",
}


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def add_arguments(parser) -> None:
    parser.add_argument("out", metavar="OUT", help="a build's output folder or URI")
    parser.add_argument("--task", help="only this task (default: every task)")
    parser.add_argument("--limit", type=_positive, default=20, help="samples per task page (default: %(default)s)")
    parser.add_argument("--output", metavar="DIR", help="where to write the pages (default: OUT/preview)")
    parser.add_argument("--debug", action="store_true", help="show a traceback when the preview fails")


def run(args, extra) -> int:
    # Beam's FileSystems and pyarrow load only when a preview runs.
    from apache_beam.io.filesystems import FileSystems

    from ..readback.gallery import write_preview
    from ..readback.shards import ImageError, ShardsError
    from ..output.publish import PublishError, check_place
    dest = args.output or FileSystems.join(args.out.rstrip("/"), "preview")
    _, code = guarded(args, "preview", lambda: check_place(dest, "preview"), {PublishError: 2})
    if code is not None:
        return code
    written, code = guarded(args, "preview",
                            lambda: writing(lambda: write_preview(args.out, dest, task=args.task, limit=args.limit,
                                                                  left_out=lambda message: fail(message, 1)), dest),
                            {(ShardsError, OutputError): 2, ImageError: 1})
    if code is not None:
        return code
    left_out = f"; {written['left_out']} invalid samples left out" if written["left_out"] else ""
    print(one_line(f"{written['samples']} samples on {written['pages']} task pages, {written['images']} images; "
                   f"open {written['index']}{left_out}"))
    return 1 if written["left_out"] else 0
