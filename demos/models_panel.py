"""The models panel: which device and precision are in use, what is loaded, and a way to unload it."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import gradio as gr

from demos.endpoints import user_errors
from demos.i18n import ui_text
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from messages import current_language, say
from models.quantization import ENGINE, QUANTIZED_TASKS

ALL = "All loaded models"  # the value the API sends; the page shows it in its language
HEADERS = ["model", "device", "MB", "load s"]
BACKEND_HEADERS = ["task", "engine", "state", "serves"]


def summary(runtime: ModelRuntime) -> str:
    """The device, precision and cache, in the language of the request being handled."""
    s = runtime.settings
    precision = str(runtime.dtype).removeprefix("torch.")
    if any(runtime.precision(task) == "int8" for task in QUANTIZED_TASKS):  # the loaded table says which models
        precision += f" · int8: {ENGINE}"
    facts = {"device": runtime.device, "precision": precision,
             "max_models": s.max_loaded_models, "loads": runtime.cache.load_count}
    language = current_language()
    if s.memory_budget_gb:
        models = say("models_summary_with_budget", language, budget_gb=s.memory_budget_gb, **facts)
    else:
        models = say("models_summary", language, **facts)
    return f"{models}\n\n{result_cache_summary(runtime, language)}"


def result_cache_summary(runtime: ModelRuntime, language: str) -> str:
    results = runtime.results
    if results.max_bytes == 0:
        return say("models_result_cache_off", language)
    return say("models_result_cache", language, hits=results.hits, misses=results.misses, answers=len(results),
               used_mb=results.bytes_used / 2**20, max_mb=results.max_bytes / 2**20)


def loaded_rows(runtime: ModelRuntime) -> list[list]:
    return [
        [e.key.name, f"{e.key.device} · {getattr(e.value, 'precision', e.key.dtype)}", round(e.size_bytes / 2**20, 1),
         round(e.load_seconds, 2)]
        for e in reversed(runtime.loaded())
    ]


def backend_rows(runtime: ModelRuntime, ask: bool = True) -> list[list]:
    """Each remote task's engine and, when `ask`, whether it answers now (one short request to each, together)."""
    backends = list(runtime.backends.values())
    if ask and backends:
        with ThreadPoolExecutor(len(backends)) as pool:
            states = list(pool.map(lambda backend: backend.health(), backends))
    else:
        states = [("", "")] * len(backends)
    language = current_language()
    return [[backend.task, backend.shown, say(state, language) if state else "…", serves]
            for backend, (state, serves) in zip(backends, states)]


def refresh(runtime: ModelRuntime):
    names = [e.key.name for e in reversed(runtime.loaded())]
    # An event's answer carries plain text (Gradio 6.31 cannot send a translated label in it): the visitor's language
    all_models = (say("models_unload_all", current_language()), ALL)
    return (summary(runtime), loaded_rows(runtime), gr.Dropdown(choices=[all_models] + names, value=ALL),
            backend_rows(runtime))


def unload(runtime: ModelRuntime, which: str | None):
    # Checked here, not only by hiding the button: the browser calls this event over the same HTTP API
    # that anyone can call.
    if not runtime.settings.operator_controls:
        raise refuse("refuse_operator_only")
    if which in (None, "", ALL):
        runtime.unload()
    else:
        for entry in runtime.loaded():
            if entry.key.name == which:
                runtime.unload(entry.key)
    return refresh(runtime)


def build(runtime: ModelRuntime) -> gr.Tab:
    with gr.Tab(ui_text("tab_models"), id="models") as tab:
        info = gr.Markdown(summary(runtime))
        table = gr.Dataframe(headers=HEADERS, value=loaded_rows(runtime), label=ui_text("models_loaded"),
                             interactive=False, elem_id="loaded-models")
        # Asked when the tab is opened or refreshed, never while the app is built.
        engines = gr.Dataframe(headers=BACKEND_HEADERS, value=backend_rows(runtime, ask=False),
                               label=ui_text("models_backends"), interactive=False, visible=bool(runtime.backends),
                               elem_id="remote-engines")
        with gr.Row():
            operator = runtime.settings.operator_controls
            which = gr.Dropdown(choices=[(ui_text("models_unload_all"), ALL)], value=ALL,
                                label=ui_text("models_unload_which"), scale=3, visible=operator)
            unload_button = gr.Button(ui_text("models_unload"), variant="stop", scale=1, visible=operator,
                                      elem_id="unload-models")
            refresh_button = gr.Button(ui_text("models_refresh"), scale=1)
    outputs = [info, table, which, engines]
    for event in (tab.select, refresh_button.click):  # user_errors: the summary in the browser's language
        event(user_errors(lambda: refresh(runtime)), None, outputs, api_visibility="private")
    unload_button.click(user_errors(lambda which: unload(runtime, which)), which, outputs, api_name="unload_models",
                        api_visibility="private")
    return tab
