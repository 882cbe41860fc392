"""``mir export curriculum``: a build's samples as an easy-to-hard staged training file."""
import argparse

from . import OutputError, fail, guarded, one_line, writing

NAME = "export"
HELP = "export a build as a training file (curriculum)"
PARSER_ARGS = {
    "description": "Export samples for training: those of a build (the folder `mir build` wrote), of any folder of "
                   "sample Parquet shards, or of a file of samples (`mir convert --to sample` output).",
}


def add_arguments(parser) -> None:
    # Beam's FileSystems load only for this command.
    from ..readback.boxes import STYLES
    from ..readback.curriculum import FORMATS, SPLITS
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    curriculum = kinds.add_parser(
        "curriculum", help="the MIR curriculum: five staged variants per sample, easy to hard",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write every sample in the five stages of the MIR curriculum (1: full chain as target; "
                    "2: all steps given, the conclusion as target; 3: summary, captions and Text2Region given, "
                    "Region2Region and the conclusion as target; 4: summary and captions given, the rest as "
                    "target; 5: the bare question, the full chain as target), ordered easy to hard, one JSON "
                    "record per line. Images are written once each to <output stem>_images/ next to the output "
                    "and referenced by paths relative to the output's folder. A sample converted from MIR adds, "
                    "to each step, the MIR text no structured entry could hold.",
        epilog="Formats: swift (ms-swift messages + images), llava (id, image list, conversations human/gpt), "
               "sharegpt (LLaMA-Factory ShareGPT: conversations + images). Boxes: text ([x0, y0, x1, y1] "
               "normalised), qwen (Qwen-VL <ref>label</ref><box>(x1,y1),(x2,y2)</box> on its [0, 1000) grid), "
               "swift (ms-swift <ref-object><bbox> placeholders and an objects field; needs --format swift). "
               "Every sample is judged as by mir validate (images not opened), Parquet shards included; an "
               "invalid one is left out with one line on stderr naming it and why, and the rest are written. "
               "Exit status: 0 written, 1 a sample could not be exported or was left out as invalid, 2 INPUT "
               "missing, empty or unreadable, or bad arguments.")
    curriculum.add_argument("out", metavar="INPUT",
                            help="a build's output folder or URI, a folder of sample .parquet shards, or a .json, "
                                 ".jsonl or .parquet file of samples")
    curriculum.add_argument("--format", required=True, choices=sorted(FORMATS), help="training file format")
    curriculum.add_argument("--output", required=True, metavar="FILE.jsonl", help="the JSONL file to write")
    curriculum.add_argument("--boxes", default="text", choices=sorted(STYLES),
                            help="how boxes are written (default: %(default)s)")
    curriculum.add_argument("--split", default="train", choices=SPLITS,
                            help="which split to export (default: %(default)s; test samples are for evaluation)")
    curriculum.add_argument("--debug", action="store_true", help="show a traceback when the export fails")


def run(args, extra) -> int:
    # Beam's FileSystems and pyarrow load only when an export runs.
    from ..readback.curriculum import CurriculumError, export_curriculum
    from ..readback.inputs import InvalidSample
    from ..readback.shards import ImageError, ShardsError
    from ..output.publish import PublishError, check_place
    if args.boxes == "swift" and args.format != "swift":
        return fail("--boxes swift writes ms-swift's objects field: it needs --format swift", 2)
    _, code = guarded(args, "export", lambda: check_place(args.output, "export"), {PublishError: 2})
    if code is not None:
        return code
    written, code = guarded(args, "export",
                            lambda: writing(lambda: export_curriculum(args.out, args.output, args.format, args.split,
                                                                      args.boxes, left_out=lambda message: fail(message, 1)),
                                            args.output),
                            {(ShardsError, OutputError): 2, (CurriculumError, ImageError, InvalidSample): 1})
    if code is not None:
        return code
    if not written["samples"]:
        print(one_line(f"nothing written to {args.output}: all {written['left_out']} samples were left out as invalid"))
        return 1
    levels = ", ".join(f"{n} {level}" for level, n in written["levels"].items() if n)
    left_out = f"; {written['left_out']} invalid samples left out" if written["left_out"] else ""
    print(one_line(f"{written['records']} records ({written['samples']} samples x {written['stages']} stages; "
                   f"{levels}) written to {args.output}; {written['images']} images in "
                   f"{written['images_folder']}{left_out}"))
    return 1 if written["left_out"] else 0
