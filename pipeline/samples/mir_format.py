"""The MIR-native record format (the released ``all_data_rel.json``) next to ours.

A MIR-native record has ``images`` (paths), ``question`` with ``<image>`` (or numbered
``<image1>``..``<imageN>``) placeholders, ``options`` (a dict ``{"A": text}`` or a list of
strings, possibly "A. text" style), ``summary``, ``caption`` (one per image, or one string),
``text2img`` and ``img2img`` (free text or lists), optional ``reasoning``, and ``conclusion``
(a letter, or a sentence naming one); often an ``answer``. ``schemas/mir_native.schema.json``
describes it.

This module reads such records (``read_options``, ``conclusion_letters``, ``chosen_label``,
``captions_of``), tells the two formats apart (``detect``) and converts between them
(``to_mir``, ``to_sample``; ``to_sample`` reads ``text2img`` and ``img2img`` into structured
entries with ``mir_regions``). The rules a record must keep live in ``judge.py``.
"""
import base64
import dataclasses
import io
import json
import os
import re
import string

from .. import __version__
from ..records import content_id, image_entry, sha256_hex
from ..schemas import load_schema
from ..tasks import TASKS, category_of
from .mir_regions import read_region2region, read_text2region

MIR_KEYS = ("summary", "caption", "text2img", "img2img")
SAMPLE_KEYS = ("context_id", "provenance", "difficulty", "ground_truth")
# Keys a MIR record may carry that ``to_sample`` understands; any other key is kept verbatim
# in the sample's ``mir_native.extra``.
MIR_KNOWN_KEYS = ("id", "task", "category", "split", "images", "question", "options", "answer", "summary",
                  "caption", "text2img", "img2img", "reasoning", "conclusion", "mir_builder")
# Where ``to_mir`` keeps what MIR has no field for, so ``to_sample`` can restore it exactly.
BUILDER_KEY = "mir_builder"
IMAGE_FACTS = tuple(load_schema("sample")["$defs"]["image_facts"]["properties"])

PLACEHOLDER = re.compile(r"<image(\d*)>")
LABELS = string.ascii_uppercase

# "A. text", "A: text", "A) text", "(A) text", "[A] text"
_OPTION_PREFIX = re.compile(r"^\s*(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z])\s*[.:)\]])\s*(.*)$", re.S)
_BARE_LETTER = re.compile(r"^\s*[(\[*\"']*([A-Za-z])[)\]*\"']*\s*(?:[.!]\s*)?$")
# How a sentence names its answer, most explicit first; the last mention of the first kind
# found wins ("Option A looks close, but the answer is B" names B).
# (No two adjacent quantifiers can match the same characters, so none backtracks
# quadratically on a long run of spaces.)
_CONCLUSION_PATTERNS = (
    re.compile(r"\b(?i:answer)(?:\s+(?i:is|would be|should be|must be))?\s*(?:[:=\-]\s*)?[(\[*\"']*"
               r"(?:(?i:option|choice)\s*[(\[*\"']*)?([A-Z])(?![A-Za-z0-9])"),
    re.compile(r"\b(?i:option|choice)\s*[(\[*\"']*([A-Z])(?![A-Za-z0-9])"),
    re.compile(r"\b(?i:choose|chose|select|pick|go with)\s+[(\[*\"']*([A-Z])(?![A-Za-z0-9])"),
    re.compile(r"(?<![A-Za-z0-9])([A-Z])[)\]*\"']*\s+(?i:is)\s+(?:(?i:the)\s+)?(?i:correct|right|answer|best)\b"),
    re.compile(r"^\s*[(\[]?([A-Z])[)\].:](?:\s|$)"),
    re.compile(r"\(([A-Z])\)"),
    re.compile(r"\b(?i:is|so|thus|therefore|hence)[,:]?\s+[(\[*\"']*([A-Z])[)\]*\"']*\s*(?:[.!]\s*)?$"),
)
_IMAGE_MENTION = re.compile(r"<image(\d+)>|\b[Ii]mage[ _-]?(\d+)\b")


class ConversionError(Exception):
    """A record that cannot be converted; the message says why, in one line."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


# ------------------------------------------------------------------------------------ detection

def detect(record) -> str:
    """``"sample"`` (this project's format) or ``"mir"`` (MIR-native) for one record."""
    if not isinstance(record, dict):
        return "sample"
    if isinstance(record.get("reasoning"), dict):
        return "sample"
    if any(key in record for key in MIR_KEYS):
        return "mir"
    if any(key in record for key in SAMPLE_KEYS):
        return "sample"
    options, images = record.get("options"), record.get("images")
    if isinstance(options, dict) or "conclusion" in record:
        return "mir"
    if isinstance(options, list) and options and all(isinstance(o, str) for o in options):
        return "mir"
    if isinstance(images, list) and images and all(isinstance(i, str) for i in images):
        return "mir"
    return "sample"


# ------------------------------------------------------------------------------------- reading

def placeholders(question: str) -> list:
    """Every placeholder in reading order: None for ``<image>``, N for ``<imageN>``."""
    return [int(n) if n else None for n in PLACEHOLDER.findall(question)]


def image_mentions(text: str) -> list:
    """Image numbers free text mentions (``<image3>``, ``Image 3``, ``image-3``)."""
    return [int(a or b) for a, b in _IMAGE_MENTION.findall(text)]


def option_text(value) -> str | None:
    """The text of a MIR option value (a string, a number, or a list of them); None if none."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return ", ".join(v if isinstance(v, str) else json.dumps(v) for v in value)
    return None


@dataclasses.dataclass
class Options:
    labels: list            # in the record's order
    texts: list             # text per label (None where the value has no text form)
    problems: list          # (json path parts, message) about the form of the options


def read_options(options) -> Options:
    """Labels and texts of a MIR ``options`` value (dict, or list of strings)."""
    if isinstance(options, dict):
        labels, texts, problems = [], [], []
        for key, value in options.items():
            labels.append(key)
            texts.append(option_text(value))
        return Options(labels, texts, problems)
    if not isinstance(options, list):
        return Options([], [], [])
    parsed = [_OPTION_PREFIX.match(o) if isinstance(o, str) else None for o in options]
    prefixed = [m is not None for m in parsed]
    if all(prefixed):
        labels = [next(g for g in m.groups()[:3] if g) for m in parsed]
        return Options(labels, [m.group(4) for m in parsed], [])
    texts = [o if isinstance(o, str) else option_text(o) for o in options]
    labels = list(LABELS[:len(options)]) if len(options) <= len(LABELS) else \
        list(LABELS) + [f"#{i}" for i in range(len(LABELS), len(options))]
    problems = []
    if any(prefixed):
        unlabelled = [i for i, p in enumerate(prefixed) if not p]
        problems.append(([], f"options {unlabelled} have no label prefix (like 'A. ') while the others do"))
    return Options(labels, texts, problems)


def letter_of(text: str) -> str | None:
    """The option letter a bare answer names: "B", "b", "(B)", "B." -> "B"; else None."""
    if not isinstance(text, str):
        return None
    match = _BARE_LETTER.match(text)
    return match.group(1).upper() if match else None


def conclusion_letters(conclusion: str) -> tuple:
    """(letters named, choice) for a MIR conclusion: a bare letter, else the letters the first
    of ``_CONCLUSION_PATTERNS`` that finds any names. The choice is the last letter after
    "answer" ("Option A looks close, but the answer is B" chooses B); for the weaker patterns
    it is the letter only when they all name the same one, else None (ambiguous)."""
    if not isinstance(conclusion, str):
        return [], None
    bare = letter_of(conclusion)
    if bare:
        return [bare], bare
    for index, pattern in enumerate(_CONCLUSION_PATTERNS):
        found = pattern.findall(conclusion)
        if found:
            return found, found[-1] if index == 0 or len(set(found)) == 1 else None
    return [], None


def answer_field_label(answer, labels: list, texts: list) -> str | None:
    """The label a MIR ``answer`` value names: a letter ("B", "(b)"), "B. text", or exactly
    one option's text; None when it names none."""
    if not isinstance(answer, str):
        return None
    letter = letter_of(answer)
    if letter:
        return letter
    prefixed = _OPTION_PREFIX.match(answer)
    if prefixed:
        return next(g for g in prefixed.groups()[:3] if g)
    wanted = " ".join(answer.split()).casefold()
    named = [label for label, text in zip(labels, texts)
             if isinstance(text, str) and " ".join(text.split()).casefold() == wanted]
    return named[0] if len(named) == 1 else None


def chosen_label(record: dict, opts: "Options") -> str | None:
    """The option a valid MIR record gives as its answer: its ``answer`` field, else the
    letter its conclusion names, else the one option whose text the conclusion quotes."""
    if record.get("answer") is not None:
        return answer_field_label(record["answer"], opts.labels, opts.texts)
    _, choice = conclusion_letters(record.get("conclusion"))
    return choice or text_named(record.get("conclusion", ""), opts.labels, opts.texts)


def text_named(conclusion: str, labels: list, texts: list) -> str | None:
    """The label of the one option whose text the conclusion quotes, if exactly one."""
    if len(labels) > len(LABELS):
        return None
    lowered = conclusion.casefold()
    named = [label for label, text in zip(labels, texts)
             if isinstance(text, str) and len(text.strip()) >= 2 and text.strip().casefold() in lowered]
    return named[0] if len(named) == 1 else None


def captions_of(caption, count: int) -> list | None:
    """One caption per image: the list as given, or a string split on "Image k:" markers
    when it has exactly ``count`` of them in order (a single image takes the whole string)."""
    if isinstance(caption, list):
        return caption
    if not isinstance(caption, str):
        return None
    if count == 1:
        return [caption]
    parts = re.split(r"(?:^|\n|\s)(?:<image(\d+)>|[Ii]mage[ _-]?(\d+))\s*[:.\-]\s*", caption)
    numbers = [int(a or b) for a, b in zip(parts[1::3], parts[2::3])]
    if numbers == list(range(1, count + 1)):
        texts = [t.strip() for t in parts[3::3]]
        if all(texts):
            return texts
    return None


# ------------------------------------------------------------------------------ ours -> MIR

def box_text(bbox) -> str:
    """A normalised box as text, three decimals a coordinate: how boxes read in MIR text and training files."""
    return "[" + ", ".join(f"{v:.3f}" for v in bbox) + "]"


def render_text2region(entries: list) -> str:
    """Our structured Text2Region as readable lines."""
    return "\n".join(f"Image {e['image']} {box_text(e['bbox'])}: \"{e['text']}\" ({e['label']})" for e in entries)


def render_region2region(entries: list) -> str:
    """Our structured Region2Region as readable lines."""
    return "\n".join(f"{e['from']['label']} (image {e['from']['image']}, {box_text(e['from']['bbox'])}) {e['relation']} "
                     f"{e['to']['label']} (image {e['to']['image']}, {box_text(e['to']['bbox'])}): {e['explanation']}"
                     for e in entries)


def _joined_text(structured: str, free: list | None):
    parts = ([structured] if structured else []) + list(free or [])
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else parts


IMAGE_EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif",
                    "BMP": ".bmp", "TIFF": ".tif"}


def image_extension(data: bytes) -> str:
    from PIL import Image  # Pillow loads only when an image is written out (mir validate never needs it)
    try:
        with Image.open(io.BytesIO(data)) as img:
            return IMAGE_EXTENSIONS.get(img.format, "." + (img.format or "bin").lower())
    except Exception:
        return ".bin"


def _image_bytes(image: dict) -> bytes | None:
    data = image.get("bytes")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str):
        return base64.b64decode(data, validate=True)
    return None


def to_mir(sample: dict, *, write_image=None) -> dict:
    """A valid sample as a MIR-native record. ``write_image(data) -> path`` stores an embedded
    image and returns the path to list in ``images``; an image without bytes keeps its uri.
    What MIR has no field for goes under ``mir_builder`` so ``to_sample`` can restore it."""
    reasoning = sample["reasoning"]
    native = sample.get("mir_native") or {}
    paths, metas = [], []
    for i, (image, facts) in enumerate(zip(sample["images"], sample["image_facts"])):
        data = _image_bytes(image)
        if data is not None:
            if write_image is None:
                raise ConversionError(f"$.images[{i}]", "the image is embedded but no folder was given to write it to")
            paths.append(write_image(data))
        elif facts["derived_from"]:
            raise ConversionError(f"$.images[{i}]", "a derived image without bytes cannot be written out")
        else:
            paths.append(facts["uri"])
        metas.append(facts)
    out = {"id": native["id"] if native.get("id") is not None else sample["id"]}
    out.update({"task": sample["task"], "category": sample["category"],
                "images": paths, "question": sample["question"],
                "options": {o["label"]: o["text"] for o in sample["options"]}, "answer": sample["answer"],
                "summary": reasoning["summary"], "caption": list(reasoning["captions"]),
                "text2img": _joined_text(render_text2region(reasoning["text2region"]), native.get("text2img")),
                "img2img": _joined_text(render_region2region(reasoning["region2region"]), native.get("img2img"))})
    if native.get("reasoning"):
        out["reasoning"] = native["reasoning"][0] if len(native["reasoning"]) == 1 else list(native["reasoning"])
    out["conclusion"] = reasoning["conclusion"]
    if native.get("extra"):
        for key, value in json.loads(native["extra"]).items():
            out.setdefault(key, value)
    out[BUILDER_KEY] = {
        "id": sample["id"], "context_id": sample["context_id"], "split": sample["split"],
        "images": metas, "text2region": reasoning["text2region"], "region2region": reasoning["region2region"],
        "difficulty": sample["difficulty"], "provenance": sample["provenance"],
        "ground_truth": sample["ground_truth"],
    }
    return out


# ------------------------------------------------------------------------------ MIR -> ours

@dataclasses.dataclass
class SampleDefaults:
    """What a MIR record may not say and a sample needs; ``mir convert`` options."""
    task: str | None = None
    split: str = "test"
    source: str = "mir_native"
    licence: str = "unknown"
    attribution: str = "contributed in the MIR-native format"
    embed: bool = True


def task_id(name) -> str | None:
    """Our task id for a MIR task name ("Speed Comparison", "3D View", ...), if it is one."""
    if not isinstance(name, str):
        return None
    key = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    key = {"3d_view": "view_3d", "yes_but": "yes_but_satire", "scale_and_blur": "scale_blur"}.get(key, key)
    return key if key in TASKS else None


def _as_text_list(value) -> list | None:
    """MIR free text (a string or a list) as a list of strings, each kept verbatim; entries
    that are not strings are kept as their JSON text."""
    if value is None or value == "" or value == []:
        return None
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in items]


def to_sample(record: dict, *, read_image, defaults: SampleDefaults) -> dict:
    """A valid MIR-native record as a sample. ``read_image(path) -> (bytes, width, height,
    phash)`` reads one of its images (the caller resolves paths under its images root) or
    raises ConversionError."""
    builder = record.get(BUILDER_KEY) if isinstance(record.get(BUILDER_KEY), dict) else {}
    count = len(record["images"])
    task = task_id(record.get("task")) or task_id(defaults.task)
    if task is None:
        where = "$.task" if "task" in record else "$"
        raise ConversionError(where, "no task this project knows: name one with --task")
    opts = read_options(record["options"])
    options = [{"label": label, "text": text} for label, text in zip(opts.labels, opts.texts)]
    answer = chosen_label(record, opts)
    captions = captions_of(record["caption"], count)
    if captions is None:
        raise ConversionError("$.caption", f"one caption string for {count} images cannot be split into one "
                                           "caption per image (write 'Image 1: ... Image 2: ...' or a list)")

    images, facts, metas = [], [], builder.get("images") if isinstance(builder.get("images"), list) else []
    for i, path in enumerate(record["images"]):
        try:
            data, width, height, phash = read_image(path)
        except ConversionError as exc:
            raise ConversionError(f"$.images[{i}]", exc.message) from None
        digest = sha256_hex(data)
        meta = metas[i] if i < len(metas) and isinstance(metas[i], dict) else {}
        if meta.get("sha256") == digest:
            known = {k: meta.get(k) for k in IMAGE_FACTS}
        else:
            known = {"uri": path, "width": width, "height": height, "sha256": digest, "phash": phash,
                     "derived_from": None, "transform": None}
        known["file_size"] = len(data)
        facts.append(known)
        images.append(image_entry(known, data if defaults.embed else None))

    sizes = [(f["width"], f["height"]) for f in facts]
    text2region, free_t2r = _regions(record["text2img"], builder.get("text2region"), render_text2region,
                                     lambda rest: read_text2region(rest, sizes))
    region2region, free_r2r = _regions(record["img2img"], builder.get("region2region"), render_region2region,
                                       lambda rest: read_region2region(rest, sizes))
    context = builder.get("context_id") or content_id(task, [f["sha256"] for f in facts])
    sample_id = builder.get("id") if isinstance(builder.get("id"), str) and builder["id"].startswith(task + "-") \
        else f"{task}-{content_id(context, record['question'], options, answer, 'mir_native')}"
    extra = {k: v for k, v in record.items() if k not in MIR_KNOWN_KEYS}
    original_id = record.get("id")
    native = {
        "id": None if original_id is None or original_id == sample_id else
        (original_id if isinstance(original_id, str) else json.dumps(original_id)),
        "text2img": free_t2r, "img2img": free_r2r, "reasoning": _as_text_list(record.get("reasoning")),
        "extra": json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None,
    }
    sample = {
        "id": sample_id, "context_id": context, "task": task, "category": category_of(task),
        "split": builder.get("split") or (record["split"] if record.get("split") in ("train", "test") else defaults.split),
        "images": images, "image_facts": facts, "question": record["question"], "options": options, "answer": answer,
        "reasoning": {"summary": record["summary"], "captions": captions, "text2region": text2region,
                      "region2region": region2region, "conclusion": record["conclusion"]},
        "difficulty": builder.get("difficulty") or _difficulty(record.get("difficulty")),
        "provenance": builder.get("provenance") or {
            "sources": [{"name": defaults.source, "licence": defaults.licence, "attribution": defaults.attribution}],
            "drafter": "mir_native", "model": None, "prompt_id": "mir_native",
            "prompt_hash": content_id("mir_native", length=12), "template": "mir_native",
            "pipeline_version": __version__, "seed": 0},
        "ground_truth": builder.get("ground_truth") or {"verified": False, "method": "contributed"},
    }
    if any(v is not None for v in native.values()):
        sample["mir_native"] = native
    return sample


def _difficulty(level) -> dict:
    if isinstance(level, str) and level.lower() in ("easy", "medium", "hard"):
        return {"level": level.lower(), "pass_rate": None, "samples": 0, "method": "mir_native"}
    # The pipeline's own placeholder for a sample no solver or heuristic has scored.
    return {"level": "hard", "pass_rate": None, "samples": 0, "method": "unscored"}


def _regions(value, structured, render, read) -> tuple:
    """(structured entries, texts kept) of a MIR step: the entries ``mir_builder`` holds when
    the step still starts with their rendering, then whatever of the rest ``read`` can read whole
    (``mir_regions``); what it cannot stays text (the sample's ``mir_native``)."""
    kept, rest = _builder_entries(value, structured, render)
    read, texts = read(rest)
    return kept + read, texts or None


def _builder_entries(value, structured, render) -> tuple:
    """(``mir_builder``'s entries, the rest of the MIR value) when the value is, or starts with,
    their rendering (as ``to_mir`` writes it); else ([], the whole value)."""
    if isinstance(structured, list) and structured:
        try:
            rendered = render(structured)
        except (KeyError, TypeError, ValueError):
            rendered = None
        if rendered is not None and value == rendered:
            return structured, []
        if rendered is not None and isinstance(value, list) and value and value[0] == rendered:
            return structured, value[1:]
    return [], value


def relative_image_path(path: str, start: str) -> str:
    """``path`` relative to ``start``, with forward slashes (as MIR lists them)."""
    return os.path.relpath(path, start).replace(os.sep, "/")
