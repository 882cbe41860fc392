"""Building Chat Completions requests: prompts from prompts/ named by their content hash, strict
``json_schema`` response formats derived from a JSON Schema, images as data URLs, and re-asks."""
import base64
import copy
import dataclasses
import io

import numpy as np
from PIL import Image

from ..images.decode import decode_image
from ..images.derive import draw_marks
from ..records import content_id
from ..resources import resource_path

# Keywords OpenAI's strict structured outputs do not accept; the full schema is still enforced
# afterwards by the judge, so dropping them loses no check.
UNSUPPORTED_IN_STRICT = ("minLength", "maxLength", "pattern", "minItems", "maxItems", "minimum", "maximum",
                         "examples", "$schema", "$id", "title", "format", "uniqueItems")


@dataclasses.dataclass(frozen=True)
class Prompt:
    id: str       # e.g. "prompts/location_relationship.md"
    system: str   # the system prompt sent
    hash: str     # content hash of ``system``: names the prompt version in provenance and the cache

    @classmethod
    def of(cls, prompt_id: str, system: str) -> "Prompt":
        return cls(id=prompt_id, system=system, hash=content_id(system, length=12))


def prompt_file(name: str) -> str:
    """The text of ``prompts/<name>``."""
    return resource_path("prompts", name).read_text(encoding="utf-8")


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


def data_url(data: bytes, side: int, marks=()) -> str:
    """The image as a JPEG data URL whose longer side is at most ``side`` (deterministic): the
    picture the build saw (``images.decode.decode_image``: EXIF-upright, transparency on white,
    16-bit and float scaled by their range), so boxes stated for it fall where they belong, with
    the ``marks`` its question points at drawn as the sample's copy of it has them."""
    picture = decode_image(data, max_pixels=Image.MAX_IMAGE_PIXELS, min_side=1)
    picture.thumbnail((side, side), Image.Resampling.LANCZOS)
    if marks:
        picture = Image.fromarray(draw_marks(np.asarray(picture.convert("RGB")), marks))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def messages(prompt: Prompt, content: list) -> list:
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": content}]


def reask(messages_sent: list, reply: str, problems: list) -> list:
    """The conversation again, with the faulty reply and the problems found in it."""
    listed = "\n".join(f"- {p}" for p in problems)
    return messages_sent + [{"role": "assistant", "content": reply},
                            {"role": "user", "content": f"Your reply has these problems:\n{listed}\n"
                                                        "Reply again with the whole corrected JSON object."}]
