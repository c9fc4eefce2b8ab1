"""What every tab shares: the model picker, and refusals in plain words (demos/params.py: the checks of a
request's inputs)."""
from __future__ import annotations

import gradio as gr

import messages
from demos.i18n import ui_text
from models.registry import ModelSpec, download_size
from models.runtime import ModelRuntime
from tasks import example_hub_id


class Refusal(messages.Said, gr.Error):
    """An error about the request itself, in plain words; shown to the user, not logged as a fault. Its message
    is the English text; `text(language)` says it in any catalog language."""

    def __init__(self, key: str, **params):
        super().__init__(messages.say(key, **params), print_exception=False)
        self.key, self.params = key, params


def refuse(key: str, **params) -> Refusal:
    return Refusal(key, **params)


def custom_model_field(runtime: ModelRuntime, task: str) -> gr.Textbox:
    """A field for any Hub id of the task's kind; hidden when the operator turned custom ids off, and where the
    task runs on a remote engine (which serves its one model)."""
    return gr.Textbox(
        label=ui_text("picker_custom_model"),
        placeholder=ui_text("picker_custom_model_hint", variant=task, example=example_hub_id(task)),
        value="",
        visible=runtime.settings.custom_models and runtime.remote(task) is None,
        max_lines=1,
    )


def choice(spec: ModelSpec) -> tuple[str, str]:
    """A model as a dropdown choice: what people read, and the id the handler receives."""
    return (f"{spec.label} · ~{download_size(spec.size_mb)}" if spec.size_mb else spec.label, spec.name)


def model_dropdown(runtime: ModelRuntime, task: str) -> gr.Dropdown:
    """A dropdown of the task's models (its record in tasks.py), its default first."""
    specs = runtime.choices(task)
    return gr.Dropdown(choices=[choice(s) for s in specs], value=specs[0].name, label=ui_text("picker_model"))


def model_picker(runtime: ModelRuntime, task: str) -> tuple[gr.Dropdown, gr.Textbox]:
    """The model dropdown, and the custom id field."""
    return model_dropdown(runtime, task), custom_model_field(runtime, task)
