"""Every schema is valid 2020-12 JSON Schema and accepts its own examples."""
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
    assert str(image.field("bytes").type) == "binary"
    assert str(image.field("width").type) == "int64"
