"""The hub's tabs, in display order: the modules its task records name (tasks.py), each with TASK, build(runtime)
and ENDPOINTS; a tab's title is the catalog text tab_<TASK> (messages/). After them, the workbench's chain tab and
the optimisation lab, a tab about the tasks' models rather than a task of its own, each with its own endpoint.
Each task's main endpoint that can run on two models has a `compare_` twin (engines/compare.py)."""
import importlib

from engines.compare import compared_first
from tasks import TASKS

TABS = tuple(importlib.import_module(f"demos.{name}") for name in dict.fromkeys(task.tab for task in TASKS))
CHAIN = importlib.import_module("demos.chain")
LAB = importlib.import_module("demos.optimisation")
TASK_ENDPOINTS = tuple(endpoint for tab in TABS for endpoint in tab.ENDPOINTS)
COMPARE_ENDPOINTS = tuple(compared_first(TASK_ENDPOINTS))
ENDPOINTS = (*TASK_ENDPOINTS, *COMPARE_ENDPOINTS, *CHAIN.ENDPOINTS, *LAB.ENDPOINTS)  # every endpoint of the API
