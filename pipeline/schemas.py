"""Loading the JSON Schemas in ``schemas/``: the single source of truth for record shapes."""
import functools
import json

import fastjsonschema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from .resources import resource_path

SCHEMA_NAMES = ("sample", "draft", "source_metadata", "manifest", "image_row", "image_table", "reject", "mir_native")


@functools.cache
def load_schema(name: str) -> dict:
    with open(resource_path("schemas", f"{name}.schema.json"), encoding="utf-8") as f:
        return json.load(f)


@functools.cache
def _registry() -> Registry:
    # Registered under their bare file names too, so relative $refs between schemas resolve.
    resources = []
    for name in SCHEMA_NAMES:
        resource = Resource.from_contents(load_schema(name))
        resources += [(load_schema(name)["$id"], resource), (f"{name}.schema.json", resource)]
    return Registry().with_resources(resources)


def _inline(node, res):
    if isinstance(node, list):
        return [_inline(item, res) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        resolved = res.lookup(node["$ref"])
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**_inline(resolved.contents, resolved.resolver), **_inline(siblings, res)}
    return {key: _inline(value, res) for key, value in node.items()}


@functools.cache
def inlined_schema(name: str) -> dict:
    """Schema ``name`` with every ``$ref`` replaced by what it points to (none of our schemas is
    recursive). Validating against it skips reference lookups, several times faster per record."""
    schema = load_schema(name)
    return _inline({k: v for k, v in schema.items() if k != "$defs"}, _registry().resolver(base_uri=schema["$id"]))


@functools.cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(inlined_schema(name))


@functools.cache
def _compiled(name: str):
    # The inlined schemas use only keywords draft-07 knows with the same meaning, so the
    # generated validator agrees with jsonschema on every record it accepts.
    body = {k: v for k, v in inlined_schema(name).items() if k not in ("$schema", "$id")}
    return fastjsonschema.compile(body)


def conforms(name: str, record) -> bool:
    """True when ``record`` is valid against schema ``name``: a compiled fast path, tens of
    times faster than ``validator``. Only a True answer is trusted; for the problems of a
    record it rejects, ask ``validator(name)``, the reference."""
    try:
        _compiled(name)(record)
        return True
    except fastjsonschema.JsonSchemaException:
        return False


def task_ids() -> tuple:
    """The MIR task ids, in the order the schema lists them (``tasks.TASKS`` holds their modules)."""
    return tuple(load_schema("source_metadata")["$defs"]["task_id"]["enum"])
