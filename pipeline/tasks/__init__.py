"""Tasks: the task registry. Every module in this package defines one ``TASK`` (``base.Task``):
its id, category, grouping, the metadata it needs and its question templates; ``base`` holds
the template logic tasks share. Everything else that counts or lists tasks or categories reads
``TASKS`` and ``CATEGORIES`` here. May import ``schemas`` and the foundation modules only.

Adding a task means adding one module here, its prompt under prompts/, its id in
source_metadata.schema.json's task_id enum and a test fixture (CONTRIBUTING.md).
"""
import importlib
import pkgutil

from ..schemas import load_schema, task_ids

_MODULES = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base")
TASKS = {task.id: task for task in (importlib.import_module(f"{__name__}.{m}").TASK for m in _MODULES)}
# In the order of the schema's task list, which groups tasks by category as the MIR paper does.
CATEGORIES = tuple(dict.fromkeys(TASKS[t].category for t in task_ids() if t in TASKS))

_unknown = sorted(set(TASKS) - set(task_ids()))
if _unknown:
    raise ImportError(f"task modules {_unknown} are not in source_metadata.schema.json's task_id enum")
_undeclared = sorted(set(CATEGORIES) - set(load_schema("sample")["properties"]["category"]["enum"]))
if _undeclared:
    raise ImportError(f"task categories {_undeclared} are not in sample.schema.json's category enum")


def category_of(task):
    """The category of a task id, or None for an unknown one."""
    if not isinstance(task, str):
        return None
    return TASKS[task].category if task in TASKS else None
