"""What every tab shares: the model picker, plain-word errors, input checks."""
from __future__ import annotations

import functools
import inspect
import logging
import re

import gradio as gr

from models.device import zero_gpu
from models.errors import ModelLoadError
from models.registry import is_hub_id, specs_for
from models.runtime import ModelRuntime

log = logging.getLogger("demo_hub")

# C0/C1 control characters other than tab and newline: they only confuse tokenizers and displays.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def refuse(message: str) -> gr.Error:
    """An error about the request itself: shown to the user, not logged as a server fault."""
    return gr.Error(message, print_exception=False)


def _plain_error(error: Exception) -> gr.Error:
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, ModelLoadError):
        return gr.Error(str(error), title="Model not available", print_exception=False)
    log.error("handler failed", exc_info=error)
    return gr.Error("Something went wrong while running the model. The server log has the details.")


def user_errors(handler):
    """Every failure reaches the user as a gr.Error in plain words; tracebacks stay in the server log.

    Works for plain handlers and for streaming (generator) handlers alike.
    """
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def stream(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)  # close() reaches the handler, so Stop stops it
            except Exception as error:
                raise _plain_error(error) from None

        return stream

    @functools.wraps(handler)
    def call(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Exception as error:
            raise _plain_error(error) from None

    return call


def model_handler(handler):
    """Every handler that runs a model: plain-word errors, and on a ZeroGPU Space a GPU for each call."""
    wrapped = user_errors(handler)
    spaces = zero_gpu()
    return spaces.GPU(wrapped) if spaces is not None else wrapped


def clean_text(text: object, max_chars: int) -> str:
    """The request's text with control characters removed; empty or over-long text is refused."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise refuse("Please enter some text first.")
    if not isinstance(text, str):
        raise refuse("The input must be text.")
    if len(text) > max_chars:
        raise refuse(f"The text is {len(text):,} characters long; this tab takes at most {max_chars:,}. Please shorten it.")
    text = _CONTROL.sub(" ", text)
    if not text.strip():
        raise refuse("Please enter some text first.")
    return text


def on_device(runtime: ModelRuntime) -> dict:
    """Event options for handlers that run a model: they share one concurrency limit per device, and they
    check their raw inputs themselves (preprocess=False), so that every bad value gets our plain words."""
    return {
        "concurrency_id": f"models-on-{runtime.device}",
        "concurrency_limit": runtime.settings.device_concurrency,
        "preprocess": False,
    }


def progress_callback(progress: gr.Progress):
    return lambda fraction, message: progress(fraction, desc=message)


def custom_model_field(runtime: ModelRuntime, task: str) -> gr.Textbox:
    """A field for any Hub id of the task's kind; hidden when the operator turned custom ids off."""
    example = next(spec.source for spec in specs_for(task) if is_hub_id(spec.source))
    return gr.Textbox(
        label="…or any Hugging Face model id of this kind (safetensors weights only)",
        placeholder=f"owner/name, e.g. {example}",
        value="",
        visible=runtime.settings.custom_models,
        max_lines=1,
    )


def model_picker(runtime: ModelRuntime, task: str) -> tuple[gr.Dropdown, gr.Textbox]:
    """A dropdown of the registry's models for this task, and the custom id field."""
    specs = runtime.choices(task)
    choices = [(f"{s.label} · ~{s.size_mb} MB" if s.size_mb else s.label, s.source) for s in specs]
    model = gr.Dropdown(choices=choices, value=specs[0].source, label="Model")
    return model, custom_model_field(runtime, task)
