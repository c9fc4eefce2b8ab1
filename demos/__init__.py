"""The hub's tabs, in display order: the modules its task records name (tasks.py), each with TASK, build(runtime)
and ENDPOINTS; a tab's title is the catalog text tab_<TASK> (messages/). After them, the optimisation lab, a tab
about the tasks' models rather than a task of its own, with its own endpoint."""
import importlib

from tasks import TASKS

TABS = tuple(importlib.import_module(f"demos.{name}") for name in dict.fromkeys(task.tab for task in TASKS))
LAB = importlib.import_module("demos.optimisation")
ENDPOINTS = tuple(endpoint for tab in (*TABS, LAB) for endpoint in tab.ENDPOINTS)  # every endpoint of the API
