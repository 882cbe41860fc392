"""Arrow schemas derived from the JSON Schemas, so Parquet columns never restate record shapes.

Each schema also carries the Hugging Face ``datasets`` features of its columns (the
``huggingface`` schema metadata ``datasets`` and the Hub read), so an object the JSON Schema
marks ``"x-huggingface": "Image"`` loads as an image. Lists are written in the form every
``datasets`` release reads: ``Sequence`` for lists of values or images, ``[{...}]`` for lists
of records (a ``Sequence`` of records would mean a record of lists there)."""
import functools
import json

import pyarrow as pa

from ..schemas import inlined_schema

_SCALARS = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}


def _arrow_type(schema: dict) -> pa.DataType:
    if "enum" in schema:
        return pa.string()
    declared = schema.get("type")
    types = [t for t in (declared if isinstance(declared, list) else [declared]) if t != "null"]
    if len(types) != 1:
        raise TypeError(f"no single Arrow type for JSON Schema type {declared!r}")
    kind = types[0]
    if kind == "string":
        return pa.binary() if schema.get("contentEncoding") == "base64" else pa.string()
    if kind == "array":
        return pa.list_(_arrow_type(schema["items"]))
    if kind == "object":
        return pa.struct([pa.field(name, _arrow_type(sub)) for name, sub in schema["properties"].items()])
    return _SCALARS[kind]


def _hf_feature(schema: dict, arrow_type: pa.DataType):
    if schema.get("x-huggingface"):
        return {"_type": schema["x-huggingface"]}
    if pa.types.is_list(arrow_type):
        item = _hf_feature(schema["items"], arrow_type.value_type)
        of_records = pa.types.is_struct(arrow_type.value_type) and "_type" not in item
        return [item] if of_records else {"feature": item, "_type": "Sequence"}
    if pa.types.is_struct(arrow_type):
        return {f.name: _hf_feature(schema["properties"][f.name], f.type) for f in arrow_type}
    return {"dtype": _HF_DTYPES[arrow_type], "_type": "Value"}


_HF_DTYPES = {pa.string(): "string", pa.binary(): "binary", pa.int64(): "int64", pa.float64(): "float64",
              pa.bool_(): "bool"}


@functools.cache
def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of records of JSON Schema ``name`` (columns in the schema's order), with
    their Hugging Face features as schema metadata."""
    properties = inlined_schema(name)["properties"]
    fields = [pa.field(key, _arrow_type(sub)) for key, sub in properties.items()]
    features = {f.name: _hf_feature(properties[f.name], f.type) for f in fields}
    return pa.schema(fields, metadata={"huggingface": json.dumps({"info": {"features": features}})})


@functools.cache
def leaf_columns(name: str) -> dict:
    """Parquet path of every leaf column of ``name`` (``images.list.element.bytes``) -> whether
    it is binary (encoded image bytes)."""
    return dict(leaf for field in arrow_schema(name) for leaf in _leaves(field.name, field.type))


def _leaves(path: str, arrow_type: pa.DataType):
    if pa.types.is_list(arrow_type):
        yield from _leaves(f"{path}.list.element", arrow_type.value_type)
    elif pa.types.is_struct(arrow_type):
        for field in arrow_type:
            yield from _leaves(f"{path}.{field.name}", field.type)
    else:
        yield path, pa.types.is_binary(arrow_type)
