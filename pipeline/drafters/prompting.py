"""The LLM drafter's prompt: prompts/system.md with the draft schema filled in, then the task's
prompt, and the interleaved user message of one context.

The output format is never restated by hand: the system prompt embeds schemas/draft.schema.json
and the ``response_format`` (``llm.requests``) is a strict variant derived from the same schema.
"""
import functools
import json

from ..interleaving import image_sentences
from ..llm.requests import Prompt, data_url, prompt_file
from ..schemas import load_schema

SCHEMA_SLOT = "{{draft_schema}}"


@functools.cache
def load_prompt(task_id: str) -> Prompt:
    schema = {k: v for k, v in load_schema("draft").items() if k != "examples"}
    # Compact JSON: the schema is read by the model, not by people, and indentation costs ~250 tokens a request.
    system = prompt_file("system.md").replace(SCHEMA_SLOT, json.dumps(schema, separators=(",", ":")))
    return Prompt.of(f"prompts/{task_id}.md", f"{system}\n\n{prompt_file(f'{task_id}.md')}")


def grounded_facts(grounded) -> dict:
    """What the metadata fixes, for the model to word: the question, the candidate answers in
    their balanced order, and the facts that decide it (not the answer itself)."""
    draft = grounded.draft
    return {"question": draft["question"], "candidates": [o["text"] for o in draft["options"]],
            "text2region": draft["reasoning"]["text2region"], "region2region": draft["reasoning"]["region2region"]}


def user_content(context, images, grounded, *, vision: bool, side: int) -> list:
    """The user message: task and grounded facts as JSON, then each image with its metadata and
    the sentence of the grounded question bound to it (the fact to keep next to that image)."""
    facts = {"task": context.task, "image_count": len(images),
             "grounded": grounded_facts(grounded) if grounded else None}
    parts = [{"type": "text", "text": "Draft one question for this context.\n```json\n"
                                      + json.dumps(facts, sort_keys=True) + "\n```"}]
    bound = image_sentences(grounded.draft["question"]) if grounded else []
    for number, (slot, image) in enumerate(zip(context.images, images), start=1):
        meta = {k: v for k, v in slot.image.metadata.items() if k not in ("licence", "attribution")}
        parts.append({"type": "text", "text": f"Image {number}: metadata {json.dumps(meta, sort_keys=True)}"
                                              + (f", derived by {json.dumps(slot.transform, sort_keys=True)}"
                                                 if slot.transform else "")
                                              + (f"; the grounded question's text for it: {json.dumps(bound[number - 1])}"
                                                 if number <= len(bound) else "")})
        if vision:
            marks = (slot.transform or {}).get("marks", ())
            parts.append({"type": "image_url", "image_url": {"url": data_url(image["bytes"], side, marks)}})
    return parts
