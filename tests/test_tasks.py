"""Every task record (tasks.py) is whole: what a new task needs is checked here, not found missing in use."""
import importlib
import inspect
import json

import gradio as gr
import pytest
import yaml

import demos
from engines.endpoint import BATCHED, Endpoint
from engines.kinds import LOCAL, REMOTE, Engine
from tasks import TASK_KEYS, TASKS
from tasks import task as record
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


def test_each_task_has_an_engine_of_every_kind():
    """engines/<task>.py: one class per kind (the runtime picks one), the endpoints the tabs serve, and a worker's
    answer (text generation's workers speak OpenAI's chat instead: serve/contract.py)."""
    for key in TASK_KEYS:
        engine = importlib.import_module(f"engines.{key}")
        assert set(engine.KINDS) == {LOCAL, REMOTE}, key
        assert all(issubclass(cls, Engine) and cls.kind == kind for kind, cls in engine.KINDS.items()), key
        assert engine.ENDPOINTS and all(endpoint.task == key for endpoint in engine.ENDPOINTS), key
        assert record(key).batched == any(endpoint.run == BATCHED for endpoint in engine.ENDPOINTS), key
        if key != "text_generation":
            assert callable(engine.answer) and isinstance(engine.MEDIA_INPUTS, bool), key


def test_the_ray_config_serves_every_task_as_its_record_says():
    """`python -m serve.config` writes Ray Serve's config from the records: valid for Ray's own schema."""
    from ray.serve.schema import ServeDeploySchema

    from serve.config import config_yaml

    config = yaml.safe_load(config_yaml())
    ServeDeploySchema.model_validate(config)
    applications = config["applications"]
    assert [application["name"] for application in applications] == list(TASK_KEYS)
    for application in applications:
        task = application["name"]
        assert application["route_prefix"] == f"/{task}" and application["args"]["task"] == task
        assert application["import_path"] == "serve.workers:build"
