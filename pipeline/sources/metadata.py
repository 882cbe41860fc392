"""Source metadata is clean or refused: one problem naming the field, or None.

In order: values no consumer should see (a repeated key, NaN or an infinity, such as ``1e400``,
an integer beyond 2^53, text that is not valid UTF-8, nesting deeper than ``MAX_DEPTH``), then
source_metadata.schema.json (types, ranges, the length limits of texts and lists), then what a
schema cannot say: a box must have x0 < x1 and y0 < y1.
"""
import json
import math

from ..schemas import conforms, validator

MAX_DEPTH = 16
_MAX_INTEGER = 2 ** 53
_LIMITS = {"maxLength": "longer than {:,} characters", "maxItems": "more than {:,} items",
           "maxProperties": "more than {:,} keys"}


class _Repeated(dict):
    """A JSON object in which ``repeated`` keys appeared more than once."""
    repeated = ()


def _object(pairs):
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(obj)
    keys = [key for key, _ in pairs]
    marked.repeated = sorted({key for key in keys if keys.count(key) > 1})
    return marked


def parse_json(text: str):
    """(value, problem): ``text`` (a byte order mark first is skipped) parsed with repeated keys
    marked for ``value_problem``."""
    try:  # a byte order mark, as some editors write, is not part of the JSON
        return json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_object), None
    except ValueError as exc:
        return None, f"not valid JSON ({getattr(exc, 'msg', exc)})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"


def repeated_keys(obj) -> list:
    """The keys that appeared more than once in the JSON object ``obj`` (parsed by parse_json)."""
    return list(getattr(obj, "repeated", ()))


def _path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def _utf8(text: str) -> bool:
    """False for lone surrogates: bytes that were not UTF-8 (decoded with surrogateescape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scalar_problem(value):
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INTEGER:
        return "an integer beyond 2^53"
    if isinstance(value, str) and not _utf8(value):
        return "text that is not valid UTF-8"
    return None


def _own_problem(item, depth: int):
    """What is wrong with ``item`` itself, not counting its children, or None."""
    if depth > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(item, dict):
        if repeated_keys(item):
            return f"key {repeated_keys(item)[0]!r} appears more than once"
        return next((f"key {key!r} is {problem}" for key in item for problem in [_scalar_problem(key)] if problem), None)
    return _scalar_problem(item)


def _children(path: tuple, item) -> list:
    if isinstance(item, dict):
        return [(path + (key,), value) for key, value in item.items()]
    if isinstance(item, list):
        return [(path + (i,), value) for i, value in enumerate(item)]
    return []


def value_problem(value):
    """The first value of ``value`` (in document order) no consumer should see, with its path."""
    stack = [((), value)]
    while stack:
        path, item = stack.pop()
        problem = _own_problem(item, len(path))
        if problem:
            return f"{_path(path)}: {problem}"
        stack.extend(reversed(_children(path, item)))
    return None


def _schema_problem(record):
    if conforms("source_metadata", record):  # the compiled fast path: a listing checks every line
        return None
    errors = sorted(validator("source_metadata").iter_errors(record), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    if error.validator in _LIMITS:  # the default message quotes the whole over-long value
        return f"{_path(error.absolute_path)}: {_LIMITS[error.validator].format(error.validator_value)}"
    return f"{_path(error.absolute_path)}: {error.message[:300]}"


def _box_problem(record):
    """Inverted or empty boxes (the schema has already checked four numbers in 0..1)."""
    for i, region in enumerate(record.get("regions", ())):
        x0, y0, x1, y1 = region["bbox"]
        if x0 >= x1 or y0 >= y1:
            return f"regions.{i}.bbox: {region['bbox']} is inverted or empty (need x0 < x1 and y0 < y1)"
    return None


def metadata_problem(record):
    """The first way ``record`` is not clean source metadata, or None."""
    return value_problem(record) or _schema_problem(record) or _box_problem(record)


def parse_metadata_line(line: str):
    """(parsed object or None, problem or None) for one JSONL line (decoded with surrogateescape,
    so bytes that are not UTF-8 are found, with their field, by ``value_problem``)."""
    record, problem = parse_json(line)
    return record, problem or metadata_problem(record)
