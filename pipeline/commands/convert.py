"""``mir convert``: MIR-native records to this project's samples and back."""
import argparse
import base64
import json
import os
import sys
import tempfile

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
              "folder) and each image is read for its size and hashes (and embedded unless --no-embed); MIR free "
              "text is kept verbatim in the sample's 'mir_native' field. Output: one line per problem, "
              "FILE:RECORD: JSON-PATH: message, then 'N records, N converted, N not converted'. Exit status: 0 "
              "all converted, 1 some record invalid or not convertible, 2 bad arguments or unreadable input.",
    "formatter_class": argparse.RawDescriptionHelpFormatter,
}
OUTPUT_KINDS = {".json": "json", ".jsonl": "jsonl", ".parquet": "parquet"}


def add_arguments(parser) -> None:
    from ..samples.safe_input import DEFAULT_MAX_RECORD_BYTES
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




class _Writer:
    """Records to OUT through a temporary file in the same folder, renamed into place at the end."""

    def __init__(self, path: str, kind: str):
        self.path, self.kind, self.count = path, kind, 0
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=".mir-convert-", dir=folder)
        os.close(fd)
        self.rows = []
        if kind == "parquet":
            import pyarrow.parquet as pq
            from ..output.arrow_schema import arrow_schema
            self.schema = arrow_schema("sample")
            self.parquet = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        else:
            self.f = open(self.tmp, "w", encoding="utf-8")
            if kind == "json":
                self.f.write("[")

    def write(self, record: dict) -> None:
        if self.kind == "parquet":
            self.rows.append(record)
            if len(self.rows) >= 64:
                self._flush()
        else:
            text = json.dumps(record, ensure_ascii=False)
            if self.kind == "json":
                self.f.write(("\n" if self.count == 0 else ",\n") + text)
            else:
                self.f.write(text + "\n")
        self.count += 1

    def _flush(self) -> None:
        import pyarrow as pa
        if self.rows:
            self.parquet.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        if self.kind == "parquet":
            self._flush()
            self.parquet.close()
        else:
            if self.kind == "json":
                self.f.write("\n]\n" if self.count else "]\n")
            self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            if self.kind == "parquet":
                self.parquet.close()
            else:
                self.f.close()
        except Exception:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


def _raw_bytes(sample: dict) -> dict:
    """Image bytes as bytes (for Parquet), whether they came as bytes or base64 text."""
    images = [dict(im, bytes=base64.b64decode(im["bytes"])) if isinstance(im.get("bytes"), str) else im
              for im in sample["images"]]
    return dict(sample, images=images)


class _Converter:
    def __init__(self, args, in_path: str):
        from ..samples.judge import ImageChecker
        from ..samples.mir_format import SampleDefaults
        self.args = args
        self.out_dir = os.path.dirname(os.path.abspath(args.output))
        self.images_dir = os.path.abspath(args.images_dir or os.path.join(self.out_dir, "images"))
        self.root = ImageChecker(args.images_root or os.path.dirname(os.path.abspath(in_path)))
        self.defaults = SampleDefaults(task=args.task, split=args.split, source=args.source, licence=args.licence,
                                       attribution=args.attribution, embed=not args.no_embed)

    def write_image(self, data: bytes) -> str:
        from ..records import sha256_hex
        from ..samples.mir_format import image_extension, relative_image_path
        os.makedirs(self.images_dir, exist_ok=True)
        path = os.path.join(self.images_dir, sha256_hex(data) + image_extension(data))
        if not os.path.exists(path):
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
        return relative_image_path(path, self.out_dir)

    def read_image(self, path: str):
        """(bytes, width, height, phash) of an image path under the images root."""
        from ..images.phash import phash_hex
        from ..samples.mir_format import ConversionError
        problem, facts = self.root.check_path(path)
        if problem:
            raise ConversionError("$", problem)
        full, _ = self.root.resolve(path)
        with open(full, "rb") as f:
            data = f.read()
        return data, facts[1], facts[2], phash_hex(_decode(data))

    def convert(self, record: dict, fmt: str) -> dict:
        from ..samples.mir_format import to_mir, to_sample
        to = self.args.to
        if fmt == to:
            return record if to == "mir" else self._sample_out(record)
        if to == "mir":
            return to_mir(record, write_image=self.write_image)
        return self._sample_out(to_sample(record, read_image=self.read_image, defaults=self.defaults))

    def _sample_out(self, sample: dict) -> dict:
        from ..samples.judge import json_form
        return _raw_bytes(sample) if self.args.output.lower().endswith(".parquet") else json_form(sample)


def _decode(data: bytes):
    import warnings
    from PIL import Image
    from ..images.decode import decode_image
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return decode_image(data, max_pixels=Image.MAX_IMAGE_PIXELS, min_side=1)


def convert(args, out) -> int:
    from ..samples.judge import validate_record
    from ..samples.mir_format import ConversionError, detect
    from ..samples.safe_input import EXTENSIONS, read_records, Unreadable
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
    if args.task is not None:
        from ..samples.mir_format import task_id
        if task_id(args.task) is None:
            return fail(f"--task {args.task}: not one of the 12 task ids", 2)
    if not args.max_record_mb > 0:
        return fail("--max-record-mb must be positive", 2)

    converter = _Converter(args, in_path)
    limit = max(1, int(args.max_record_mb * 2 ** 20))
    records = converted = 0
    unreadable = False
    writer = _Writer(out_path, out_kind)
    try:
        try:
            for item in read_records(in_path, kind, limit):
                records += 1
                if item.error:
                    unreadable = True
                    out.write(f"{one_line(in_path)}:{item.number}: $: {one_line(item.error)}\n")
                    continue
                fmt = detect(item.record)
                problems = validate_record(item.record, schema=fmt)
                if not problems:
                    try:
                        result = converter.convert(item.record, fmt)
                    except ConversionError as exc:
                        problems = [exc]
                    else:
                        if args.to == "sample":
                            problems = [_After(p) for p in validate_record(result, schema="sample")]
                        if not problems:
                            writer.write(result)
                            converted += 1
                for p in problems:
                    out.write(f"{one_line(in_path)}:{item.number}: {one_line(p.path)}: {one_line(p.message)}\n")
        except Unreadable as exc:
            unreadable = True
            out.write(f"{one_line(in_path)}:0: $: {one_line(exc)}\n")
        writer.close()
    except BaseException:
        writer.abort()
        raise
    out.write(f"{records} records, {converted} converted, {records - converted} not converted\n")
    out.flush()
    if unreadable:
        return 2
    return 0 if converted == records else 1


class _After:
    """A problem of a converted record (the converter's fault or a gap between the formats)."""

    def __init__(self, problem):
        self.path, self.message = problem.path, f"after conversion: {problem.message}"


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
