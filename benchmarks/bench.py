"""Measure the hub against its floors, on the default architectures at real size (random weights, offline).

    python benchmarks/bench.py [--repeats 7] [--json benchmarks/results-cpu.json]

Every figure is a ratio of medians taken in the same run, the variants interleaved, because a shared
2-core machine is noisy:
1. per request and tab, on the default-size models and on the tests' tiny ones: raw model call vs the tab's
   handler vs end-to-end through the running app, vs the plain Gradio app a user would write instead: the
   tab's input and output components, default options, the tab's answer computed beforehand
   (per_request.py); `layers`: what each part of the hub's wrapping of an endpoint costs; `clients`: why
   these are timed with a light client, not gradio_client (its time moves in 50 ms steps); `result_cache`: a
   repeated request (a hit) against the same request with the cache emptied (a miss); `quantize`: fp32 against
   int8 weights on the transformer tabs (quantize_part.py);
2. cold start: `python app.py` until HTTP 200 vs a bare script that imports gradio and torch and launches
   an empty Blocks;
3. batching: 8 concurrent clients (light HTTP ones: see http_client.py) on the image-classification and
   NER endpoints, requests per second with the hub's dynamic batching off (--max-batch-size 1) and on (8),
   and with Gradio's own `batch=True` on an endpoint running the same batched model call (see
   models/batching.py for why the tabs don't use it);
4. model lifecycle: first request (load) vs second (no reload), resident memory per model and after
   unloading;
5. openmp: why all model work runs on the torch threads (see `openmp`);
6. lab: the optimisation lab's measurements of every technique on its three models (lab_part.py);
7. guard: what the HTTP guard (http_guard.py: body caps, MCP login, quotas) adds to a request: one echo
   endpoint served without it, with it, and with it in public mode (per-visitor queue share), interleaved.
"""
from __future__ import annotations

import argparse
import functools
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
from benchmarks.lab_part import lab  # noqa: E402
from benchmarks.per_request import client_steps, layers, per_request  # noqa: E402
from benchmarks.quantize_part import engines, quantize  # noqa: E402
from benchmarks.serving import build_tiny_models  # noqa: E402
from benchmarks.startup_and_guard import cold_start, guard  # noqa: E402
from benchmarks.timing import rss, timed  # noqa: E402
from models.settings import Settings  # noqa: E402
from models.torch_threads import shared_torch_threads  # noqa: E402


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
    from engines import image_classification, ner
    from engines.runtime import ModelRuntime

    results = {}
    for task, request in [("ner", lambda rt: ner.ner(rt, TEXT)),
                          ("image_classification", lambda rt: image_classification.classify(
                              rt, image_classification.EXAMPLES[1]))]:
        runtime = ModelRuntime(Settings(model_overrides={task: str(models[task])}, result_cache_mb=0))
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


PARTS = ("openmp", "lifecycle", "per_request", "per_request_tiny", "layers", "clients", "result_cache", "quantize",
         "lab", "batching", "cold_start", "guard")


def result_cache(models, repeats: int) -> dict:
    """A tab's function on a repeated request (a hit) against the same request with the cache emptied (a miss),
    in turn, for the cached tabs whose model answers within a second here."""
    from benchmarks.per_request import request_cases
    from engines.runtime import ModelRuntime
    from models.result_cache import ResultCache

    quick = {task: models[task] for task in ("image_classification", "object_detection", "digits", "ner",
                                             "sentiment")}
    runtime = ModelRuntime(Settings(model_overrides={t: str(p) for t, p in quick.items()}))
    times = {}
    for case in request_cases(runtime, quick):
        miss, hit = [], []
        for _ in range(repeats):
            runtime.results = ResultCache(runtime.settings.result_cache_bytes)
            miss.append(timed(case.handler))
            hit.append(timed(case.handler))
        times[case.api_name] = {"miss_ms": round(1000 * statistics.median(miss), 2),
                                "hit_ms": round(1000 * statistics.median(hit), 3),
                                "miss_vs_hit": round(statistics.median(miss) / statistics.median(hit), 1)}
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cold-start-runs", type=int, default=5)
    parser.add_argument("--batching-rounds", type=int, default=3)
    parser.add_argument("--only", choices=PARTS, action="append",
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
        # built when a part first needs them
        models = functools.cache(lambda: torch_thread(build_all, Path(tmp)))
        tiny = functools.cache(lambda: torch_thread(build_tiny_models, Path(tmp) / "tiny"))
        parts = {"openmp": lambda: torch_thread(openmp), "lifecycle": lambda: lifecycle(models()),
                 "per_request": lambda: per_request(models(), args.repeats),
                 "per_request_tiny": lambda: per_request(tiny(), 4 * args.repeats),
                 "layers": lambda: layers(tiny()["ner"], 100), "clients": lambda: client_steps(10),
                 "result_cache": lambda: result_cache(models(), args.repeats),
                 "quantize": lambda: {**quantize(models(), args.repeats), "engines": engines(models(), args.repeats)},
                 "lab": lambda: lab(models(), 3),
                 "batching": lambda: batching(models(), args.batching_rounds),
                 "cold_start": lambda: cold_start(args.cold_start_runs), "guard": lambda: guard(args.repeats)}
        results = {"machine": machine}
        for name, run in parts.items():
            if not args.only or name in args.only:
                results[name] = run()
    print(json.dumps(results, indent=2))
    if args.json:
        if args.only and args.json.exists():  # the parts not run keep their last figures
            results = {**json.loads(args.json.read_text()), **results}
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
