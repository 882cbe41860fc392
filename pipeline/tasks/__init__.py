"""The task registry: every module in this package defines one ``TASK``.

Adding a task means adding one module here (and its prompt under prompts/); nothing else
lists the tasks.
"""
import importlib
import pkgutil

from ..schemas import task_ids

_MODULES = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base")
TASKS = {task.id: task for task in (importlib.import_module(f"{__name__}.{m}").TASK for m in _MODULES)}

_unknown = sorted(set(TASKS) - set(task_ids()))
if _unknown:
    raise ImportError(f"task modules {_unknown} are not in source_metadata.schema.json's task_id enum")


def get_task(task_id: str):
    return TASKS[task_id]
