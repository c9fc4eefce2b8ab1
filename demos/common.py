"""What every tab shares: the model picker, plain-word errors, input checks."""
from __future__ import annotations

import functools
import inspect
import logging
import math
import re

import gradio as gr

from demos.i18n import ui_text
from models.settings import zero_gpu
from models.errors import ModelLoadError
from models.registry import ModelSpec, download_size, example_hub_id
from models.runtime import ModelRuntime

log = logging.getLogger("demo_hub")

# C0/C1 control characters other than tab and newline: they only confuse tokenizers and displays.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Halves of UTF-16 pairs standing alone: JSON can carry them, UTF-8 cannot, and tokenizers fail on them.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class Refusal(gr.Error):
    """An error about the request itself, in English and Chinese; shown to the user, not logged as a fault."""

    def __init__(self, english: str, chinese: str):
        super().__init__(english, print_exception=False)
        self.chinese = chinese


def refuse(english: str, chinese: str) -> Refusal:
    return Refusal(english, chinese)


SOMETHING_WENT_WRONG = (
    "Something went wrong while running the model. The server log has the details.",
    "运行模型时出错了，详情见服务器日志。",
)


def language_of(request: gr.Request | None) -> str:
    """"zh" for browsers that ask for Chinese first, else "en" (API clients send no preference)."""
    header = request.headers.get("accept-language", "") if request is not None else ""
    return "zh" if header.strip().lower().startswith("zh") else "en"


LOAD_FAILED_TITLE = ("Model not available", "模型不可用")


def _plain_error(error: Exception, language: str) -> gr.Error:
    chinese = language == "zh"
    if isinstance(error, Refusal):
        return gr.Error(error.chinese, print_exception=False) if chinese else error
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, ModelLoadError):
        log.warning("model not available: %s", error)  # the operator learns it from the log, not only the visitor
        message = error.chinese if chinese and error.chinese else str(error)
        return gr.Error(message, title=LOAD_FAILED_TITLE[chinese], print_exception=False)
    log.error("handler failed", exc_info=error)
    return gr.Error(SOMETHING_WENT_WRONG[chinese])


def _with_request(handler):
    """The handler's signature with one more parameter, `request`, which Gradio fills in (to read the browser's
    language), and a function that takes it out of a call's arguments again."""
    signature = inspect.signature(handler)
    request_parameter = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request
    )
    with_request = signature.replace(parameters=[*signature.parameters.values(), request_parameter])

    def split(args, kwargs):
        bound = with_request.bind_partial(*args, **kwargs)
        request = bound.arguments.pop("request", None)
        return bound.args, bound.kwargs, language_of(request)

    def finish(wrapper):
        wrapper.__signature__ = with_request
        wrapper.__annotations__ = {**getattr(handler, "__annotations__", {}), "request": gr.Request}
        return wrapper

    return split, finish


def user_errors(handler):
    """Every failure reaches the caller as a gr.Error in plain words, in the browser's language (English or
    Chinese); tracebacks stay in the server log. Works for plain and streaming (generator) handlers alike."""
    split, finish = _with_request(handler)
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            args, kwargs, language = split(args, kwargs)
            try:
                yield from handler(*args, **kwargs)  # close() reaches the handler, so Stop stops it
            except Exception as error:
                raise _plain_error(error, language) from None

    else:

        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            args, kwargs, language = split(args, kwargs)
            try:
                return handler(*args, **kwargs)
            except Exception as error:
                raise _plain_error(error, language) from None

    return finish(wrapper)


def model_handler(handler):
    """The API's door to a handler that runs a model: plain-word errors, and on a ZeroGPU Space a GPU for each
    call."""
    return _on_zero_gpu(user_errors(handler))


def page_handler(handler, output_count: int):
    """The page's door to the same handler: its failures said in the tab's message area (see _page_errors)."""
    return _on_zero_gpu(_page_errors(handler, output_count))


def _on_zero_gpu(handler):
    spaces = zero_gpu()
    return spaces.GPU(handler) if spaces is not None else handler


def message_area() -> gr.Markdown:
    """Where a tab says what went wrong, beside its outputs, until its next run."""
    return gr.Markdown("", elem_classes=["tab-message"])


def shown_error(error: Exception, language: str) -> str:
    """An error as the page shows it: its plain words, after its title where it has one of its own."""
    plain = _plain_error(error, language)
    return f"⚠ **{plain.title}** · {plain.message}" if plain.title != "Error" else f"⚠ {plain.message}"


def _page_errors(handler, output_count: int):
    """The page's door to a handler: a failure leaves the outputs as they were and puts its plain words in the
    tab's message area (one more output), where they stay until the next run. An error raised to the page
    would show as a toast that vanishes and a bare "Error" badge, and it would stop the events chained after
    it (Gradio 6.31 runs no `.then` after a failed event)."""
    split, finish = _with_request(handler)
    unchanged = [gr.skip()] * output_count

    def as_tuple(result):
        return result if output_count > 1 else (result,)

    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            args, kwargs, language = split(args, kwargs)
            try:
                for result in handler(*args, **kwargs):
                    yield *as_tuple(result), ""
            except Exception as error:
                yield *unchanged, shown_error(error, language)

    else:

        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            args, kwargs, language = split(args, kwargs)
            try:
                return *as_tuple(handler(*args, **kwargs)), ""
            except Exception as error:
                return *unchanged, shown_error(error, language)

    return finish(wrapper)


def serve(triggers, handler, inputs: list, outputs: list, message: gr.Markdown, *, api_name: str, **options):
    """Declare a tab's endpoint once, with two doors. API clients (gradio_client, curl, MCP) call `api_name`
    and get a failure as an error status with its plain words; the page's own event (not listed in the API)
    shows the same words in the tab's `message` area. Returns the page's event (for Stop to cancel)."""
    gr.Button(visible=False).click(model_handler(handler), inputs, outputs, api_name=api_name, **options)
    return gr.on(triggers, page_handler(handler, len(outputs)), inputs, [*outputs, message],
                 api_visibility="private", **options)


def clean_text(text: object, max_chars: int) -> str:
    """The request's text with control characters removed; empty or over-long text is refused."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise refuse("Please enter some text first.", "请先输入文本。")
    if not isinstance(text, str):
        raise refuse("The input must be text.", "输入必须是文本。")
    if len(text) > max_chars:
        raise refuse(
            f"The text is {len(text):,} characters long; this tab takes at most {max_chars:,}. Please shorten it.",
            f"文本有 {len(text):,} 个字符，本页最多接受 {max_chars:,} 个，请缩短。",
        )
    refuse_lone_surrogates(text)
    text = _CONTROL.sub(" ", text)
    if not text.strip():
        raise refuse("Please enter some text first.", "请先输入文本。")
    return text


def refuse_lone_surrogates(text: str) -> None:
    if _LONE_SURROGATE.search(text):
        raise refuse("The text contains invalid characters (unpaired UTF-16 surrogates); send it as valid Unicode.",
                     "文本包含无效字符（不成对的 UTF-16 代理项），请以有效的 Unicode 发送。")


def require_number(value: object, name: str, chinese_name: str) -> float:
    """A finite int or float (the API can send text, null or NaN where the UI sends numbers)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise refuse(f"The {name} must be a number.", f"{chinese_name}必须是数字。")
    return value


def whole_number(value: object, low: int, high: int, name: str, chinese_name: str) -> int:
    """An integer setting (a count, a seed, a number of steps) within [low, high]."""
    number = require_number(value, name, chinese_name)
    if number != int(number) or not low <= number <= high:
        raise refuse(f"The {name} must be a whole number from {low:,} to {high:,}.",
                     f"{chinese_name}必须是 {low:,} 到 {high:,} 之间的整数。")
    return int(number)


def on_device(runtime: ModelRuntime, batched: str | None = None) -> dict:
    """Event options for handlers that run a model: they share one concurrency limit per device, and they
    check their raw inputs themselves (preprocess=False), so that every bad value gets our plain words.

    `batched` (a task) gives the event its own group, wide enough for a full batch to wait together: its
    handler hands the model call to runtime.run_batched, which runs one batch at a time."""
    if batched and runtime.settings.max_batch_size > 1:
        group = {"concurrency_id": f"{batched}-batches-on-{runtime.device}",
                 "concurrency_limit": runtime.settings.max_batch_size * runtime.settings.device_concurrency}
    else:
        group = {"concurrency_id": f"models-on-{runtime.device}", "concurrency_limit": runtime.settings.device_concurrency}
    return {**group, "preprocess": False}


def progress_callback(progress: gr.Progress):
    return lambda fraction, message: progress(fraction, desc=message)


def custom_model_field(runtime: ModelRuntime, task: str) -> gr.Textbox:
    """A field for any Hub id of the task's kind; hidden when the operator turned custom ids off."""
    return gr.Textbox(
        label=ui_text("custom_model", "…or any Hugging Face model id of this kind (safetensors weights only)",
                   "……或任何同类的 Hugging Face 模型 ID（仅限 safetensors 权重）"),
        placeholder=f"owner/name, e.g. {example_hub_id(task)}",
        value="",
        visible=runtime.settings.custom_models,
        max_lines=1,
    )


def choice(spec: ModelSpec) -> tuple[str, str]:
    """A model as a dropdown choice: what people read, and the id the handler receives."""
    return (f"{spec.label} · ~{download_size(spec.size_mb)}" if spec.size_mb else spec.label, spec.name)


def model_picker(runtime: ModelRuntime, task: str) -> tuple[gr.Dropdown, gr.Textbox]:
    """A dropdown of the registry's models for this task, and the custom id field."""
    specs = runtime.choices(task)
    model = gr.Dropdown(choices=[choice(s) for s in specs], value=specs[0].name, label=ui_text("model", "Model", "模型"))
    return model, custom_model_field(runtime, task)
