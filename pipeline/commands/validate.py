"""``mir validate``: judge contributed samples (ours or MIR-native) in JSON, JSONL or Parquet."""
import argparse
import json
import os
import sys

from ..interleaving import is_interleaved, knowledge_hold
from ..samples.safe_input import DEFAULT_MAX_RECORD_BYTES
from . import fail, one_line

NAME = "validate"
HELP = "check samples (this project's format or MIR-native) in .json, .jsonl and .parquet files"
PARSER_ARGS = {
    "description": "Check every record of the given files (and of every .json, .jsonl and .parquet file under "
                   "the given folders) against the sample or MIR-native schema and the rules beyond it: "
                   "placeholders per image, one caption per image, regions and boxes, option labels and texts, "
                   "the answer, image files, unique ids, task and category.",
    "epilog": "Output: one line per problem, FILE:RECORD: JSON-PATH: message, where RECORD is the line of a "
              ".jsonl file, the index in a .json list (0 for a file holding one record or for a problem with "
              "the whole file) or the row of a .parquet file; a valid record whose question lists its images before "
              "the text instead of interleaving them, or whose text lets knowledge pick the answer (it binds different "
              "facts to the images the options name, or its options are objects its text names), gets a line "
              "FILE:RECORD: $.question: warning: ... (it stays valid); then 'N records, N valid, N invalid' "
              "(', N warnings' when there are any). "
              "Exit status: 0 every record valid, 1 some record invalid, 2 bad arguments or input that "
              "cannot be read (a missing file, not JSON or not Parquet, invalid UTF-8, truncated, too large, "
              "nested too deeply).",
    "formatter_class": argparse.RawDescriptionHelpFormatter,
}
EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
FROM_KNOWLEDGE = "answerable from knowledge without the images"
FRONT_LOADED = ("not interleaved: no text of its own between some two images (MIR places each image in the "
                "prose that mentions it)")


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".json, .jsonl or .parquet file, or a folder")
    parser.add_argument("--schema", choices=["sample", "mir"],
                        help="expect this format for every record (default: tell per record)")
    parser.add_argument("--images-root", metavar="DIR",
                        help="folder image paths resolve against (default: each file's own folder)")
    parser.add_argument("--no-images", action="store_true", help="do not open image files or embedded image bytes")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    parser.add_argument("--max-record-mb", type=float, default=DEFAULT_MAX_RECORD_BYTES / 2 ** 20, metavar="MB",
                        help="largest record (a JSON document, list element or line) read (default: %(default)g)")


class _Report:
    """Problems out as they are found (text lines or one streamed JSON document)."""

    def __init__(self, fmt: str, out):
        self.fmt, self.out = fmt, out
        self.records = self.valid = self.invalid = 0
        self.warnings = []   # (file, record, path, message): few, kept for the JSON summary
        self.unreadable = False
        self._first = True
        if fmt == "json":
            out.write('{"problems": [')

    def problem(self, file: str, record: int, path: str, message: str) -> None:
        if self.fmt == "json":
            entry = {"file": one_line(file), "record": record, "path": one_line(path), "message": one_line(message)}
            self.out.write(("\n  " if self._first else ",\n  ") + json.dumps(entry, ensure_ascii=False))
            self._first = False
        else:
            self.out.write(f"{one_line(file)}:{record}: {one_line(path)}: {one_line(message)}\n")

    def warning(self, file: str, record: int, path: str, message: str) -> None:
        """Worth knowing, not wrong: the record stays valid and the exit status is not touched."""
        if self.fmt == "json":
            self.warnings.append({"file": one_line(file), "record": record, "path": one_line(path),
                                  "message": one_line(message)})
        else:
            self.out.write(f"{one_line(file)}:{record}: {one_line(path)}: warning: {one_line(message)}\n")
            self.warnings.append(None)

    def counted(self, ok: bool) -> None:
        self.records += 1
        if ok:
            self.valid += 1
        else:
            self.invalid += 1

    def status(self) -> int:
        if self.unreadable:
            return EXIT_UNREADABLE
        return EXIT_INVALID if self.invalid else EXIT_VALID

    def finish(self) -> int:
        status = self.status()
        if self.fmt == "json":
            summary = {"records": self.records, "valid": self.valid, "invalid": self.invalid, "exit_status": status}
            if self.warnings:
                summary["warnings"] = self.warnings
            self.out.write(("\n" if not self._first else "") + "], " + json.dumps(summary)[1:] + "\n")
        else:
            warned = f", {len(self.warnings)} warnings" if self.warnings else ""
            self.out.write(f"{self.records} records, {self.valid} valid, {self.invalid} invalid{warned}\n")
        self.out.flush()
        return status


def validate_paths(args, out) -> int:
    # The judge and the schemas load only when records are checked.
    from ..samples.judge import ImageChecker, Judge
    from ..samples.safe_input import Unreadable, find_inputs, read_records
    report = _Report(args.format, out)
    judge = Judge(schema=args.schema)
    limit = max(1, int(args.max_record_mb * 2 ** 20))
    checkers = {}

    def checker_for(path: str):
        if args.no_images:
            return None
        root = args.images_root or os.path.dirname(os.path.abspath(path))
        if root not in checkers:
            checkers[root] = ImageChecker(root)
        return checkers[root]

    for path, kind, error in find_inputs(args.paths):
        if error:
            report.unreadable = True
            report.problem(path, 0, "$", error)
            continue
        images = checker_for(path)
        try:
            for item in read_records(path, kind, limit):
                if item.error:
                    report.unreadable = True
                    report.problem(path, item.number, "$", item.error)
                    report.counted(False)
                    continue
                problems = judge.check(item.record, f"{path}:{item.number}", images)
                for problem in problems:
                    report.problem(path, item.number, problem.path, problem.message)
                if not problems and not is_interleaved(item.record["question"]):
                    report.warning(path, item.number, "$.question", FRONT_LOADED)
                if not problems and (hold := knowledge_hold(item.record)):
                    report.warning(path, item.number, "$.question", f"{FROM_KNOWLEDGE}: {hold}")
                report.counted(not problems)
        except Unreadable as exc:
            report.unreadable = True
            report.problem(path, 0, "$", str(exc))
    return report.finish()


def run(args, extra) -> int:
    try:
        if args.images_root and not args.no_images and not os.path.isdir(args.images_root):
            return fail(f"--images-root {args.images_root}: no such folder", EXIT_UNREADABLE)
        if not args.max_record_mb > 0:
            return fail("--max-record-mb must be positive", EXIT_UNREADABLE)
        return validate_paths(args, sys.stdout)
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        _silence_stdout()
        return EXIT_INVALID
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except BaseException as exc:  # the contract: one line, never a traceback
        if isinstance(exc, SystemExit):
            raise
        return fail(f"validate failed: {exc.__class__.__name__}: {one_line(exc)}", EXIT_UNREADABLE)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
