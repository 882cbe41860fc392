"""Prompts for LLM drafting: the files in prompts/, the output schema, and the chat messages.

The output format is never restated by hand: the system prompt embeds schemas/draft.schema.json
and the ``response_format`` is a strict variant derived from the same schema.
"""
import base64
import copy
import dataclasses
import functools
import io
import json

from PIL import Image

from ..records import content_id
from ..resources import resource_path
from ..schemas import load_schema

SCHEMA_SLOT = "{{draft_schema}}"
# Keywords OpenAI's strict structured outputs do not accept; the full schema is still enforced
# afterwards by the judge, so dropping them loses no check.
UNSUPPORTED_IN_STRICT = ("minLength", "maxLength", "pattern", "minItems", "maxItems", "minimum", "maximum",
                         "examples", "$schema", "$id", "title", "format", "uniqueItems")


@dataclasses.dataclass(frozen=True)
class Prompt:
    id: str       # e.g. "prompts/location_relationship.md"
    system: str   # shared system prompt with the schema filled in, then the task's prompt
    hash: str     # content hash of ``system``: names the prompt version in provenance


def _read(name: str) -> str:
    return resource_path("prompts", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
def load_prompt(task_id: str) -> Prompt:
    schema = {k: v for k, v in load_schema("draft").items() if k != "examples"}
    system = _read("system.md").replace(SCHEMA_SLOT, json.dumps(schema, indent=1))
    text = f"{system}\n\n{_read(f'{task_id}.md')}"
    return Prompt(id=f"prompts/{task_id}.md", system=text, hash=content_id(text, length=12))


def strict_schema(node):
    """The schema as OpenAI strict mode wants it: every property required, no extra properties,
    no keywords it rejects."""
    if isinstance(node, list):
        return [strict_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict_schema(v) for k, v in node.items() if k not in UNSUPPORTED_IN_STRICT}
    if "properties" in node:
        out["properties"] = {k: strict_schema(v) for k, v in node["properties"].items()}
        out["required"] = list(node["properties"])
        out["additionalProperties"] = False
    return out


def response_format(name: str, schema: dict, structured: bool) -> dict:
    """A strict ``json_schema`` response format named ``name``, or JSON mode when not ``structured``."""
    if not structured:
        return {"type": "json_object"}
    return {"type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": strict_schema(copy.deepcopy(schema))}}


def data_url(data: bytes, side: int) -> str:
    """The image as a JPEG data URL whose longer side is at most ``side`` (deterministic)."""
    picture = Image.open(io.BytesIO(data))
    picture = picture.convert("RGB")
    picture.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def grounded_facts(grounded) -> dict:
    """What the metadata fixes, for the model to word: the question, the candidate answers in
    their balanced order, and the facts that decide it (not the answer itself)."""
    draft = grounded.draft
    return {"question": draft["question"], "candidates": [o["text"] for o in draft["options"]],
            "text2region": draft["reasoning"]["text2region"], "region2region": draft["reasoning"]["region2region"]}


def user_content(context, images, grounded, *, vision: bool, side: int) -> list:
    """The interleaved user message: task, facts as JSON, then each image with its metadata."""
    facts = {"task": context.task, "image_count": len(images),
             "grounded": grounded_facts(grounded) if grounded else None}
    parts = [{"type": "text", "text": "Draft one question for this context.\n```json\n"
                                      + json.dumps(facts, sort_keys=True) + "\n```"}]
    for number, (slot, image) in enumerate(zip(context.images, images), start=1):
        meta = {k: v for k, v in slot.image.metadata.items() if k not in ("licence", "attribution")}
        parts.append({"type": "text", "text": f"Image {number}: metadata {json.dumps(meta, sort_keys=True)}"
                                              + (f", derived by {json.dumps(slot.transform, sort_keys=True)}"
                                                 if slot.transform else "")})
        if vision:
            parts.append({"type": "image_url", "image_url": {"url": data_url(image["bytes"], side)}})
    return parts


def messages(prompt: Prompt, content: list) -> list:
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": content}]


def reask(messages_sent: list, reply: str, problems: list) -> list:
    """The conversation again, with the faulty reply and the problems found in it."""
    listed = "\n".join(f"- {p}" for p in problems)
    return messages_sent + [{"role": "assistant", "content": reply},
                            {"role": "user", "content": f"Your reply has these problems:\n{listed}\n"
                                                        "Reply again with the whole corrected JSON object."}]
