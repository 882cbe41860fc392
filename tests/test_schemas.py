"""Every schema is valid 2020-12 JSON Schema and accepts its own examples."""
import json

import pytest
from jsonschema import Draft202012Validator

from pipeline.output.arrow_schema import arrow_schema
from pipeline.schemas import SCHEMA_NAMES, load_schema, task_ids, validator
from pipeline.tasks import CATEGORIES, TASKS


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_and_accepts_its_examples(name):
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["examples"], f"{name} has no examples"
    for example in schema["examples"]:
        assert list(validator(name).iter_errors(example)) == []


def test_sample_schema_rejects_a_broken_example():
    broken = dict(load_schema("sample")["examples"][0], answer="Z")
    assert list(validator("sample").iter_errors(broken))


def test_every_task_id_of_the_schema_has_its_module_and_every_category_its_tasks():
    assert sorted(TASKS) == sorted(task_ids())
    assert sorted(CATEGORIES) == sorted(load_schema("sample")["properties"]["category"]["enum"])
    # The MIR paper's three categories, in the order the schema's task list meets them.
    assert CATEGORIES == ("sequential", "spatial", "analytical")


def test_arrow_schema_follows_the_sample_schema():
    schema = arrow_schema("sample")
    assert schema.names == list(load_schema("sample")["properties"])
    image = schema.field("images").type.value_type
    # The Hugging Face Image layout, exactly: datasets decodes only {bytes, path}.
    assert [(f.name, str(f.type)) for f in image] == [("bytes", "binary"), ("path", "string")]
    facts = schema.field("image_facts").type.value_type
    assert str(facts.field("width").type) == "int64"
    assert "bytes" not in facts.names


def test_arrow_schema_declares_images_to_huggingface():
    features = json.loads(arrow_schema("sample").metadata[b"huggingface"])["info"]["features"]
    assert features["images"] == {"feature": {"_type": "Image"}, "_type": "Sequence"}
    assert features["id"] == {"dtype": "string", "_type": "Value"}
    # A list of records is written [{...}]: a Sequence of records means a record of lists to datasets.
    assert isinstance(features["image_facts"], list) and features["image_facts"][0]["width"]["dtype"] == "int64"
    assert features["options"][0] == {"label": {"dtype": "string", "_type": "Value"},
                                      "text": {"dtype": "string", "_type": "Value"}}
