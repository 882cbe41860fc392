"""The one judge of a sample: JSON Schema plus the semantic rules the schema cannot express.

``validate_record`` is used by the build's Validate stage and by ``mir validate``, so the
pipeline and the command line never disagree. It judges records in this project's format
(``schemas/sample.schema.json``) and in the MIR-native format of the released MIR data
(``schemas/mir_native.schema.json``, see ``mir_format.py``), telling them apart per record
unless told which to expect.

Image files and embedded image bytes are only opened when the caller passes an
``ImageChecker`` (``images=``): the build's samples carry bytes it has just decoded, and
``mir validate --no-images`` skips them.
"""
import base64
import binascii
import collections
import dataclasses
import hashlib
import math
import os
import re
import string
import warnings

from ..schemas import conforms, validator
from ..tasks import category_of
from . import mir_format

CONCLUSION_ANSWER = re.compile(r"Answer:\s*([A-Z])\s*\.?\s*$")
MAX_TEXT_CHARS = 100_000     # any one text; image bytes excepted
MAX_DEPTH = 64               # nesting of objects and lists within one record
MAX_IMAGE_FILE_BYTES = 256 * 1024 * 1024
_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://|(?:derived|data|file):)")   # gs://, http://, derived:, ...
_SCHEMA_NAMES = {"sample": "sample", "mir": "mir_native"}
# Schema errors about an object's key set leave its values judgeable.
_SHAPE_ONLY = {"required", "additionalProperties", "unevaluatedProperties", "dependentRequired", "minProperties"}


@dataclasses.dataclass(frozen=True)
class Problem:
    path: str      # JSON path into the record, e.g. $.reasoning.text2region[0].bbox
    message: str

    def __str__(self):
        return f"{self.path}: {self.message}"


def shorten(message: str, limit: int = 200) -> str:
    """jsonschema quotes the offending value; a multi-megabyte string must not flood the output."""
    return message if len(message) <= limit else message[:limit] + "..."


def _quote(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"


def json_path(parts) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(p))
                                                             else f"[{_quote(str(p))}]") for p in parts)


def json_form(record: dict) -> dict:
    """The record as the schema documents it: image bytes as base64 text."""
    return _with_bytes_as_text(record, lambda data: base64.b64encode(data).decode("ascii"))


def _schema_form(record: dict) -> dict:
    """The record as the schema is shown it. Raw image bytes are what some base64 text decodes
    to, so they always conform: they stand in as an empty (valid) base64 text rather than being
    encoded, a hundred kilobytes a sample, only for the validator to decode them again."""
    return _with_bytes_as_text(record, lambda data: "")


def _with_bytes_as_text(record: dict, as_text) -> dict:
    images = record.get("images")
    if not isinstance(images, list):
        return record
    converted = [dict(im, bytes=as_text(im["bytes"]))
                 if isinstance(im, dict) and isinstance(im.get("bytes"), (bytes, bytearray)) else im
                 for im in images]
    return dict(record, images=converted)


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number", bytes: "bytes"}.get(type(value), type(value).__name__)


# ----------------------------------------------------------------------------- every record

def _value_problems(record: dict, fmt: str) -> tuple:
    """Problems no schema catches, anywhere in the record: nesting deeper than MAX_DEPTH,
    repeated object keys, NaN / Infinity, texts (and keys) longer than MAX_TEXT_CHARS.
    Iterative, so depth cannot overflow the stack; a node's path is only spelled out when it
    has a problem. Returns ([(path parts, message)], too_deep)."""
    problems, too_deep = [], False
    stack = [(record, 0, None)]   # (value, depth, link) with link = (parent link, key) or None
    while stack:
        value, depth, link = stack.pop()
        kind = type(value)
        if kind is str or isinstance(value, str):
            if len(value) > MAX_TEXT_CHARS:
                path = _unlink(link)
                if not (fmt == "sample" and len(path) == 3 and path[0] == "images" and path[2] == "bytes"):
                    problems.append((path, f"text of {len(value):,} characters is over the "
                                           f"{MAX_TEXT_CHARS:,}-character limit"))
        elif isinstance(value, dict):
            if depth >= MAX_DEPTH:
                problems.append((_unlink(link), f"nested more than {MAX_DEPTH} levels deep"))
                too_deep = True
                continue
            for key in getattr(value, "duplicate_keys", ()):
                problems.append((_unlink(link) + (key,), f"key {_quote(key)} appears more than once in this object"))
            for key, item in value.items():
                if isinstance(key, str) and len(key) > MAX_TEXT_CHARS:
                    problems.append((_unlink(link), f"a key of {len(key):,} characters is over the "
                                                    f"{MAX_TEXT_CHARS:,}-character limit"))
                if not (type(item) in _SCALARS and type(item) is not float):
                    stack.append((item, depth + 1, (link, key)))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                problems.append((_unlink(link), f"nested more than {MAX_DEPTH} levels deep"))
                too_deep = True
                continue
            for index, item in enumerate(value):
                if not (type(item) in _SCALARS and type(item) is not float):
                    stack.append((item, depth + 1, (link, index)))
        elif isinstance(value, float) and (value != value or value in (math.inf, -math.inf)):
            problems.append((_unlink(link), f"{value} is not a JSON number (NaN and Infinity are not allowed)"))
    problems.sort(key=lambda problem: [str(p) for p in problem[0]])
    return problems, too_deep


_SCALARS = (int, bool, type(None), bytes, float)


def _unlink(link) -> tuple:
    parts = []
    while link is not None:
        link, key = link
        parts.append(key)
    return tuple(reversed(parts))


def _schema_problems(record: dict, schema_name: str) -> tuple:
    """(problems, broken paths): where a value itself is wrong, semantic rules about it are
    not repeated."""
    try:
        if conforms(schema_name, record):  # the compiled fast path; its "no" is not detailed
            return [], set()
    except Exception:  # whatever the generated code trips over, the reference validator decides
        pass
    errors = sorted(validator(schema_name).iter_errors(record), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    problems, missing = [], {}   # missing: path -> [keys], reported as one line per object
    for e in errors:
        at = json_path(e.absolute_path)
        if e.validator == "required" and isinstance(e.instance, dict):
            if at not in missing:
                missing[at] = []
                problems.append(at)
            missing[at] += [k for k in e.validator_value if k not in e.instance and k not in missing[at]]
        else:
            problems.append(Problem(at, shorten(e.message)))
    problems = [p if isinstance(p, Problem) else
                Problem(p, f"missing required key{'s' if len(missing[p]) > 1 else ''} "
                           + ", ".join(_quote(k) for k in missing[p]))
                for p in problems]
    broken = {tuple(e.absolute_path) for e in errors if e.validator not in _SHAPE_ONLY}
    return problems, broken


def _keep(problem_parts: tuple, broken: set) -> bool:
    """A semantic problem is not repeated where the schema already found the value wrong (or,
    for a box, one of its coordinates)."""
    if any(problem_parts[:len(b)] == b for b in broken):
        return False
    if problem_parts and problem_parts[-1] in ("bbox", "box"):
        return not any(b[:len(problem_parts)] == problem_parts for b in broken)
    return True


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- shared rules

def _placeholder_problems(question: str, count: int) -> list:
    found = mir_format.placeholders(question)
    problems = []
    numbered = [k for k in found if k is not None]
    outside = sorted({k for k in numbered if not 1 <= k <= count})
    if outside:
        shown = ", ".join(f"<image{k}>" for k in outside[:5]) + (", ..." if len(outside) > 5 else "")
        problems.append((("question",), f"placeholder {shown} out of range: the record has {count} images"))
    if len(found) != count:
        problems.append((("question",), f"{len(found)} image placeholders for {count} images"))
    elif numbered and len(numbered) == len(found) and not outside:
        missing = sorted(set(range(1, count + 1)) - set(numbered))
        if missing:
            problems.append((("question",), f"no placeholder for image {', '.join(map(str, missing))} "
                                            "(numbered placeholders must name each image once)"))
    return problems


def _image_ref_problems(image, count: int, path: tuple) -> list:
    if not _is_int(image):
        return [(path, f"image {_quote(image)} is not an image number")]
    if not 1 <= image <= count:
        return [(path, f"image {image} is out of range: the record has {count} images")]
    return []


def _bbox_problems(bbox, path: tuple) -> list:
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        return [(path, "a box is four numbers [x0, y0, x1, y1]")]
    outside = [v for v in bbox if not 0 <= v <= 1]
    if outside:
        return [(path, f"box {bbox} is not inside [0, 1] (coordinates are normalised)")]
    x0, y0, x1, y1 = bbox
    if x0 >= x1 or y0 >= y1:
        return [(path, f"box {bbox} needs x0 < x1 and y0 < y1")]
    return []


def _region_problems(entry: dict, count: int, path: tuple) -> list:
    problems = []
    if "image" in entry:
        problems += _image_ref_problems(entry["image"], count, path + ("image",))
    for key in ("bbox", "box"):
        if key in entry:
            problems += _bbox_problems(entry[key], path + (key,))
    return problems


def _label_problems(labels: list, path: tuple, ordered: bool) -> list:
    problems = []
    counts = collections.Counter(labels)
    repeated = sorted((label for label, n in counts.items() if n > 1), key=str)
    for label in repeated:
        problems.append((path, f"label {_quote(label)} appears {counts[label]} times"))
    if not repeated:
        expected = list(string.ascii_uppercase[:len(labels)])
        shown = labels if ordered else sorted(labels, key=str)
        if shown != expected:
            problems.append((path, f"labels {', '.join(map(str, labels))} are not consecutive from A "
                                   f"(expected {', '.join(expected)})"))
    return problems


def _text_problems(texts: list, labels: list, path: tuple) -> list:
    seen, problems = {}, []
    for label, text in zip(labels, texts):
        if not isinstance(text, str):
            continue
        key = " ".join(text.split()).casefold()
        if not key:
            problems.append((path, f"option {label} has no text"))
        elif key in seen:
            problems.append((path, f"options {seen[key]} and {label} have the same text {_quote(text)}"))
        else:
            seen[key] = label
    return problems


def _task_problems(task, category) -> list:
    expected = category_of(task)
    if expected and isinstance(category, str) and category != expected:
        return [(("category",), f"task {task} belongs to {expected}, not {category}")]
    return []


def _labels_text(labels: list) -> str:
    return ", ".join(map(str, labels)) or "none"


# ----------------------------------------------------------------------------- our format

def _images_and_placeholders(record: dict) -> tuple:
    """(images list or None, image count or None, placeholder problems): what both formats
    check first."""
    images = record.get("images")
    count = len(images) if isinstance(images, list) else None
    if count and isinstance(record.get("question"), str):
        return images, count, _placeholder_problems(record["question"], count)
    return images, count, []


def _sample_semantics(record: dict) -> list:
    images, count, problems = _images_and_placeholders(record)
    problems += _task_problems(record.get("task"), record.get("category"))

    facts = record.get("image_facts")
    if count is not None and isinstance(facts, list) and len(facts) != count:
        problems.append((("image_facts",), f"{len(facts)} image_facts entries for {count} images"))
    for i, image in enumerate(images if isinstance(images, list) else []):
        if isinstance(image, dict) and isinstance(image.get("bytes"), str):
            try:
                base64.b64decode(image["bytes"], validate=True)
            except (binascii.Error, ValueError):
                problems.append((("images", i, "bytes"), "not valid base64"))

    options = record.get("options")
    labels = None
    if isinstance(options, list) and all(isinstance(o, dict) for o in options):
        labels = [o.get("label") for o in options]
        texts = [o.get("text") for o in options]
        if all(isinstance(label, str) for label in labels):
            problems += _label_problems(labels, ("options",), ordered=True)
            problems += _text_problems(texts, labels, ("options",))
        answer = record.get("answer")
        if isinstance(answer, str) and all(isinstance(label, str) for label in labels) and answer not in labels:
            problems.append((("answer",), f"answer {_quote(answer)} is not an option label (labels: {_labels_text(labels)})"))

    reasoning = record.get("reasoning")
    if isinstance(reasoning, dict):
        captions = reasoning.get("captions")
        if count is not None and isinstance(captions, list) and len(captions) != count:
            problems.append((("reasoning", "captions"), f"{len(captions)} captions for {count} images"))
        for i, entry in enumerate(_list(reasoning.get("text2region"))):
            if isinstance(entry, dict) and count is not None:
                problems += _region_problems(entry, count, ("reasoning", "text2region", i))
        for i, entry in enumerate(_list(reasoning.get("region2region"))):
            for end in ("from", "to"):
                if isinstance(entry, dict) and isinstance(entry.get(end), dict) and count is not None:
                    problems += _region_problems(entry[end], count, ("reasoning", "region2region", i, end))
        conclusion, answer = reasoning.get("conclusion"), record.get("answer")
        said = CONCLUSION_ANSWER.search(conclusion) if isinstance(conclusion, str) else None
        if said and isinstance(answer, str) and labels and answer in labels and said.group(1) != answer:
            problems.append((("reasoning", "conclusion"), f"the conclusion names {said.group(1)} but the answer is {answer}"))
    return problems


def _facts_sha256(record: dict, i: int):
    facts = record.get("image_facts")
    entry = facts[i] if isinstance(facts, list) and i < len(facts) and isinstance(facts[i], dict) else {}
    return entry.get("sha256") if isinstance(entry.get("sha256"), str) else None


def _sample_image_problems(record: dict, images) -> list:
    problems = []
    for i, image in enumerate(_list(record.get("images"))):
        if not isinstance(image, dict):
            continue
        path = ("images", i)
        data = image.get("bytes")
        if isinstance(data, str):
            try:
                data = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                continue  # reported by the semantic rules
        if not isinstance(data, (bytes, bytearray)):
            continue  # not embedded: the path only records where the build read the image
        problem, _ = images.check_bytes(bytes(data))
        where = path + ("bytes",)
        if problem:
            problems.append((where, problem))
        elif (named := _facts_sha256(record, i)) and hashlib.sha256(data).hexdigest() != named:
            problems.append((where, f"the embedded bytes are not the image image_facts[{i}] names (sha256 {named[:12]}...)"))
    return problems


# ------------------------------------------------------------------------------ MIR-native

def _free_text_problems(value, count: int, path: tuple) -> list:
    """Image numbers free text mentions beyond the record's images, and structured entries."""
    problems = []
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        where = path + (i,) if isinstance(value, list) else path
        if isinstance(item, str):
            beyond = sorted({k for k in mir_format.image_mentions(item) if k > count})
            if beyond:
                shown = ", ".join(map(str, beyond[:5])) + (", ..." if len(beyond) > 5 else "")
                problems.append((where, f"mentions image {shown} but the record has {count} images"))
        elif isinstance(item, dict):
            problems += _region_problems(item, count, where)
            for end in ("from", "to"):
                if isinstance(item.get(end), dict):
                    problems += _region_problems(item[end], count, where + (end,))
    return problems


def _mir_semantics(record: dict) -> list:
    images, count, problems = _images_and_placeholders(record)

    task = mir_format.task_id(record.get("task"))
    category = record.get("category")
    if task and isinstance(category, str) and category_of(task) not in re.findall(r"[a-z]+", category.lower()):
        problems.append((("category",), f"task {record['task']} belongs to {category_of(task)}, not {category}"))

    opts = mir_format.read_options(record.get("options"))
    problems += [(("options",) + tuple(p), m) for p, m in opts.problems]
    if isinstance(record.get("options"), dict):
        for label in opts.labels:
            if not re.fullmatch(r"[A-Z]", label):
                problems.append((("options", label), f"option label {_quote(label)} is not a capital letter"))
    for label, text, raw in zip(opts.labels, opts.texts, _option_values(record.get("options"))):
        if text is None:
            where = ("options", label) if isinstance(record.get("options"), dict) else ("options",)
            problems.append((where, f"option {label} is {_kind(raw)}, not text"))
    if opts.labels and not opts.problems:
        problems += _label_problems(opts.labels, ("options",), ordered=not isinstance(record.get("options"), dict))
    problems += _text_problems(opts.texts, opts.labels, ("options",))
    problems += _answer_problems(record, opts)

    caption = record.get("caption")
    if count is not None and isinstance(caption, list) and len(caption) != count:
        problems.append((("caption",), f"{len(caption)} captions for {count} images"))
    if count is not None:
        for key in ("text2img", "img2img", "reasoning"):
            if isinstance(record.get(key), (str, list)):
                problems += _free_text_problems(record[key], count, (key,))
    return problems


def _option_values(options) -> list:
    if isinstance(options, dict):
        return list(options.values())
    return list(options) if isinstance(options, list) else []


def _answer_problems(record: dict, opts) -> list:
    labels = [label for label in opts.labels if isinstance(label, str)]
    if not labels:
        return []
    problems, given = [], None
    if "answer" in record and record["answer"] is not None:
        given = mir_format.answer_field_label(record["answer"], opts.labels, opts.texts)
        if given is None or given not in labels:
            problems.append((("answer",), f"answer {_quote(record['answer'])} is not an option label "
                                          f"(labels: {_labels_text(labels)})"))
            given = None
    conclusion = record.get("conclusion")
    if not isinstance(conclusion, str) or not conclusion.strip():
        return problems
    named, choice = mir_format.conclusion_letters(conclusion)
    unknown = sorted({letter for letter in named if letter not in labels})
    if unknown:
        problems.append((("conclusion",), f"the conclusion names {', '.join(unknown)}, which is not an option label "
                                          f"(labels: {_labels_text(labels)})"))
    elif choice and given and choice != given:
        problems.append((("conclusion",), f"the conclusion names {choice} but the answer is {given}"))
    elif not named and "answer" not in record:
        if not mir_format.text_named(conclusion, opts.labels, opts.texts):
            problems.append((("conclusion",), "the conclusion names no option (give a letter such as 'A', a "
                                              "sentence such as 'The answer is A', or an 'answer' field)"))
    elif named and not choice and "answer" not in record:
        problems.append((("conclusion",), f"the conclusion names several options ({', '.join(sorted(set(named)))}); "
                                          "add an 'answer' field or name one"))
    return problems


def _mir_image_problems(record: dict, images) -> list:
    problems = []
    for i, path in enumerate(_list(record.get("images"))):
        if isinstance(path, str) and path:
            problem, _ = images.check_path(path)
            if problem:
                problems.append((("images", i), problem))
    return problems


# ------------------------------------------------------------------------------------ images

class ImageChecker:
    """Opens the images a record names: paths must stay inside ``root`` (no ``..`` escape, no
    absolute path elsewhere; checked on the path as written, so a symlinked folder inside the
    root is fine), exist, and decode; embedded bytes must decode. Results are cached per path."""

    def __init__(self, root: str, *, max_file_bytes: int = MAX_IMAGE_FILE_BYTES, max_pixels: int = None):
        from PIL import Image  # Pillow loads only when images are checked
        self.root = os.path.abspath(root)
        self.max_file_bytes = max_file_bytes
        self.max_pixels = max_pixels or Image.MAX_IMAGE_PIXELS
        self._cache = {}

    def resolve(self, path: str):
        """(absolute path, None) or (None, why the path is not acceptable)."""
        if "\x00" in path:
            return None, "the path contains a NUL character"
        if _URL.match(path):
            return None, f"{_quote(path)} is a URL, not a path under the images root"
        full = os.path.normpath(os.path.join(self.root, path))
        if os.path.commonpath([self.root, full]) != self.root:
            how = "is an absolute path outside" if os.path.isabs(path) else "escapes"
            return None, f"{_quote(path)} {how} the images root {self.root}"
        return full, None

    def check_path(self, path: str):
        """(problem or None, (sha256, width, height) or None)."""
        full, problem = self.resolve(path)
        if problem:
            return problem, None
        if full in self._cache:
            return self._cache[full]
        result = self._check_file(path, full)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[full] = result
        return result

    def _check_file(self, path: str, full: str):
        try:
            if not os.path.isfile(full):
                return (f"{_quote(path)} is a folder, not an image file" if os.path.isdir(full)
                        else f"{_quote(path)} not found under the images root {self.root}"), None
            size = os.path.getsize(full)
            if size > self.max_file_bytes:
                return f"{_quote(path)} is {size:,} bytes, over the {self.max_file_bytes:,}-byte limit for an image", None
            with open(full, "rb") as f:
                data = f.read()
        except OSError as exc:
            return f"{_quote(path)} cannot be read: {exc.strerror or exc}", None
        problem, facts = self.check_bytes(data)
        return (f"{_quote(path)} {problem}" if problem else None), facts

    def check_bytes(self, data: bytes):
        """(problem or None, (sha256, width, height) or None)."""
        # Pillow, OpenCV and numpy load only when images are checked (`mir validate --no-images` skips them).
        from PIL import Image

        from ..images.decode import ImageRejected, decode_image
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = decode_image(data, max_pixels=self.max_pixels, min_side=1)
        except ImageRejected as exc:
            return f"does not decode as an image ({exc.reason}: {exc})", None
        except Exception as exc:  # a decoder failing in a way images.decode did not foresee
            return f"does not decode as an image ({exc.__class__.__name__}: {exc})", None
        return None, (hashlib.sha256(data).hexdigest(), img.width, img.height)


# -------------------------------------------------------------------------------- the judge

def validate_record(record, *, schema: str = None, images: ImageChecker = None) -> list:
    """Problems of one record; an empty list means valid.

    ``schema``: "sample" (this project's format), "mir" (MIR-native) or None to tell from the
    record (``mir_format.detect``). ``images``: an ``ImageChecker`` to open the record's
    images with; None (the build's Validate stage) leaves image files and bytes alone.
    """
    if not isinstance(record, dict):
        return [Problem("$", f"a record must be a JSON object, not {_kind(record)}")]
    fmt = schema or mir_format.detect(record)
    if fmt not in _SCHEMA_NAMES:
        raise ValueError(f"unknown record format {fmt!r}: expected 'sample' or 'mir'")
    found, too_deep = _value_problems(record, fmt)
    problems = [Problem(json_path(parts), message) for parts, message in found]
    if too_deep:
        return problems
    broken = {tuple(parts) for parts, _ in found}
    schema_problems, schema_broken = _schema_problems(_schema_form(record) if fmt == "sample" else record,
                                                      _SCHEMA_NAMES[fmt])
    flagged = {p.path for p in problems}
    problems += [p for p in schema_problems if p.path not in flagged]  # NaN is also "above the maximum"
    broken |= schema_broken
    semantic = _sample_semantics(record) if fmt == "sample" else _mir_semantics(record)
    if images is not None:
        semantic += _sample_image_problems(record, images) if fmt == "sample" else _mir_image_problems(record, images)
    seen = set(problems)
    for parts, message in semantic:
        problem = Problem(json_path(parts), message)
        if _keep(tuple(parts), broken) and problem not in seen:
            seen.add(problem)
            problems.append(problem)
    return problems


def validate_sample(record) -> list:
    """Problems of a record in this project's sample format (bytes may be raw or base64)."""
    return validate_record(record, schema="sample")


class Judge:
    """``validate_record`` over a stream of records, plus the rule no single record can keep:
    ids are unique across all of them."""

    def __init__(self, *, schema: str = None):
        self.schema = schema
        self._ids = {}

    def check(self, record, where: str, images: ImageChecker = None) -> list:
        problems = validate_record(record, schema=self.schema, images=images)
        if isinstance(record, dict) and (isinstance(record.get("id"), str) or _is_int(record.get("id"))):
            key = (type(record["id"]).__name__, record["id"])
            if key in self._ids:
                problems.append(Problem("$.id", f"id {_quote(record['id'])} is already used by {self._ids[key]}"))
            else:
                self._ids[key] = where
        return problems
