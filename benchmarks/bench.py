"""Measure the hub against its floors, on the default architectures at real size (random weights, offline).

    python benchmarks/bench.py [--repeats 7] [--json benchmarks/results-cpu.json]

Every figure is a ratio of medians taken in the same run, the variants interleaved, because a shared
2-core machine is noisy:
1. per request and tab: raw model call vs the tab's handler vs end-to-end through the running app with
   gradio_client, vs Gradio's own floor: an endpoint of the same app with the tab's input and output
   components that answers with the tab's answer computed beforehand (see `add_floor`);
2. cold start: `python app.py` until HTTP 200 vs a bare script that imports gradio and torch and launches
   an empty Blocks;
3. batching: 8 concurrent clients (light HTTP ones: see http_client.py) on the image-classification and
   NER endpoints, requests per second with the hub's dynamic batching off (--max-batch-size 1) and on (8),
   and with Gradio's own `batch=True` on an endpoint running the same batched model call (see
   models/batching.py for why the tabs don't use it);
4. model lifecycle: first request (load) vs second (no reload), resident memory per model and after
   unloading;
5. openmp: why all model work runs on the torch threads (see `openmp`);
6. guard: what the HTTP guard (http_guard.py: body caps, MCP login, quotas) adds to a request: one echo
   endpoint served without it, with it, and with it in public mode (per-visitor queue share), interleaved.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import torch  # noqa: E402
from default_size_models import build_all  # noqa: E402

from benchmarks.batching_part import TEXT, batching  # noqa: E402
from benchmarks.serving import map_files  # noqa: E402
from benchmarks.startup_and_guard import cold_start, guard  # noqa: E402
from benchmarks.timing import Stopwatch, rss, timed  # noqa: E402
from models.settings import Settings  # noqa: E402
from models.torch_threads import shared_torch_threads  # noqa: E402


def request_cases(runtime, models) -> list[tuple]:
    """(endpoint, the loaded model's module, its method that is the model call, the handler as Gradio calls it
    with the sample's inputs, the sample's API inputs) for every endpoint with a sample request (its Endpoint
    record) whose task has a default-size model here."""
    import shutil

    from gradio.utils import get_upload_folder

    import demos
    from demos.endpoints import STREAM, bound

    uploads = Path(get_upload_folder()) / "benchmark"
    uploads.mkdir(parents=True, exist_ok=True)

    def as_uploaded(inputs):  # a handler takes uploads only, as the API hands them over
        return map_files(inputs, lambda path: str(shutil.copy(path, uploads / path.name)))

    cases = []
    for tab in demos.TABS:
        for endpoint in tab.ENDPOINTS:
            if endpoint.sample is None or endpoint.task not in models:
                continue
            spec = runtime.default(endpoint.task)
            loaded = runtime.load(spec)
            module = getattr(loaded, "model", loaded)
            method = "generate" if getattr(module, "can_generate", lambda: False)() else "forward"
            inputs = endpoint.sample(spec.name)
            call = functools.partial(bound(endpoint, runtime), *as_uploaded(inputs), progress=lambda *a, **k: None)
            handler = (lambda call=call: list(call())) if endpoint.run == STREAM else call
            cases.append((endpoint.api_name, module, method, handler, inputs))
    return cases


def event_of(app, api_name: str):
    return next(fn for fn in app.fns.values() if fn.api_name == api_name.lstrip("/"))


def add_floor(app, api_name: str, answer) -> str:
    """An endpoint with the tab's own input and output components that returns the tab's answer, computed
    beforehand (for a streaming tab, the same partial answers): what Gradio itself spends on this request and
    its answer."""
    import gradio as gr

    tab_event = event_of(app, api_name)
    if inspect.isgeneratorfunction(tab_event.fn):
        def replay(*inputs):
            yield from answer
    else:
        def replay(*inputs):
            return answer
    floor_name = "floor_" + api_name.lstrip("/")
    with app:
        gr.Button(visible=False).click(replay, tab_event.inputs, tab_event.outputs, api_name=floor_name)
    return "/" + floor_name


def per_request(models, repeats: int) -> dict:
    """Per endpoint, paired in each request: the model call inside the handler (raw) and the handler's own cost;
    the tab's function inside the served request and what serving it cost around that; and the floor."""
    from gradio_client import Client, handle_file

    import app as hub_app
    from models.runtime import ModelRuntime

    # every model stays loaded: a reload would be a new object, its forward no longer wrapped by the stopwatch
    runtime = ModelRuntime(Settings(model_overrides={t: str(p) for t, p in models.items()},
                                    max_loaded_models=len(models)))
    app = hub_app.build_app(runtime)
    cases = request_cases(runtime, models)
    floors = {api_name: add_floor(app, api_name, handler()) for api_name, _, _, handler, _ in cases}
    in_model, in_tab = Stopwatch(), Stopwatch()
    for module, method in {(module, method) for _, module, method, _, _ in cases}:  # two endpoints may share one
        setattr(module, method, in_model.wrap(getattr(module, method)))
    for api_name, *_ in cases:
        tab_event = event_of(app, api_name)
        tab_event.fn = in_tab.wrap(tab_event.fn)
    app.launch(prevent_thread_lock=True, quiet=True)
    client = Client(app.local_url, verbose=False, download_files=False)

    def api(api_name, inputs):
        return lambda: client.predict(*map_files(inputs, lambda path: handle_file(str(path))),
                                      api_name="/" + api_name.lstrip("/"))

    times = {api_name: {name: [] for name in ("raw", "handler", "handler_minus_raw", "end_to_end", "serving", "floor")}
             for api_name, *_ in cases}
    for repeat in range(repeats + 1):  # the first round warms up (first calls pay one-off costs)
        for api_name, _, _, handler, inputs in cases:
            measured = times[api_name]

            def run_handler(handler=handler):
                in_model.take()
                seconds = timed(handler)
                raw = in_model.take()
                return {"handler": seconds, "raw": raw, "handler_minus_raw": seconds - raw}

            def run_end_to_end(call=api(api_name, inputs)):
                in_tab.take()
                seconds = timed(call)
                return {"end_to_end": seconds, "serving": seconds - in_tab.take()}

            def run_floor(call=api(floors[api_name], inputs)):
                return {"floor": timed(call)}

            variants = [run_handler, run_end_to_end, run_floor]
            shift = repeat % len(variants)  # interleave: each variant takes each position in turn
            for variant in variants[shift:] + variants[:shift]:
                for name, seconds in variant().items():
                    if repeat:
                        measured[name].append(seconds)
    app.close()
    results = {}
    for api_name, measured in times.items():
        median = {name: statistics.median(values) for name, values in measured.items()}
        results[api_name] = {
            **{f"{name}_ms": round(1000 * value, 2) for name, value in median.items()},
            "serving_overhead_vs_floor": round(median["serving"] / median["floor"], 3),
            "handler_overhead_vs_raw": round(median["handler_minus_raw"] / median["raw"], 4),
        }
    results["loads"] = runtime.cache.load_count
    return results


def openmp(rounds: int = 3, forwards: int = 9) -> dict:
    """Why model work runs on the torch threads (models/torch_threads.py): a ResNet-50 forward on this thread
    alone, and while another live thread has run a torch op, as every Gradio worker thread that ran a model
    once used to be. Alternated, medians."""
    import threading

    import torchvision

    model = torchvision.models.resnet50().eval()
    pixels = torch.randn(1, 3, 224, 224)

    def forward():
        with torch.inference_mode():
            model(pixels)

    def median_forward() -> float:
        forward()
        return statistics.median(timed(forward) for _ in range(forwards))

    alone, beside = [], []
    for _ in range(rounds):
        alone.append(median_forward())
        ran, release = threading.Event(), threading.Event()
        other = threading.Thread(target=lambda: (forward(), ran.set(), release.wait()))
        other.start()
        ran.wait()
        beside.append(median_forward())
        release.set()
        other.join()
    return {"alone_ms": round(1000 * statistics.median(alone), 1),
            "another_torch_thread_alive_ms": round(1000 * statistics.median(beside), 1),
            "slowdown": round(statistics.median(beside) / statistics.median(alone), 3)}


def lifecycle(models) -> dict:
    from demos import image_classification, ner
    from models.runtime import ModelRuntime

    results = {}
    for task, request in [("ner", lambda rt: ner.ner(rt, TEXT)),
                          ("image_classification", lambda rt: image_classification.classify(
                              rt, image_classification.EXAMPLES[1]))]:
        runtime = ModelRuntime(Settings(model_overrides={task: str(models[task])}))
        before = rss()
        first = timed(lambda: request(runtime))
        second = timed(lambda: request(runtime))
        loaded = rss()
        runtime.unload()
        after = rss()
        results[task] = {
            "first_request_s": round(first, 3), "second_request_s": round(second, 3),
            "loads_after_two_requests": runtime.cache.load_count,
            "rss_increase_mb": round((loaded - before) / 2**20, 1),
            "returned_by_unload": round((loaded - after) / max(loaded - before, 1), 3),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cold-start-runs", type=int, default=5)
    parser.add_argument("--batching-rounds", type=int, default=3)
    parser.add_argument("--only", choices=["openmp", "lifecycle", "per_request", "batching", "cold_start", "guard"],
                        action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
               "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
               "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    # Torch work on this thread would give it an OpenMP team beside the hub's torch thread and slow both (see
    # `openmp`): building the models and the openmp part run on the hub's torch thread too.
    torch_thread = shared_torch_threads(Settings().device_concurrency).run
    with tempfile.TemporaryDirectory() as tmp:
        models = torch_thread(build_all, Path(tmp))
        parts = {"openmp": lambda: torch_thread(openmp), "lifecycle": lambda: lifecycle(models),
                 "per_request": lambda: per_request(models, args.repeats),
                 "batching": lambda: batching(models, args.batching_rounds),
                 "cold_start": lambda: cold_start(args.cold_start_runs), "guard": lambda: guard(args.repeats)}
        results = {"machine": machine}
        for name, run in parts.items():
            if not args.only or name in args.only:
                results[name] = run()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
