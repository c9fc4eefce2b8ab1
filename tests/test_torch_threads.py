"""All model work runs on the process's torch threads (why: models/torch_threads.py)."""
from __future__ import annotations

import contextvars
import os
import threading
import time

import pytest
import torch

from engines.runtime import ModelRuntime
from models.torch_threads import TorchThreads, on_torch_thread


def test_run_hands_back_the_result_and_the_error_from_a_torch_thread():
    threads = TorchThreads(1)
    assert threads.run(lambda: threading.current_thread().name).startswith("torch")
    assert not on_torch_thread()

    def fail():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        threads.run(fail)
    # from a torch thread, run() calls right there: with one thread, waiting would wait for itself
    assert threads.run(lambda: threads.run(lambda: 5)) == 5


def test_the_callers_context_variables_reach_the_torch_thread():
    request = contextvars.ContextVar("request")  # Gradio keeps its progress tracker in one
    request.set("request 1")
    assert TorchThreads(1).run(request.get) == "request 1"


def test_a_forked_child_starts_its_own_threads():
    threads = TorchThreads(1)
    threads.run(lambda: None)  # the parent's thread exists before the fork
    pid = os.fork()
    if pid == 0:  # the child: a ZeroGPU worker is forked like this
        os._exit(0 if threads.run(lambda: 7) == 7 else 1)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child waited for a thread it does not have")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_every_load_and_forward_through_the_app_runs_on_a_torch_thread(runtime, connect, monkeypatch, request):
    from gradio_client import handle_file

    import app as hub_app
    from demos.image_classification import EXAMPLES as IMAGES
    from demos.speech_to_text import EXAMPLES as CLIPS

    loads, forwards = [], []

    build = ModelRuntime._build

    def recording_build(self, spec, context):
        loads.append(threading.current_thread().name)
        return build(self, spec, context)

    monkeypatch.setattr(ModelRuntime, "_build", recording_build)
    client = connect(hub_app.build_app(runtime))
    hook = torch.nn.modules.module.register_module_forward_pre_hook(  # every module of every model
        lambda module, args: forwards.append(threading.current_thread().name))
    request.addfinalizer(hook.remove)

    jobs = [client.submit(text, "", "", api_name="/ner") for text in ("Alice met Bob in Paris.", "Acme Corp", "Oslo")]
    jobs += [client.submit(handle_file(IMAGES[0]), "", "", api_name="/classify_image") for _ in range(3)]
    for job in jobs:
        job.result(timeout=120)
    client.predict("Good morning.", "en", "zh", "", "", api_name="/translate")
    client.predict(handle_file(CLIPS[0]), "", "", "en", "transcribe", api_name="/transcribe")
    client.predict("Once upon a time", "", "", 4, 0.7, 0.9, 0, api_name="/complete")
    client.predict("", "", 2, 2, api_name="/generate_gan")

    assert len(loads) >= 6 and len(forwards) >= 6
    assert all(name.startswith("torch") for name in loads + forwards), set(loads + forwards)
