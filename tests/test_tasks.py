"""Every task record (tasks.py) is whole: what a new task needs is checked here, not found missing in use."""
import inspect
import json

import gradio as gr
import pytest

import demos
from demos.endpoints import Endpoint
from tasks import TASK_KEYS, TASKS
from tiny_models import TINY


def test_keys_are_unique_and_each_task_has_one_default():
    assert len(set(TASK_KEYS)) == len(TASK_KEYS)
    for task in TASKS:
        assert sum(spec.default for spec in task.models) == 1, task.key
        assert {spec.task for spec in task.models} == {task.key}
        assert len({spec.source for spec in task.models}) == len(task.models), task.key


def test_each_loader_is_a_function_of_spec_directory_device_and_dtype():
    for task in TASKS:
        assert list(inspect.signature(task.loader).parameters)[:4] == ["spec", "model_dir", "device", "dtype"], task.key


def test_each_tab_builds_alone_and_declares_its_endpoints(runtime):
    assert [tab.__name__.removeprefix("demos.") for tab in demos.TABS] == list(dict.fromkeys(t.tab for t in TASKS))
    for tab in demos.TABS:
        with gr.Blocks():
            tab.build(runtime)
        assert tab.ENDPOINTS and all(isinstance(endpoint, Endpoint) for endpoint in tab.ENDPOINTS), tab.__name__
        for endpoint in tab.ENDPOINTS:
            assert endpoint.task in TASK_KEYS and endpoint.fn.__doc__ and "Args:" in endpoint.fn.__doc__


def test_each_task_has_examples_where_it_takes_more_than_numbers():
    for task in TASKS:
        if task.examples is None:
            continue
        files = task.example_files()
        assert files, f"{task.key}: no file matches assets/examples/{task.examples}"
        for path in files:
            if path.suffix == ".json":
                assert json.loads(path.read_text("utf-8"))["examples"], path


def test_each_task_has_a_tiny_model_for_the_tests():
    assert set(TINY) == set(TASK_KEYS)


@pytest.mark.slow
def test_each_tiny_model_loads_through_its_tasks_loader(runtime):
    for task in TASKS:
        spec = runtime.default(task.key)
        assert runtime.load(spec) is runtime.load(spec), task.key
    assert runtime.cache.load_count == len(TASKS) or runtime.settings.max_loaded_models < len(TASKS)
