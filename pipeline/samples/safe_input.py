"""Reading records from files nobody vouches for: bounded memory, bounded nesting, no crash.

``mir validate`` and ``mir convert`` read contributed ``.json`` (one record or a list of
records), ``.jsonl`` (one record a line) and ``.parquet`` (our shards) files through here.

- No record is read whole if it is larger than ``max_record_bytes`` (default 64 MiB, the
  ``--max-record-mb`` option): a ``.json`` list is parsed one element at a time from a sliding
  buffer, so a file of any length is read in memory bounded by the largest record; ``.jsonl``
  is read line by line; Parquet row batches are read one at a time.
- JSON is decoded as strict UTF-8 (a leading byte-order mark is allowed); nesting deeper than
  the parser's recursion limit is refused (``RecursionError`` caught); duplicate object keys
  are kept as evidence (``KeyedDict.duplicate_keys``) for the judge to report with their JSON
  path; NaN / Infinity are read as floats for the judge to reject with their path.
- A ``.parquet`` file must start and end with the ``PAR1`` magic before pyarrow sees it.

Where a file cannot be read at all the reader raises ``Unreadable`` (the file, not a record,
is at fault); where one record cannot be read it yields an ``Item`` with an ``error`` and, if
the rest of the file can still be read (JSON Lines), carries on.
"""
import codecs
import dataclasses
import json
import os
import stat
from collections.abc import Iterator
from typing import Any

DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024
EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
CHUNK = 1024 * 1024
PARQUET_MAGIC = b"PAR1"
PARQUET_BATCH_ROWS = 64
_WHITESPACE = " \t\n\r"
# Longest token that can be cut by a chunk boundary and still parse later (-Infinity, \uXXXX).
_TOKEN_MARGIN = 16


class Unreadable(Exception):
    """The file as a whole cannot be read; the message says why, in one line."""


@dataclasses.dataclass
class Item:
    """One record of a file. ``number`` is the 1-based line of a JSON Lines file, the 0-based
    index in a JSON list (0 for a file holding one record) or the 0-based Parquet row."""
    number: int
    record: Any = None
    error: str | None = None   # set when the record itself could not be read


class KeyedDict(dict):
    """A JSON object that repeated a key; ``duplicate_keys`` lists the repeated names (the
    last value of each is kept, as ``json`` does)."""
    duplicate_keys: tuple = ()


def _object_pairs(pairs):
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen, repeated = set(), []
    for key, _ in pairs:
        if key in seen and key not in repeated:
            repeated.append(key)
        seen.add(key)
    keyed = KeyedDict(obj)
    keyed.duplicate_keys = tuple(repeated)
    return keyed


_DECODER = json.JSONDecoder(object_pairs_hook=_object_pairs)


def _kind_name(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _parse_error(exc: Exception) -> str:
    """One line for anything the JSON decoder raises."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse (JSON nesting beyond Python's recursion limit)"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg}"
    return f"not valid JSON: {exc}"


def _location(text: str, pos: int, line_base: int) -> str:
    line = line_base + text.count("\n", 0, pos)
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line} column {column}"


def _sample_folder(path: str) -> str:
    """Where the samples of a folder are: a build's output (report.json beside data/) keeps them
    under data/; its other files (images.parquet, rejects/, report.json, llm_cache/) are audit
    records with schemas of their own, not samples."""
    data = os.path.join(path, "data")
    return data if os.path.isfile(os.path.join(path, "report.json")) and os.path.isdir(data) else path


def find_inputs(paths) -> Iterator[tuple]:
    """(path, kind, error) for every input named: files as given, directories walked
    recursively (sorted; hidden folders and other file types skipped; a build's output folder
    only under data/). ``kind`` is json,
    jsonl or parquet; ``error`` is set (and ``kind`` None) for a path that cannot be used."""
    for path in paths:
        try:
            info = os.stat(path)
        except (OSError, ValueError) as exc:
            yield path, None, _os_error(exc)
            continue
        if stat.S_ISDIR(info.st_mode):
            found = False
            for root, dirs, files in os.walk(_sample_folder(path), onerror=None, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    kind = EXTENSIONS.get(os.path.splitext(name)[1].lower())
                    if kind and not name.startswith("."):
                        found = True
                        yield os.path.join(root, name), kind, None
            if not found:
                yield path, None, "no .json, .jsonl or .parquet files in this folder"
            continue
        kind = EXTENSIONS.get(os.path.splitext(path)[1].lower())
        if kind is None:
            yield path, None, "unsupported file type: expected .json, .jsonl or .parquet"
        else:
            yield path, kind, None


def _os_error(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read: {exc.strerror}"
    return f"cannot read: {exc}"


def _open_regular(path: str):
    """Open for reading in binary, refusing anything but a regular file (opening a FIFO in
    blocking mode would wait for a writer for ever)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise Unreadable(_os_error(exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Unreadable("not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_records(path: str, kind: str, max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Iterator[Item]:
    """Every record of ``path`` (``kind`` from ``find_inputs``); raises ``Unreadable``."""
    if kind == "jsonl":
        yield from _read_jsonl(path, max_record_bytes)
    elif kind == "json":
        yield from _read_json(path, max_record_bytes)
    elif kind == "parquet":
        yield from _read_parquet(path)
    else:
        raise Unreadable(f"unsupported file type {kind!r}")


# ---------------------------------------------------------------------------------- JSON Lines

def _read_jsonl(path: str, limit: int) -> Iterator[Item]:
    with _open_regular(path) as f:
        number, records = 0, 0
        while True:
            try:
                line = f.readline(limit + 1)
            except OSError as exc:
                raise Unreadable(_os_error(exc)) from None
            if not line:
                break
            number += 1
            if len(line) > limit and not line.endswith(b"\n"):
                # Skip the rest of the over-long line without holding it.
                while line and not line.endswith(b"\n"):
                    line = f.readline(CHUNK)
                records += 1
                yield Item(number, error=f"the line is longer than the {_mib(limit)} limit for one record")
                continue
            if number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8):]
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                records += 1
                yield Item(number, error=f"not valid UTF-8 (byte {exc.start + 1} of the line)")
                continue
            if not text.strip(_WHITESPACE):
                continue
            records += 1
            try:
                value, end = _DECODER.raw_decode(text, _skip_ws(text, 0))
                rest = _skip_ws(text, end)
                if rest < len(text):
                    yield Item(number, error=f"extra data after the record at column {rest + 1} "
                                             "(one JSON value per line)")
                    continue
            except (ValueError, RecursionError) as exc:
                where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
                yield Item(number, error=_parse_error(exc) + where)
                continue
            yield Item(number, value)
        if records == 0:
            raise Unreadable("the file is empty" if number == 0 else "the file holds no records (only blank lines)")


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


# ---------------------------------------------------------------------------------------- JSON

class _Buffer:
    """Decoded text of a file, read on demand in chunks, with consumed text dropped."""

    def __init__(self, f, limit: int):
        self.f, self.limit = f, limit
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text, self.pos = "", 0
        self.lines_dropped = 0      # newlines in text already dropped
        self.bytes_read = 0
        self.eof = False
        self.bad_utf8 = None        # message once invalid UTF-8 was met: nothing after it is used
        self.first = True

    def more(self, want: int = CHUNK) -> bool:
        """Read about ``want`` more bytes; False when nothing more can be had."""
        if self.eof:
            return False
        if self.pos > CHUNK:  # drop what has been consumed
            self.lines_dropped += self.text.count("\n", 0, self.pos)
            self.text, self.pos = self.text[self.pos:], 0
        try:
            data = self.f.read(want)
        except OSError as exc:
            raise Unreadable(_os_error(exc)) from None
        if self.first:
            self.first = False
            if data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
                self.bytes_read += len(codecs.BOM_UTF8)
        try:
            self.text += self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            # Keep the valid text before the bad byte: the records in it can still be read.
            # (exc.start counts from the decoder's pending bytes, at most 3 before ``data``.)
            pending = len(exc.object) - len(data)
            valid = exc.object[:exc.start].decode("utf-8", "ignore")
            self.text += valid
            self.bad_utf8 = f"not valid UTF-8 (byte {self.bytes_read - pending + exc.start + 1} of the file)"
            self.eof = True
            return bool(valid)
        self.bytes_read += len(data)
        if not data:
            self.eof = True
            return False
        return True

    def skip_ws(self) -> str | None:
        """Skip whitespace; the next character, or None at the end of the file."""
        while True:
            self.pos = _skip_ws(self.text, self.pos)
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return None

    def where(self, pos: int | None = None) -> str:
        return _location(self.text, self.pos if pos is None else pos, 1 + self.lines_dropped)

    def end_problem(self) -> str:
        """Why the text ended where a value was still expected."""
        return self.bad_utf8 or "not valid JSON: the file ends in the middle of a value (truncated?)"

    def value(self):
        """Decode one JSON value at ``pos``, reading more as needed (at most ``limit`` bytes
        past ``pos``). Returns (value, None) or (None, error)."""
        want = CHUNK
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except RecursionError as exc:
                return None, _parse_error(exc)
            except json.JSONDecodeError as exc:
                # An error near the end of the buffer may only mean the value goes on in the
                # part of the file not read yet; an error well inside it is a real one.
                at_end = exc.pos >= len(self.text) - _TOKEN_MARGIN or exc.msg.startswith("Unterminated string")
                if not at_end:
                    return None, f"{_parse_error(exc)} at {self.where(exc.pos)}"
                if self.eof:
                    if exc.pos >= len(self.text) or exc.msg.startswith("Unterminated string"):
                        return None, self.end_problem()
                    return None, f"{_parse_error(exc)} at {self.where(exc.pos)}"
                if len(self.text) - self.pos > self.limit:
                    return None, f"the record is larger than the {_mib(self.limit)} limit for one record"
                # Read as much again as is pending, then try again.
                want = max(want, len(self.text) - self.pos)
                self.more(want)
                continue
            except ValueError as exc:  # e.g. an integer with more digits than Python converts
                return None, _parse_error(exc)
            if end >= len(self.text) and not self.eof and self.more(want):
                continue  # a number may go on in the next chunk
            if end - self.pos > self.limit:
                return None, f"the record is larger than the {_mib(self.limit)} limit for one record"
            self.pos = end
            return value, None


def _read_json(path: str, limit: int) -> Iterator[Item]:
    with _open_regular(path) as f:
        buf = _Buffer(f, limit)
        first = buf.skip_ws()
        if first is None:
            if buf.bad_utf8:
                raise Unreadable(buf.bad_utf8)
            raise Unreadable("the file is empty" if buf.bytes_read == 0 else "the file holds only whitespace")
        if first == "[":
            yield from _read_json_list(buf)
            return
        value, error = buf.value()
        if error:
            raise Unreadable(error)
        if buf.skip_ws() is not None:
            raise Unreadable(f"extra data after the first JSON value at {buf.where()} "
                             "(several records belong in a list, or in a .jsonl file)")
        if buf.bad_utf8:
            raise Unreadable(buf.bad_utf8)
        if not isinstance(value, dict):
            raise Unreadable(f"the top level is {_kind_name(value)}; expected a record (an object) "
                             "or a list of records")
        yield Item(0, value)


def _read_json_list(buf: _Buffer) -> Iterator[Item]:
    buf.pos += 1  # the "["
    index = 0
    nxt = buf.skip_ws()
    if nxt == "]":
        buf.pos += 1
        _expect_end(buf)
        return
    while True:
        if nxt is None:
            yield Item(index, error=buf.end_problem())
            return
        value, error = buf.value()
        if error:
            yield Item(index, error=error)
            return
        yield Item(index, value)
        index += 1
        nxt = buf.skip_ws()
        if nxt == ",":
            buf.pos += 1
            nxt = buf.skip_ws()
            continue
        if nxt == "]":
            buf.pos += 1
            _expect_end(buf)
            return
        if nxt is None:
            raise Unreadable(buf.end_problem() if buf.bad_utf8 else
                             f"not valid JSON: the list is not closed after record {index - 1} (truncated?)")
        raise Unreadable(f"not valid JSON: expected ',' or ']' after record {index - 1} at {buf.where()}")


def _expect_end(buf: _Buffer) -> None:
    if buf.skip_ws() is not None:
        raise Unreadable(f"extra data after the list at {buf.where()}")
    if buf.bad_utf8:
        raise Unreadable(buf.bad_utf8)


# ------------------------------------------------------------------------------------- Parquet

def _read_parquet(path: str) -> Iterator[Item]:
    with _open_regular(path) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            head = f.read(4)
            f.seek(max(size - 4, 0))
            tail = f.read(4)
        except OSError as exc:
            raise Unreadable(_os_error(exc)) from None
    if size == 0:
        raise Unreadable("the file is empty")
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        raise Unreadable("not a Parquet file (no PAR1 magic bytes at its start and end)")
    import pyarrow.parquet as pq
    try:
        parquet = pq.ParquetFile(path)
        batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for damaged files
        raise Unreadable(f"damaged Parquet file: {_one_line(exc)}") from None
    row = 0
    while True:
        try:
            batch = next(batches)
            rows = batch.to_pylist()
        except StopIteration:
            return
        except Exception as exc:
            raise Unreadable(f"damaged Parquet file at row {row}: {_one_line(exc)}") from None
        for record in rows:
            yield Item(row, record)
            row += 1


def _one_line(exc: Exception, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= limit else text[:limit] + "..."
