"""The hub's tabs, in display order: the modules its task records name (tasks.py), each with TASK, build(runtime)
and ENDPOINTS; a tab's title is the catalog text tab_<TASK> (messages/)."""
import importlib

from tasks import TASKS

TABS = tuple(importlib.import_module(f"demos.{name}") for name in dict.fromkeys(task.tab for task in TASKS))
