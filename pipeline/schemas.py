"""Loading the JSON Schemas in ``schemas/``: the single source of truth for record shapes."""
import functools
import json

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from .resources import resource_path

SCHEMA_NAMES = ("sample", "draft", "source_metadata", "manifest", "image_row", "reject", "mir_native")


@functools.lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    with open(resource_path("schemas", f"{name}.schema.json"), encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def _registry() -> Registry:
    # Registered under their bare file names too, so relative $refs between schemas resolve.
    resources = []
    for name in SCHEMA_NAMES:
        resource = Resource.from_contents(load_schema(name))
        resources += [(load_schema(name)["$id"], resource), (f"{name}.schema.json", resource)]
    return Registry().with_resources(resources)


@functools.lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), registry=_registry())


def resolver(name: str):
    """A ``referencing`` resolver rooted at schema ``name``, for walking its ``$ref``s."""
    return _registry().resolver(base_uri=load_schema(name)["$id"])


def task_ids() -> tuple:
    """The 12 MIR task ids, in the order the schema lists them."""
    return tuple(load_schema("source_metadata")["$defs"]["task_id"]["enum"])
