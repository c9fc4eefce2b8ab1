"""What every tab shares: the model picker and the checks of a request's inputs, refused in plain words."""
from __future__ import annotations

import math
import re

import gradio as gr

import messages
from demos.i18n import ui_text
from models.registry import ModelSpec, download_size
from models.runtime import ModelRuntime
from tasks import example_hub_id

# C0/C1 control characters other than tab and newline: they only confuse tokenizers and displays.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Halves of UTF-16 pairs standing alone: JSON can carry them, UTF-8 cannot, and tokenizers fail on them.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Refusal(messages.Said, gr.Error):
    """An error about the request itself, in plain words; shown to the user, not logged as a fault. Its message
    is the English text; `text(language)` says it in any catalog language."""

    def __init__(self, key: str, **params):
        super().__init__(messages.say(key, **params), print_exception=False)
        self.key, self.params = key, params


def refuse(key: str, **params) -> Refusal:
    return Refusal(key, **params)


def clean_text(text: object, max_chars: int) -> str:
    """The request's text with control characters removed; empty or over-long text is refused."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise refuse("refuse_no_text")
    if not isinstance(text, str):
        raise refuse("refuse_not_text")
    if len(text) > max_chars:
        raise refuse("refuse_text_too_long", length=len(text), max_chars=max_chars)
    refuse_lone_surrogates(text)
    text = _CONTROL.sub(" ", text)
    if not text.strip():
        raise refuse("refuse_no_text")
    return text


def refuse_lone_surrogates(text: str) -> None:
    if _LONE_SURROGATE.search(text):
        raise refuse("refuse_lone_surrogates")


def require_number(value: object, name: str) -> float:
    """A finite int or float (the API can send text, null or NaN where the UI sends numbers). `name`: the
    catalog key of the setting's name (param_seed...), said in the message's language."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) \
            or isinstance(value, float) and not math.isfinite(value):  # a 400-digit int is finite, not a float
        raise refuse("refuse_not_a_number", name=messages.Term(name))
    return value


def whole_number(value: object, low: int, high: int, name: str) -> int:
    """An integer setting (a count, a seed, a number of steps) within [low, high]; `name` as in require_number."""
    number = require_number(value, name)
    if number != int(number) or not low <= number <= high:
        raise refuse("refuse_not_a_whole_number", name=messages.Term(name), low=low, high=high)
    return int(number)


def number_in_range(value: object, low: float, high: float, name: str) -> float:
    """A real-valued setting (a threshold, a guidance scale) within [low, high]; `name` as in require_number."""
    number = require_number(value, name)
    if not low <= number <= high:
        raise refuse("refuse_out_of_range", name=messages.Term(name), low=low, high=high)
    return float(number)


def custom_model_field(runtime: ModelRuntime, task: str) -> gr.Textbox:
    """A field for any Hub id of the task's kind; hidden when the operator turned custom ids off."""
    return gr.Textbox(
        label=ui_text("picker_custom_model"),
        placeholder=ui_text("picker_custom_model_hint", variant=task, example=example_hub_id(task)),
        value="",
        visible=runtime.settings.custom_models,
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
