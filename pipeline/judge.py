"""The one judge of a sample: JSON Schema plus the semantic rules the schema cannot express.

``validate_record`` is used by the build's Validate stage and by ``mir validate``, so the
pipeline and the command line never disagree.
"""
import base64
import dataclasses
import re
import string

from .schemas import validator
from .tasks import TASKS

PLACEHOLDER = re.compile(r"<image>")
CONCLUSION_ANSWER = re.compile(r"Answer:\s*([A-Z])\s*\.?\s*$")


@dataclasses.dataclass(frozen=True)
class Problem:
    path: str      # JSON path into the record, e.g. $.reasoning.text2region[0].bbox
    message: str

    def __str__(self):
        return f"{self.path}: {self.message}"


def _shorten(message: str, limit: int = 200) -> str:
    """jsonschema quotes the offending value; a multi-megabyte string must not flood the output."""
    return message if len(message) <= limit else message[:limit] + "..."


def json_path(parts) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def json_form(record: dict) -> dict:
    """The record as the schema documents it: image bytes as base64 text."""
    images = record.get("images")
    if not isinstance(images, list):
        return record
    converted = [dict(im, bytes=base64.b64encode(im["bytes"]).decode("ascii"))
                 if isinstance(im, dict) and isinstance(im.get("bytes"), (bytes, bytearray)) else im
                 for im in images]
    return dict(record, images=converted)


def _bbox_problems(bbox, path) -> list:
    x0, y0, x1, y1 = bbox
    if x0 >= x1 or y0 >= y1:
        return [Problem(json_path(path), f"box {bbox} needs x0 < x1 and y0 < y1")]
    return []


def _image_ref_problems(image, count, path) -> list:
    if not 1 <= image <= count:
        return [Problem(json_path(path), f"image {image} is out of range: the sample has {count} images")]
    return []


def _reasoning_problems(record) -> list:
    count = len(record["images"])
    reasoning = record["reasoning"]
    problems = []
    if len(reasoning["captions"]) != count:
        problems.append(Problem("$.reasoning.captions", f"{len(reasoning['captions'])} captions for {count} images"))
    for i, entry in enumerate(reasoning["text2region"]):
        base = ["reasoning", "text2region", i]
        problems += _image_ref_problems(entry["image"], count, base + ["image"])
        problems += _bbox_problems(entry["bbox"], base + ["bbox"])
    for i, entry in enumerate(reasoning["region2region"]):
        for end in ("from", "to"):
            base = ["reasoning", "region2region", i, end]
            problems += _image_ref_problems(entry[end]["image"], count, base + ["image"])
            problems += _bbox_problems(entry[end]["bbox"], base + ["bbox"])
    return problems


def _option_problems(record) -> list:
    labels = [o["label"] for o in record["options"]]
    texts = [o["text"].strip().lower() for o in record["options"]]
    problems = []
    if labels != list(string.ascii_uppercase[:len(labels)]):
        problems.append(Problem("$.options", f"labels {labels} are not consecutive from A"))
    if len(set(texts)) != len(texts):
        problems.append(Problem("$.options", "two options have the same text"))
    if record["answer"] not in labels:
        problems.append(Problem("$.answer", f"answer {record['answer']!r} is not an option label"))
    said = CONCLUSION_ANSWER.search(record["reasoning"]["conclusion"])
    if said and said.group(1) != record["answer"]:
        problems.append(Problem("$.reasoning.conclusion",
                                f"the conclusion names {said.group(1)} but the answer is {record['answer']}"))
    return problems


def _semantic_problems(record) -> list:
    problems = []
    placeholders = len(PLACEHOLDER.findall(record["question"]))
    if placeholders != len(record["images"]):
        problems.append(Problem("$.question", f"{placeholders} <image> placeholders for {len(record['images'])} images"))
    task = TASKS.get(record["task"])
    if task and task.category != record["category"]:
        problems.append(Problem("$.category", f"task {record['task']} belongs to {task.category}, not {record['category']}"))
    return problems + _option_problems(record) + _reasoning_problems(record)


def validate_sample(record) -> list:
    """Problems of a record in this project's sample format (bytes may be raw or base64)."""
    record = json_form(record)
    errors = sorted(validator("sample").iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        return [Problem(json_path(e.absolute_path), _shorten(e.message)) for e in errors]
    return _semantic_problems(record)


def validate_record(record) -> list:
    """Problems of one record; an empty list means valid."""
    return validate_sample(record)
