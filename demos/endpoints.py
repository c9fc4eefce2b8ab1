"""An endpoint is declared once, as an `Endpoint` record in its task's engine module (engines/endpoint.py);
`serve()` makes everything else from it: the API's event (gradio_client, curl, MCP), the page's event, the
concurrency group, the request's context, plain-word errors and the thread the model work runs on."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import time
from collections.abc import Callable, Iterator

import gradio as gr

import messages
from engines.context import Context
from engines.endpoint import BATCHED, STREAM, Endpoint
from engines.kinds import REMOTE
from engines.refusal import SOMETHING_WENT_WRONG, Refusal
from engines.runtime import ModelRuntime
from models.backends import REMOTE_CONCURRENCY, RemoteError
from models.errors import ModelLoadError
from models.settings import zero_gpu

log = logging.getLogger("demo_hub")
# The page's workbench while build_app builds the tabs (demos/workbench.py): serve() tells it each page event.
WORKBENCH: contextvars.ContextVar = contextvars.ContextVar("workbench", default=None)
# A streamed answer reaches the page at most this often (paced()): 25 updates a second read as live text.
STREAM_UPDATE_S = 0.04


def bound(endpoint: Endpoint, runtime) -> Callable:
    """The endpoint's function as Gradio calls it: the runtime bound, the request's context made (its deadline,
    Gradio's progress tracker, warnings as the page's toasts), run on the thread its record says; same name,
    docstring and (API) parameters."""
    fn = endpoint.fn
    signature = inspect.signature(fn)
    tracker = inspect.Parameter("progress", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                default=gr.Progress(track_tqdm=endpoint.track_tqdm))
    api = signature.replace(parameters=[*(p for name, p in signature.parameters.items()
                                          if name not in ("runtime", "context")), tracker])

    def arguments(args, kwargs) -> tuple[tuple, dict]:
        call = api.bind(*args, **kwargs)
        call.apply_defaults()
        progress = call.arguments.pop("progress")
        for name, param in endpoint.params.items():  # here, before any wait for a torch thread
            call.arguments[name] = param.check(call.arguments[name])
        context = Context.starting(runtime.settings.request_timeout_s,
                                   lambda fraction, message: progress(fraction, desc=message), gr.Warning)
        return call.args, {**call.kwargs, "context": context}

    if endpoint.run == STREAM:
        def handler(*args, **kwargs):
            args, kwargs = arguments(args, kwargs)
            yield from paced(fn(runtime, *args, **kwargs))
    else:
        def handler(*args, **kwargs):
            args, kwargs = arguments(args, kwargs)
            return endpoint.call(runtime, *args, **kwargs)

    functools.update_wrapper(handler, fn)
    handler.__signature__ = api
    handler.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k not in ("runtime", "context")}
    return handler


def paced(parts: Iterator, every_s: float = STREAM_UPDATE_S) -> Iterator:
    """A stream of whole answers so far (each part holds the ones before): its first two parts at once (the page's
    chat shows the message, then the reply's first words), then the newest at most every `every_s`, and its last.
    Each update costs the server's event loop work that, on 2 cores, is taken from the model's threads: per token,
    the chat ran a fifth slower (benchmarks/chat_peers.py)."""
    sent, waiting, held = 0.0, False, None
    for count, part in enumerate(parts):
        now = time.monotonic()
        if count < 2 or now - sent >= every_s:
            sent, waiting = now, False
            yield part
        else:
            waiting, held = True, part
    if waiting:
        yield held


LOAD_FAILED_TITLE = "error_load_failed_title"
REMOTE_FAILED_TITLE = "error_remote_title"


def language_of(request: gr.Request | None) -> str:
    """The first language of the browser's Accept-Language that has a catalog ("zh-CN,zh;q=0.9" -> "zh"), else
    "en" (API clients send no preference)."""
    return messages.language_of_header(request.headers.get("accept-language") if request is not None else None)


def _plain_error(error: Exception, language: str) -> gr.Error:
    if isinstance(error, Refusal):
        return gr.Error(error.text(language), print_exception=False)
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, ModelLoadError):
        log.warning("model not available: %s", error)  # the operator learns it from the log, not only the visitor
        title = REMOTE_FAILED_TITLE if isinstance(error, RemoteError) else LOAD_FAILED_TITLE
        return gr.Error(error.text(language), title=messages.say(title, language), print_exception=False)
    log.error("handler failed", exc_info=error)
    return gr.Error(messages.say(SOMETHING_WENT_WRONG, language))


def in_language(language: str, function, *args, **kwargs):
    """`function(*args, **kwargs)` with messages.request_language set to the request's language."""
    token = messages.request_language.set(language)
    try:
        return function(*args, **kwargs)
    finally:
        messages.request_language.reset(token)


def each_in_language(language: str, generator):
    """A streaming handler's results, each step run in the request's language. Gradio runs every step on a
    worker thread in a fresh copy of the request's context (anyio.to_thread), so the language is set anew for
    each step. Closing this closes the handler, so Stop stops it."""
    with contextlib.closing(generator):
        while True:
            try:
                result = in_language(language, next, generator)
            except StopIteration:
                return
            yield result


def _with_request(handler):
    """The handler's signature with one more parameter, `request`, which Gradio fills in (to read the browser's
    language), and a function that takes it out of a call's arguments again."""
    signature = inspect.signature(handler)
    handler_reads_it = "request" in signature.parameters  # (the live tabs': who streams)
    request_parameter = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request
    )
    with_request = signature if handler_reads_it else \
        signature.replace(parameters=[*signature.parameters.values(), request_parameter])

    def split(args, kwargs):
        bound = with_request.bind_partial(*args, **kwargs)
        request = bound.arguments.get("request") if handler_reads_it else bound.arguments.pop("request", None)
        return bound.args, bound.kwargs, language_of(request)

    def finish(wrapper):
        wrapper.__signature__ = with_request
        wrapper.__annotations__ = {**getattr(handler, "__annotations__", {}), "request": gr.Request}
        return wrapper

    return split, finish


def user_errors(handler):
    """Every failure reaches the caller as a gr.Error in plain words, in the browser's language (one of
    messages.LANGUAGES, which the handler reads from messages.request_language while it runs); tracebacks stay
    in the server log. Works for plain and streaming (generator) handlers alike."""
    split, finish = _with_request(handler)
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            args, kwargs, language = split(args, kwargs)
            try:
                yield from each_in_language(language, handler(*args, **kwargs))
            except Exception as error:
                raise _plain_error(error, language) from None

    else:

        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            args, kwargs, language = split(args, kwargs)
            try:
                return in_language(language, handler, *args, **kwargs)
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
                for result in each_in_language(language, handler(*args, **kwargs)):
                    yield *as_tuple(result), ""
            except Exception as error:
                yield *unchanged, shown_error(error, language)

    else:

        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            args, kwargs, language = split(args, kwargs)
            try:
                return *as_tuple(in_language(language, handler, *args, **kwargs)), ""
            except Exception as error:
                return *unchanged, shown_error(error, language)

    return finish(wrapper)


def serve(endpoint: Endpoint, runtime: ModelRuntime, triggers, inputs: list, outputs: list,
          message: gr.Markdown | None = None):
    """Wire a tab's endpoint, with two doors. API clients (gradio_client, curl, MCP) call its `api_name` and get
    a failure as an error status with its plain words; the page's own event on `triggers` (not listed in the
    API) shows the same words in the tab's `message` area. No triggers: the API's door only. Returns the page's
    event (for Stop to cancel)."""
    handler = bound(endpoint, runtime)
    options = event_options(endpoint, runtime)
    gr.Button(visible=False).click(model_handler(handler), inputs, outputs, api_name=endpoint.api_name, **options)
    if triggers is None:
        return None
    workbench = WORKBENCH.get()
    if workbench is not None and endpoint.reads is not None:
        return workbench.page_event(endpoint, handler, triggers, inputs, outputs, message, options)
    return gr.on(triggers, page_handler(handler, len(outputs)), inputs, [*outputs, message],
                 api_visibility="private", **options)


def event_options(endpoint: Endpoint, runtime: ModelRuntime) -> dict:
    """The event options of an endpoint's events: its concurrency group, and preprocess=False (on_device)."""
    options = on_device(runtime, batched=endpoint.task if endpoint.run == BATCHED else None)
    if runtime.kind(endpoint.task) == REMOTE:  # its requests only wait for the engine, which queues them
        options.update(concurrency_id=f"remote-{endpoint.task}", concurrency_limit=REMOTE_CONCURRENCY)
    elif endpoint.own_group:
        options.update(concurrency_id=endpoint.api_name, concurrency_limit=endpoint.own_group)
    return options


def on_device(runtime: ModelRuntime, batched: str | None = None) -> dict:
    """Event options for handlers that run a model: they share one concurrency limit per device, and they
    check their raw inputs themselves (preprocess=False), so that every bad value gets our plain words.

    `batched` (a task) gives the event its own group, wide enough for a full batch to wait together: its
    handler hands the model call to runtime.run_batched, which runs one batch at a time."""
    if batched and runtime.settings.max_batch_size > 1:
        group = {"concurrency_id": f"{batched}-batches-on-{runtime.device}",
                 "concurrency_limit": runtime.settings.max_batch_size * runtime.settings.device_concurrency}
    else:
        group = {"concurrency_id": f"models-on-{runtime.device}",
                 "concurrency_limit": runtime.settings.device_concurrency}
    return {**group, "preprocess": False}
