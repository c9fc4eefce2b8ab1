"""The models panel: which device and precision are in use, what is loaded, and a way to unload it."""
from __future__ import annotations

import gradio as gr

from demos.common import refuse, user_errors
from demos.i18n import ui_text
from models.runtime import ModelRuntime

TITLE, TITLE_ZH = "Models", "模型"
ALL = "All loaded models"
HEADERS = ["model", "device", "MB", "load s"]


def summary(runtime: ModelRuntime) -> str:
    s = runtime.settings
    budget = f", at most {s.memory_budget_gb:g} GB of models" if s.memory_budget_gb else ""
    return (
        f"**Device:** `{runtime.device}` · **precision:** `{str(runtime.dtype).removeprefix('torch.')}` · "
        f"**cache:** at most {s.max_loaded_models} models{budget}; least recently used are unloaded first · "
        f"**loads so far:** {runtime.cache.load_count}"
    )


def loaded_rows(runtime: ModelRuntime) -> list[list]:
    return [
        [e.key.name, f"{e.key.device} · {e.key.dtype}", round(e.size_bytes / 2**20, 1), round(e.load_seconds, 2)]
        for e in reversed(runtime.loaded())
    ]


def refresh(runtime: ModelRuntime):
    names = [e.key.name for e in reversed(runtime.loaded())]
    return summary(runtime), loaded_rows(runtime), gr.Dropdown(choices=[ALL] + names, value=ALL)


def unload(runtime: ModelRuntime, which: str | None):
    # Checked here, not only by hiding the button: the browser calls this event over the same HTTP API
    # that anyone can call.
    if not runtime.settings.operator_controls:
        raise refuse("Unloading models is for the operator: start the app with --auth to offer it on a public link.",
                     "卸载模型仅限运营者：要在公开链接上提供此功能，请用 --auth 启动应用。")
    if which in (None, "", ALL):
        runtime.unload()
    else:
        for entry in runtime.loaded():
            if entry.key.name == which:
                runtime.unload(entry.key)
    return refresh(runtime)


def build(runtime: ModelRuntime) -> gr.Tab:
    with gr.Tab(ui_text("tab_models", TITLE, TITLE_ZH), id="models") as tab:
        info = gr.Markdown(summary(runtime))
        table = gr.Dataframe(headers=HEADERS, value=loaded_rows(runtime), label=ui_text("loaded_models", "Loaded models", "已加载的模型"),
                             interactive=False)
        with gr.Row():
            operator = runtime.settings.operator_controls
            which = gr.Dropdown(choices=[ALL], value=ALL, label=ui_text("unload_which", "Unload", "卸载"), scale=3,
                                visible=operator)
            unload_button = gr.Button(ui_text("unload", "Unload", "卸载"), variant="stop", scale=1, visible=operator,
                                      elem_id="unload-models")
            refresh_button = gr.Button(ui_text("refresh", "Refresh", "刷新"), scale=1)
    outputs = [info, table, which]
    for event in (tab.select, refresh_button.click):
        event(lambda: refresh(runtime), None, outputs, api_visibility="private")
    unload_button.click(user_errors(lambda which: unload(runtime, which)), which, outputs, api_name="unload_models",
                        api_visibility="private")
    return tab
