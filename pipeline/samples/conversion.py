"""Converting a file of records between the MIR-native format and this project's samples
(``mir convert``): every record judged first, converted, judged again as a sample, and written
through a temporary file renamed into place, so OUT is never left half-written."""
import base64
import io
import json
import os
import warnings

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from ..images.decode import decode_image
from ..images.phash import phash_hex
from ..output.arrow_schema import arrow_schema
from ..records import sha256_hex
from ..safe_files import NewFile, UnsafeFile, outside_root, read_regular, write_new
from .judge import ImageChecker, json_form, validate_record
from .mir_format import ConversionError, SampleDefaults, detect, image_extension, relative_image_path, to_mir, to_sample
from .safe_input import Unreadable, read_records


class Writer:
    """Records to OUT through a fresh temporary file in the same folder (``safe_files.NewFile``),
    renamed into place at the end."""

    def __init__(self, path: str, kind: str):
        self.path, self.kind, self.count = path, kind, 0
        self.new = NewFile(path)
        self.rows = []
        if kind == "parquet":
            self.schema = arrow_schema("sample")
            self.parquet = pq.ParquetWriter(self.new.file, self.schema, compression="zstd")
        else:
            self.f = io.TextIOWrapper(self.new.file, encoding="utf-8")
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
        self.new.commit()

    def abort(self) -> None:
        try:
            (self.parquet if self.kind == "parquet" else self.f).close()
        except Exception:
            pass
        self.new.abort()


def raw_image_bytes(sample: dict) -> dict:
    """Image bytes as bytes (for Parquet), whether they came as bytes or base64 text."""
    images = [dict(im, bytes=base64.b64decode(im["bytes"])) if isinstance(im.get("bytes"), str) else im
              for im in sample["images"]]
    return dict(sample, images=images)


class Converter:
    """Converts judged records to the format ``to`` names ("mir" or "sample"), for OUT at ``out_path``."""

    def __init__(self, to: str, in_path: str, out_path: str, defaults: SampleDefaults, *, images_root: str = None,
                 images_dir: str = None):
        self.to, self.out_path, self.defaults = to, out_path, defaults
        self.out_dir = os.path.dirname(os.path.abspath(out_path))
        self.images_dir = os.path.abspath(images_dir or os.path.join(self.out_dir, "images"))
        self.root = ImageChecker(images_root or os.path.dirname(os.path.abspath(in_path)))
        self.real_root = os.path.realpath(self.root.root)
        self._written = set()

    def write_image(self, data: bytes) -> str:
        """Writes the image as ``<sha256><ext>`` in the images folder (once per run, always
        through a fresh file: whatever already sits at that name, a planted link included, is
        replaced, never written through)."""
        path = os.path.join(self.images_dir, sha256_hex(data) + image_extension(data))
        if path not in self._written:
            write_new(path, data)
            self._written.add(path)
        return relative_image_path(path, self.out_dir)

    def read_image(self, path: str):
        """(bytes, width, height, phash) of an image path under the images root: a regular
        file, no larger than the checker's cap, not reached by a symlink that leaves the root
        (as a build refuses such a link in a source)."""
        full, problem = self.root.resolve(path)
        if not problem and (leaves := outside_root(full, self.real_root, f"the images root {self.real_root}")):
            problem = f"{path!r} is {leaves}"
        if not problem:
            problem, facts = self.root.check_path(path)
        if problem:
            raise ConversionError("$", problem)
        try:
            data = read_regular(full, self.root.max_file_bytes)
        except UnsafeFile as exc:
            raise ConversionError("$", str(exc)) from None
        if sha256_hex(data) != facts[0]:
            raise ConversionError("$", f"{path!r} changed while it was read")
        return data, facts[1], facts[2], phash_hex(_decode(data))

    def convert(self, record: dict, fmt: str) -> dict:
        to = self.to
        if fmt == to:
            return record if to == "mir" else self._sample_out(record)
        if to == "mir":
            return to_mir(record, write_image=self.write_image)
        return self._sample_out(to_sample(record, read_image=self.read_image, defaults=self.defaults))

    def _sample_out(self, sample: dict) -> dict:
        return raw_image_bytes(sample) if self.out_path.lower().endswith(".parquet") else json_form(sample)


def _decode(data: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return decode_image(data, max_pixels=Image.MAX_IMAGE_PIXELS, min_side=1)


class _After:
    """A problem of a converted record (the converter's fault or a gap between the formats)."""

    def __init__(self, problem):
        self.path, self.message = problem.path, f"after conversion: {problem.message}"


def convert_records(in_path: str, kind: str, limit: int, converter: Converter, writer: Writer, report) -> tuple:
    """Convert every record of ``in_path`` into ``writer``; ``report(record number, json path,
    message)`` hears each problem. Returns (records, converted, whether some input was unreadable)."""
    records = converted = 0
    unreadable = False
    try:
        try:
            for item in read_records(in_path, kind, limit):
                records += 1
                if item.error:
                    unreadable = True
                    report(item.number, "$", item.error)
                    continue
                problems, result = _converted(item.record, converter)
                if not problems:
                    writer.write(result)
                    converted += 1
                for p in problems:
                    report(item.number, p.path, p.message)
        except Unreadable as exc:
            report(0, "$", str(exc))
            writer.abort()      # the input could not be read: OUT keeps what it held
            return records, converted, True
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return records, converted, unreadable


def _converted(record: dict, converter: Converter) -> tuple:
    """(problems, converted record)."""
    fmt = detect(record)
    problems = validate_record(record, schema=fmt)
    if problems:
        return problems, None
    try:
        result = converter.convert(record, fmt)
    except ConversionError as exc:
        return [exc], None
    if converter.to == "sample":
        return [_After(p) for p in validate_record(result, schema="sample")], result
    return [], result
