"""Per request and tab: the model call, the tab's function around it, and what serving it adds, against the plain
Gradio app a user would write instead (`plain_app`), on real-size and on tiny models.

Both apps are served in this process and called in turn over Gradio's HTTP API by a light client
(http_client.py). gradio_client spends ~140 ms of its own per call on this machine, the same for both apps,
which hid every difference below it.
"""
from __future__ import annotations

import functools
import inspect
import random
import shutil
import statistics
from pathlib import Path
from typing import NamedTuple

from benchmarks.http_client import HttpClient
from benchmarks.serving import map_files
from benchmarks.timing import Stopwatch, timed
from models.settings import Settings

FIGURES = ("raw", "handler", "end_to_end", "in_tab", "model_in_tab", "floor")


class Case(NamedTuple):
    api_name: str
    task: str
    module: object  # the loaded model's module, whose `method` is the model call
    method: str
    handler: object  # the endpoint's handler as Gradio calls it, with the sample's inputs bound
    inputs: tuple  # the sample's API inputs (files as Paths)


def request_cases(runtime, models) -> list[Case]:
    """A case for every endpoint with a sample request (its Endpoint record) whose task has a model here."""
    from gradio.utils import get_upload_folder

    import demos
    from demos.endpoints import STREAM, bound
    from models.ctranslate2_models import Generator, Translator

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
            if isinstance(loaded, (Translator, Generator)):  # CTranslate2's, whose model call is theirs
                module, method = loaded, "translate" if isinstance(loaded, Translator) else "generate"
            else:
                module = getattr(loaded, "model", loaded)
                method = "generate" if getattr(module, "can_generate", lambda: False)() else "forward"
            inputs = endpoint.sample(spec.name)
            call = functools.partial(bound(endpoint, runtime), *as_uploaded(inputs), progress=lambda *a, **k: None)
            handler = (lambda call=call: list(call())) if endpoint.run == STREAM else call
            cases.append(Case(endpoint.api_name, endpoint.task, module, method, handler, inputs))
    return cases


def event_of(app, api_name: str):
    return next(fn for fn in app.fns.values() if fn.api_name == api_name.lstrip("/"))


def answering(answer, streamed: bool):
    """A function that gives `answer`, computed beforehand (a streamed tab's parts, one by one)."""
    if streamed:
        def replay(*inputs):
            yield from answer
        return replay
    return lambda *inputs: answer


def plain_app(hub, cases: list[Case]):
    """The app a user would write instead: one endpoint per case, under the same name, with fresh copies of
    the tab's input and output components and Gradio's default options, answering the tab's answer computed
    beforehand. What it costs is what Gradio itself costs for these components and this answer."""
    import gradio as gr

    with gr.Blocks() as plain:
        for case in cases:
            event = event_of(hub, case.api_name)
            copies = [[type(c)(**c.constructor_args) for c in components]
                      for components in (event.inputs, event.outputs)]
            gr.Button(visible=False).click(answering(case.handler(), inspect.isgeneratorfunction(event.fn)),
                                           *copies, api_name=case.api_name)
    return plain.queue()


def per_request(models: dict, repeats: int) -> dict:
    """Per endpoint, in turn: the handler called here (raw model call and handler); the request through the
    hub, with the tab's function and the model call timed inside it; the same request to the plain app."""
    import app as hub_app
    from engines.runtime import ModelRuntime

    # Every model stays loaded (a reload would be a new object, its method no longer wrapped by the stopwatch),
    # and no result is kept (the cache would answer the same request sent again and again).
    runtime = ModelRuntime(Settings(model_overrides={t: str(p) for t, p in models.items()},
                                    max_loaded_models=len(models), result_cache_mb=0))
    hub = hub_app.build_app(runtime)
    cases = request_cases(runtime, models)
    plain = plain_app(hub, cases)
    in_model, in_tab = Stopwatch(), Stopwatch()
    for module, method in {(case.module, case.method) for case in cases}:  # two endpoints may share one
        setattr(module, method, in_model.wrap(getattr(module, method)))
    for case in cases:
        event = event_of(hub, case.api_name)
        event.fn = in_tab.wrap(event.fn)
    hub.launch(prevent_thread_lock=True, quiet=True)
    plain.launch(prevent_thread_lock=True, quiet=True)
    to_hub, to_plain = HttpClient(hub.local_url), HttpClient(plain.local_url)
    times = {case.api_name: {name: [] for name in FIGURES} for case in cases}
    order = random.Random(0)
    try:
        for repeat in range(repeats + 1):  # the first round warms up (first calls pay one-off costs)
            for case in cases:
                def run_handler(handler=case.handler):
                    in_model.take()
                    seconds = timed(handler)
                    return {"handler": seconds, "raw": in_model.take()}

                def run_hub(case=case):
                    in_tab.take(), in_model.take()
                    seconds = timed(lambda: to_hub.predict(case.api_name, *case.inputs))
                    return {"end_to_end": seconds, "in_tab": in_tab.take(), "model_in_tab": in_model.take()}

                def run_plain(case=case):
                    return {"floor": timed(lambda: to_plain.predict(case.api_name, *case.inputs))}

                variants = [run_handler, run_hub, run_plain]
                order.shuffle(variants)  # a request runs slower after one that swept the caches: mix the order
                for variant in variants:
                    for name, seconds in variant().items():
                        if repeat:
                            times[case.api_name][name].append(seconds)
    finally:
        to_hub.close(), to_plain.close()
        hub.close(), plain.close()
    results = {api_name: summary(measured) for api_name, measured in times.items()}
    results["loads"] = runtime.cache.load_count
    return results


def summary(measured: dict[str, list[float]]) -> dict:
    """Medians, and the ratios the README reports. `serving` is the request's time outside the tab's function,
    paired within each request."""
    median = {name: statistics.median(values) for name, values in measured.items()}
    median["serving"] = statistics.median(e - t for e, t in zip(measured["end_to_end"], measured["in_tab"]))
    median["handler_minus_raw"] = statistics.median(h - r for h, r in zip(measured["handler"], measured["raw"]))
    return {
        **{f"{name}_ms": round(1000 * value, 2) for name, value in median.items()},
        "end_to_end_vs_floor": round(median["end_to_end"] / median["floor"], 3),
        "serving_vs_floor": round(median["serving"] / median["floor"], 3),
        "handler_overhead_vs_raw": round(median["handler_minus_raw"] / median["raw"], 4),
    }


def layers(ner_model: str, repeats: int) -> dict:
    """What each part of the hub's wrapping of an endpoint costs: the NER tab's request answered beforehand,
    served through one more layer at a time, beside the real endpoint and the plain app's floor, in turn."""
    import gradio as gr

    import app as hub_app
    from demos.endpoints import bound, model_handler, on_device, user_errors
    from engines import ner
    from engines.endpoint import BATCHED, Endpoint
    from engines.runtime import ModelRuntime

    runtime = ModelRuntime(Settings(model_overrides={"ner": ner_model}, result_cache_mb=0))
    hub = hub_app.build_app(runtime)
    spec, text = runtime.default("ner"), ner.EXAMPLES[0]
    answer = ner.ner(runtime, text)

    def given(text, model=None, custom_model=None):
        return answer

    def tracking_progress(text, model=None, custom_model=None, progress=gr.Progress(track_tqdm=True)):
        return answer

    def given_on_torch_thread(runtime, text, model=None, custom_model=None, context=None):
        return answer

    def given_by_batcher(runtime, text, model=None, custom_model=None, context=None):
        return runtime.run_batched(spec, text, lambda texts: [answer] * len(texts))

    options, params = on_device(runtime, batched="ner"), ner.ENDPOINTS[0].params
    variants = {
        "answer_given": (given, {}),
        "with_device_options": (given, options),
        "with_progress_tracker": (tracking_progress, options),
        "with_request_language_and_plain_errors": (user_errors(given), options),
        "with_endpoint_wrapping_on_torch_thread": (
            model_handler(bound(Endpoint("given", given_on_torch_thread, "ner", params), runtime)), options),
        "with_endpoint_wrapping_and_batcher": (
            model_handler(bound(Endpoint("batched", given_by_batcher, "ner", params, run=BATCHED), runtime)), options),
    }
    event = event_of(hub, "ner")
    with hub:
        for name, (fn, event_options) in variants.items():
            gr.Button(visible=False).click(fn, event.inputs, event.outputs, api_name=name, **event_options)
    plain = plain_app(hub, [Case("ner", "ner", None, "", lambda: answer, ())])
    hub.launch(prevent_thread_lock=True, quiet=True)
    plain.launch(prevent_thread_lock=True, quiet=True)
    calls = {name: (HttpClient(hub.local_url), name) for name in [*variants, "ner"]}
    calls["plain_app"] = (HttpClient(plain.local_url), "ner")
    times = {name: [] for name in calls}
    try:
        names, order = list(calls), random.Random(0)
        for repeat in range(repeats + 1):
            # a new order each round: a request runs slower after one that swept the caches (the NER forward)
            order.shuffle(names)
            for name in names:
                client, api_name = calls[name]
                seconds = timed(lambda: client.predict(api_name, text, spec.name, ""))
                if repeat:
                    times[name].append(seconds)
    finally:
        for client, _ in calls.values():
            client.close()
        hub.close(), plain.close()
    floor = statistics.median(times["plain_app"])
    return {name: {"ms": round(1000 * statistics.median(values), 2),
                   "vs_plain_app": round(statistics.median(values) / floor, 3)} for name, values in times.items()}


def client_steps(rounds: int, delays_ms=(0, 5, 20, 45)) -> dict:
    """gradio_client against a client that reads the event stream itself, on a Textbox echo that first waits
    `delay` ms: gradio_client's caller waits for the answer in 50 ms sleeps (gradio_client.utils,
    get_pred_from_sse_v1plus), so its time moves in steps and hides any server cost below them."""
    import time

    import gradio as gr
    from gradio_client import Client

    with gr.Blocks() as echo:
        text = gr.Textbox()
        for delay in delays_ms:
            gr.Button().click(lambda value, delay=delay: (time.sleep(delay / 1000), value)[1], text, text,
                              api_name=f"echo_after_{delay}")
    echo.queue().launch(prevent_thread_lock=True, quiet=True)
    gradio_client, light = Client(echo.local_url, verbose=False), HttpClient(echo.local_url)
    times = {delay: {"gradio_client": [], "light_client": []} for delay in delays_ms}
    try:
        for repeat in range(rounds + 1):
            for delay in delays_ms:
                api_name = f"/echo_after_{delay}"
                measured = {"gradio_client": timed(lambda: gradio_client.predict("x", api_name=api_name)),
                            "light_client": timed(lambda: light.predict(api_name, "x"))}
                if repeat:
                    for name, seconds in measured.items():
                        times[delay][name].append(seconds)
    finally:
        light.close(), gradio_client.close(), echo.close()
    return {f"server_waits_{delay}_ms": {f"{name}_ms": round(1000 * statistics.median(values), 1)
                                         for name, values in measured.items()}
            for delay, measured in times.items()}
