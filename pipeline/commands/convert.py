"""``mir convert``: MIR-native records to this project's samples and back."""
import argparse
import os
import sys

from ..samples.safe_input import DEFAULT_MAX_RECORD_BYTES, EXTENSIONS
from . import fail, one_line

NAME = "convert"
HELP = "convert records between the MIR-native format and this project's sample format"
PARSER_ARGS = {
    "description": "Read IN (.json, .jsonl or .parquet; records of either format), write every record in the "
                   "format --to names to OUT (.json list or .jsonl; .parquet too for samples). Records already "
                   "in that format are copied. Every record is judged first (as by mir validate, without opening "
                   "images); an invalid one is reported and left out.",
    "epilog": "To MIR: embedded images are written to --images-dir (named by their sha256) and listed relative "
              "to OUT's folder; structured Text2Region / Region2Region are rendered as readable text, and what "
              "MIR has no field for (regions, provenance, difficulty, ...) is kept under 'mir_builder' so that "
              "converting back restores it. To samples: image paths resolve under --images-root (default: IN's "
              "folder) and each image is read for its size and hashes (and embedded unless --no-embed); MIR's "
              "text2img / img2img entries are read into structured Text2Region / Region2Region wherever an "
              "entry reads whole (an image number and a box of certain scale), the rest kept verbatim in the "
              "sample's 'mir_native' field (docs/validation.md). Output: one line per problem, "
              "FILE:RECORD: JSON-PATH: message, then 'N records, N converted, N not converted'. Exit status: 0 "
              "all converted, 1 some record invalid or not convertible, 2 bad arguments or unreadable input.",
    "formatter_class": argparse.RawDescriptionHelpFormatter,
}
OUTPUT_KINDS = {".json": "json", ".jsonl": "jsonl", ".parquet": "parquet"}


def add_arguments(parser) -> None:
    parser.add_argument("--to", required=True, choices=["mir", "sample"], help="the format to write")
    parser.add_argument("input", metavar="IN", help=".json, .jsonl or .parquet file")
    parser.add_argument("output", metavar="OUT", help=".json or .jsonl file (.parquet for --to sample)")
    parser.add_argument("--images-root", metavar="DIR", help="where IN's image paths resolve (default: IN's folder)")
    parser.add_argument("--images-dir", metavar="DIR",
                        help="--to mir: where embedded images are written (default: OUT's folder/images)")
    parser.add_argument("--task", help="--to sample: the task of MIR records that do not name one")
    parser.add_argument("--split", choices=["train", "test"], default="test",
                        help="--to sample: the split of MIR records that do not name one (default: %(default)s)")
    parser.add_argument("--source", default="mir_native", help="--to sample: provenance source name (default: %(default)s)")
    parser.add_argument("--licence", default="unknown", help="--to sample: provenance licence (default: %(default)s)")
    parser.add_argument("--attribution", default="contributed in the MIR-native format",
                        help="--to sample: provenance attribution (default: %(default)s)")
    parser.add_argument("--no-embed", action="store_true", help="--to sample: do not embed image bytes")
    parser.add_argument("--max-record-mb", type=float, default=DEFAULT_MAX_RECORD_BYTES / 2 ** 20, metavar="MB",
                        help="largest record read (default: %(default)g)")


def convert(args, out) -> int:
    # Pillow, pyarrow, the judge and the schemas load only when this command runs.
    from ..samples.conversion import Converter, Writer, convert_records
    from ..samples.mir_format import SampleDefaults, task_id
    in_path, out_path = args.input, args.output
    kind = EXTENSIONS.get(os.path.splitext(in_path)[1].lower())
    out_kind = OUTPUT_KINDS.get(os.path.splitext(out_path)[1].lower())
    if kind is None:
        return fail(f"{in_path}: unsupported file type: expected .json, .jsonl or .parquet", 2)
    if out_kind is None or (out_kind == "parquet" and args.to == "mir"):
        allowed = ".json or .jsonl" if args.to == "mir" else ".json, .jsonl or .parquet"
        return fail(f"{out_path}: the output must be a {allowed} file", 2)
    if os.path.exists(out_path) and os.path.exists(in_path) and os.path.samefile(in_path, out_path):
        return fail("IN and OUT are the same file", 2)
    if args.images_root and not os.path.isdir(args.images_root):
        return fail(f"--images-root {args.images_root}: no such folder", 2)
    if args.task is not None and task_id(args.task) is None:
        return fail(f"--task {args.task}: not a task id (see schemas/source_metadata.schema.json)", 2)
    if not args.max_record_mb > 0:
        return fail("--max-record-mb must be positive", 2)

    defaults = SampleDefaults(task=args.task, split=args.split, source=args.source, licence=args.licence,
                              attribution=args.attribution, embed=not args.no_embed)
    converter = Converter(args.to, in_path, out_path, defaults, images_root=args.images_root, images_dir=args.images_dir)
    limit = max(1, int(args.max_record_mb * 2 ** 20))

    def report(number: int, path: str, message: str) -> None:
        out.write(f"{one_line(in_path)}:{number}: {one_line(path)}: {one_line(message)}\n")

    records, converted, unreadable = convert_records(in_path, kind, limit, converter, Writer(out_path, out_kind), report)
    out.write(f"{records} records, {converted} converted, {records - converted} not converted\n")
    out.flush()
    if unreadable:
        return 2
    return 0 if converted == records else 1


def run(args, extra) -> int:
    try:
        return convert(args, sys.stdout)
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except BaseException as exc:  # the contract: one line, never a traceback
        if isinstance(exc, SystemExit):
            raise
        return fail(f"convert failed: {exc.__class__.__name__}: {one_line(exc)}", 2)
