"""What every tab shares: the model picker."""
from __future__ import annotations

import inspect

import gradio as gr

from demos.i18n import ui_text
from engines.runtime import ModelRuntime
from models.registry import ModelSpec, download_size
from tasks import example_hub_id, specs_for


def default_of(endpoint, name: str):
    """An input's default, where the endpoint's function declares it (the API's, the workers' and the page's)."""
    return inspect.signature(endpoint.fn).parameters[name].default


def custom_model_field(runtime: ModelRuntime, task: str) -> gr.Textbox:
    """A field for any Hub id of the task's kind; hidden when the operator turned custom ids off, and where the
    task runs on a remote engine (which serves its one model)."""
    return gr.Textbox(
        label=ui_text("picker_custom_model"),
        placeholder=ui_text("picker_custom_model_hint", variant=task, example=example_hub_id(task)),
        value="",
        visible=runtime.offers_custom_ids(task),
        max_lines=1,
    )


# The project's own models as people read them in their language (tasks.py's labels are the command line's).
BUNDLED_LABELS = {"assets:digits-cnn": "model_label_digits_cnn",
                  "assets:digits-cnn-student": "model_label_digits_student",
                  "assets:dcgan-digits": "model_label_dcgan_digits",
                  "assets:pix2pix-scenes": "model_label_pix2pix_scenes"}


def choice(spec: ModelSpec, record_label: str | None = None) -> tuple:
    """A model as a dropdown choice: what people read, and the id the handler receives. `record_label`: the
    label its task record gives it (a model the operator set with --model is labelled otherwise)."""
    size = f" · ~{download_size(spec.size_mb)}" if spec.size_mb else ""
    if spec.source in BUNDLED_LABELS and spec.label == record_label:
        return ui_text(BUNDLED_LABELS[spec.source], size=size), spec.name
    return f"{spec.label}{size}", spec.name


def model_dropdown(runtime: ModelRuntime, task: str) -> gr.Dropdown:
    """A dropdown of the task's models (its record in tasks.py), its default first."""
    specs, records = runtime.choices(task), {spec.source: spec.label for spec in specs_for(task)}
    return gr.Dropdown(choices=[choice(s, records.get(s.source)) for s in specs], value=specs[0].name,
                       label=ui_text("picker_model"))


def model_picker(runtime: ModelRuntime, task: str) -> tuple[gr.Dropdown, gr.Textbox]:
    """The model dropdown, and the custom id field."""
    return model_dropdown(runtime, task), custom_model_field(runtime, task)
