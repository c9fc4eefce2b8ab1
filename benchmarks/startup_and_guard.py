"""The benchmark's serving parts (benchmarks/bench.py runs them): cold start against a bare gradio+torch launch, and
what the HTTP guard adds to a request."""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.serving import ROOT, free_port, serve, stop
from benchmarks.timing import timed


def _seconds_to_http_200(command: list[str], port: int) -> float:
    process, seconds = serve(command, port)
    stop(process)
    return seconds


def guard(rounds: int, requests_per_round: int = 30) -> dict:
    """Median time of a Textbox echo through Gradio's HTTP API (light client: http_client.py) on three apps
    that differ only in the guard: none, local limits, public limits. Rounds alternate the apps' order."""
    import gradio as gr
    from starlette.middleware import Middleware

    from benchmarks.http_client import HttpClient
    from web.http_guard import GuardLimits, HttpGuard

    variants = {"no_guard": None, "guard": GuardLimits(), "guard_public": GuardLimits(public=True)}
    apps, clients = [], {}
    for name, limits in variants.items():
        with gr.Blocks() as app:
            box = gr.Textbox()
            box.submit(lambda text: text, box, box, api_name="echo")
        app_kwargs = {} if limits is None else {"middleware": [Middleware(HttpGuard, limits=limits)]}
        app.queue().launch(prevent_thread_lock=True, quiet=True, app_kwargs=app_kwargs)
        apps.append(app)
        clients[name] = HttpClient(app.local_url)
    times = {name: [] for name in variants}
    names = list(variants)
    for round_ in range(rounds + 1):  # the first round warms up
        for name in names[round_ % 3:] + names[:round_ % 3]:
            for _ in range(requests_per_round):
                seconds = timed(lambda: clients[name].predict("/echo", "hello"))
                if round_:
                    times[name].append(seconds)
    for client in clients.values():
        client.close()
    for app in apps:
        app.close()
    median = {name: statistics.median(values) for name, values in times.items()}
    return {**{f"{name}_ms": round(1000 * value, 2) for name, value in median.items()},
            "guard_vs_none": round(median["guard"] / median["no_guard"], 3),
            "guard_public_vs_none": round(median["guard_public"] / median["no_guard"], 3),
            "guard_own_us_per_request": round(1e6 * _guard_own_seconds(HttpGuard, GuardLimits()), 1)}


def _guard_own_seconds(guard_class, limits, calls: int = 20_000) -> float:
    """The guard's own time for one API request (a queue join), around an app that does nothing: the echo's
    figures above carry a millisecond of noise, this does not."""
    import asyncio

    async def nothing(scope, receive, send):
        return None

    guard = guard_class(nothing, limits)
    scope = {"type": "http", "method": "POST", "path": "/gradio_api/queue/join", "root_path": "",
             "client": ("127.0.0.1", 50000),
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"180")]}

    async def run():
        started = time.perf_counter()
        for _ in range(calls):
            await guard(scope, None, None)
        return (time.perf_counter() - started) / calls

    return asyncio.run(run())


def cold_start(runs: int) -> dict:
    bare = ("import sys, gradio as gr, torch\nwith gr.Blocks() as demo:\n    gr.Markdown('bare')\n"
            "demo.launch(server_port=int(sys.argv[1]), quiet=True)")
    hub, floor = [], []
    for _ in range(runs):
        port = free_port()
        hub.append(_seconds_to_http_200([sys.executable, "app.py", "--offline", "--port", str(port)], port))
        port = free_port()
        floor.append(_seconds_to_http_200([sys.executable, "-c", bare, str(port)], port))
    code = ("import sys, app; app.build_app(); "
            "print(sorted(m for m in ('transformers', 'diffusers', 'torchvision', 'librosa') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"app_s": round(statistics.median(hub), 2), "bare_gradio_torch_s": round(statistics.median(floor), 2),
            "ratio": round(statistics.median(hub) / statistics.median(floor), 3),
            "heavy_modules_imported_at_start": imported, "runs": runs}
