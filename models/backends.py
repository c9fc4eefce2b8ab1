"""Remote backends: a task whose model runs on an inference engine elsewhere (`--backend TASK=URL`).

Text generation speaks OpenAI's chat completions (vLLM, SGLang, llama.cpp's server, Ollama, Hugging Face's router,
our Ray Serve workers); every other task speaks the Hugging Face Inference API's contract (`{"inputs",
"parameters"}`, raw bytes for media), both through huggingface_hub's InferenceClient. The GAN, which that contract
lacks, speaks our own workers' `{"inputs": {"seed", "count"}}` (serve/contract.py).

Light: the command line and the runtime read it before anything heavy is imported; the client is imported on
first call. The token is read from the environment at each call and never put in a message; it, a URL's login and
its query's values never reach a log record either, whichever library writes it (keep_out_of_logs).

An engine is trusted to answer, not to decide what this process does: a chat stream ends at the request's time
limit, an answer ends at MAX_ANSWER_BYTES, and a redirect is not followed (_guarded_hub_session).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from messages import current_language, say
from models.errors import ModelLoadError, quoted
from models.log_secrets import keep_out_of_logs, url_secrets
from models.settings import REQUEST_TIMEOUT_S
from models.timed_stream import ReadUntil

log = logging.getLogger("demo_hub")
T = TypeVar("T")

OUT_OF_TIME = "out_of_time"  # how a chat stream ended when the request's time limit closed it
ALL_TASKS = "all"  # --backend all=URL: every task at URL/<task> (how serve/config.py routes them)
DEFAULT_TOKEN_ENV = "HF_TOKEN"
# Requests a remote task's tab sends at once: the engine queues and batches; the front end only waits.
REMOTE_CONCURRENCY = 16
HEALTH_TIMEOUT_S = 3.0
LOADING_POLL_S = 5.0  # the longest wait between two tries while the engine says its model is loading
# The most an engine's answer may be. The largest an engine sends rightly is a media answer: an edited photo as a
# PNG, or the GAN's grid as a few base64 PNGs, at most tens of MB (uploads stop at 50 MB; the workers take 64 MB
# bodies, serve/workers.py). A chat stream of 1,024 tokens is well under 1 MB. More is a wrong route or a broken
# engine, refused before it fills this process's memory.
MAX_ANSWER_BYTES = 64 << 20


def is_backend_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def shown_url(url: str) -> str:
    """The URL as people may see it: no login, no query (either can hold a key), no trailing slash."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path.rstrip('/')}"


def shown_model(name: str) -> str:
    """A served model's name as visitors may see it: an engine that names its model by the file it loaded
    (llama.cpp's server without an alias: the GGUF's absolute path) shows the file's name, not the server's paths."""
    if name.startswith(("/", "~", "\\")) or (len(name) > 2 and name[1] == ":" and name[2] in "/\\"):
        return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name


def with_route(url: str, route: str) -> str:
    """`url` with `route` appended to its path: its query (which may carry a key) and #fragment stay after it."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{route.strip('/')}"))


def task_urls(backends: dict[str, str], task_keys: tuple[str, ...]) -> dict[str, str]:
    """Each task's URL: its own `--backend TASK=URL`, else `all`'s URL with the task's route appended."""
    common = backends.get(ALL_TASKS)
    urls = {task: with_route(common, task) for task in task_keys} if common else {}
    urls.update({task: url for task, url in backends.items() if task != ALL_TASKS})
    return urls


class RemoteError(ModelLoadError):
    """A remote engine's failure, in plain words that name the engine (never its token)."""


@dataclass(frozen=True)
class Backend:
    task: str
    url: str
    token_env: str = DEFAULT_TOKEN_ENV
    timeout_s: float = REQUEST_TIMEOUT_S
    _asked: dict = field(default_factory=dict, compare=False, repr=False)  # what the engine said once for all

    def __post_init__(self):
        keep_out_of_logs(*url_secrets(self.url), os.environ.get(self.token_env))

    @property
    def shown(self) -> str:
        return shown_url(self.url)

    @property
    def endpoint(self) -> str:
        """The URL requests go to: without its #fragment, which names the model of an OpenAI-compatible engine
        that serves many (https://router.huggingface.co/v1#Qwen/Qwen2.5-7B-Instruct)."""
        return urlunsplit(urlsplit(self.url)._replace(fragment=""))

    def _token(self) -> str | None:
        """The token of --backend-token-env as it is now; None: huggingface_hub's own rule (HF_TOKEN, else the
        stored login), as for the Hub. Either is kept out of the log."""
        token = os.environ.get(self.token_env) or None
        keep_out_of_logs(token or _stored_login())
        return token

    def _client(self, timeout: float):
        from huggingface_hub import InferenceClient

        return InferenceClient(model=self.endpoint, token=self._token(), timeout=timeout)

    @contextlib.contextmanager
    def _calling(self) -> Iterator[Any]:
        """Within: the HTTP requests sent (through huggingface_hub's shared client, which it yields) go to this
        engine, and its answers are held to what an engine may send."""
        session = _guarded_hub_session()
        calling = _engine_called.set(self)
        try:
            yield session
        finally:
            _engine_called.reset(calling)

    def call(self, ask: Callable[[Any], T], progress: Callable[[float, str], None] | None = None,
             deadline: float | None = None) -> T:
        """ask(client)'s answer. While the engine answers 503 with an estimated time (its model is loading), the
        wait is shown as progress and the request tried again, within the server's time limit (or `deadline`, a
        time.monotonic() that a longer request set)."""
        deadline = deadline or time.monotonic() + self.timeout_s
        while True:
            try:
                with self._calling():
                    answer = ask(self._client(max(1.0, deadline - time.monotonic())))
                self._asked.pop("too_large", None)
                return answer
            except Exception as error:
                wait = _loading_estimate(error)
                left = deadline - time.monotonic()
                if wait is None or left < 1.0:
                    raise self.failure(error) from error
                if progress is not None:
                    progress(0.0, say("progress_remote_loading", current_language(), backend=self.shown,
                                      seconds=round(wait)))
                time.sleep(min(wait, LOADING_POLL_S, left))

    def chat_stream(self, messages: list[dict], deadline: float | None = None,
                    **sampling) -> Generator[str, None, str]:
        """The reply's text as it grows, within the request's time limit (or `deadline`, the request's
        time.monotonic() one): one deadline spans the listing, the request and the whole stream. Returns how the
        reply ended: OUT_OF_TIME at that limit (the stream is then closed, so the engine stops, and what came is
        kept, as the local chat does), else the engine's finish_reason ("stop", "length" at the token limit...).
        Closing the iterator closes it too."""
        deadline = time.monotonic() + self.timeout_s if deadline is None else deadline
        model = self.call(lambda client: self.served_model(deadline), deadline=deadline)  # (no client needed)
        clients = []

        def ask(client):
            clients.append(client)  # closing it closes its open streams
            return client.chat_completion(messages, model=model, stream=True, **sampling)

        def close():
            for client in clients:
                client.close()

        text, finished, chunks = "", "", None
        try:
            chunks = ReadUntil(deadline, self.call(ask, deadline=deadline), close)
            for chunk in chunks:
                choices = chunk.choices or []
                piece = choices[0].delta.content if choices and choices[0].delta else None
                finished = finished or (choices and choices[0].finish_reason) or ""
                if piece:
                    text += piece
                    yield text
            if not finished and not chunks.out_of_time:  # every engine ends a reply with its reason
                raise RemoteError("remote_cut_off", backend=self.shown)
        except Exception as error:
            raise self.failure(error) from error
        finally:
            if chunks is None:
                close()
            else:  # its reader closes the stream, on the thread that reads it
                chunks.close()
        if not text:
            yield text
        return OUT_OF_TIME if chunks.out_of_time else finished

    def served_model(self, deadline: float | None = None) -> str:
        """The model an OpenAI-compatible engine serves, from its /v1/models (vLLM insists on the name), asked
        once: an engine that is still finishing a closed stream may take seconds to list it."""
        named = urlsplit(self.url).fragment
        if named:
            return named
        if "served" not in self._asked:
            left = (deadline or time.monotonic() + self.timeout_s) - time.monotonic()
            listed = self.listing(timeout=max(1.0, left))
            self._asked["served"] = listed[0] if listed else "default"
        return self._asked["served"]

    def listing(self, timeout: float = HEALTH_TIMEOUT_S) -> list[str]:
        with self._calling() as session:
            response = session.get(with_route(_openai_base(self.endpoint), "models"), timeout=timeout,
                                   headers=self._auth())
            response.raise_for_status()
        return [str(model.get("id")) for model in response.json().get("data", []) if isinstance(model, dict)]

    def post_json(self, payload: dict, timeout: float) -> bytes:
        """A POST of our own workers' contract (the GAN), with the same headers as InferenceClient's."""
        from huggingface_hub.utils import hf_raise_for_status

        with self._calling() as session:
            response = session.post(self.endpoint, json=payload, timeout=timeout, headers=self._auth())
            hf_raise_for_status(response)
        return response.content

    def health(self) -> tuple[str, str]:
        """(state key of the catalog, what it serves): whether the engine answers now."""
        try:
            if self.task == "text_generation":
                listed = self.listing()
                return self._answering(), urlsplit(self.url).fragment or ", ".join(map(shown_model, listed[:3])) or "–"
            with self._calling() as session:
                status = session.get(with_route(self.endpoint, "health"), timeout=HEALTH_TIMEOUT_S,
                                     headers=self._auth()).status_code
        except Exception as error:  # the health column says it; the log keeps the details
            log.info("backend %s for %s: %s", self.shown, self.task, type(error).__name__)
            if isinstance(error, RemoteError) and error.key in _REFUSED_ANSWER_STATES:
                return _REFUSED_ANSWER_STATES[error.key], "–"
            status = getattr(getattr(error, "response", None), "status_code", None)
            if status is None:
                return "backend_down", "–"
        if status in (401, 403):
            return "backend_refuses_token", "–"
        return (self._answering() if status < 500 else "backend_failing"), "–"

    def _answering(self) -> str:
        """An engine that answers, unless its last answer was refused as too large (its row says so)."""
        return "backend_too_large" if self._asked.get("too_large") else "backend_up"

    def _auth(self) -> dict[str, str]:
        token = self._token()
        return {"authorization": f"Bearer {token}"} if token else {}

    def too_large(self) -> RemoteError:
        return RemoteError("remote_too_large", backend=self.shown, max_mb=MAX_ANSWER_BYTES / 2**20)

    def failure(self, error: Exception) -> RemoteError:
        """An exception of the HTTP call as the plain words it deserves."""
        if isinstance(error, RemoteError):
            if error.key == "remote_too_large":
                self._asked["too_large"] = True
            return error
        name, status = type(error).__name__, getattr(getattr(error, "response", None), "status_code", None)
        words = {"backend": self.shown}
        if name == "OfflineModeIsEnabled":
            return RemoteError("remote_offline", **words)
        if name in ("InferenceTimeoutError", "ReadTimeout", "TimeoutException", "WriteTimeout", "PoolTimeout"):
            return RemoteError("remote_timeout", seconds=round(self.timeout_s), **words)
        if status is None and name in _UNREACHABLE:
            return RemoteError("remote_unreachable", **words)
        if status in (401, 403):
            return RemoteError("remote_refused_token", status=status, token_env=self.token_env, **words)
        if status == 503:
            return RemoteError("remote_loading", **words)
        if status is not None and 400 <= status < 500:
            return RemoteError("remote_refused", status=status, reason=_reason(error), **words)
        if status is not None:
            return RemoteError("remote_failed", status=status, **words)
        log.warning("backend %s for %s gave an answer we cannot read: %s", self.shown, self.task, name)
        return RemoteError("remote_bad_answer", **words)


# What the Models tab's row says of an engine whose answer was refused (their RemoteError keys).
_REFUSED_ANSWER_STATES = {"remote_redirect": "backend_redirects", "remote_too_large": "backend_too_large"}

# httpx's failures to reach a server at all (refused, reset, name unknown, closed mid-answer).
_UNREACHABLE = ("ConnectError", "ConnectTimeout", "NetworkError", "RemoteProtocolError", "ReadError",
                "ProtocolError", "TransportError", "ConnectionError", "ConnectionRefusedError")


def _openai_base(url: str) -> str:
    """An OpenAI-compatible engine's base: the URL as given, with /v1 added where its path does not end so."""
    return url if urlsplit(url).path.rstrip("/").endswith("/v1") else with_route(url, "v1")


@functools.cache
def _stored_login() -> str | None:
    """The Hugging Face login stored on this machine, which huggingface_hub sends where no token is set."""
    from huggingface_hub import get_token

    return get_token()


# The engine the HTTP requests of this context go to (Backend._calling); None: any other request (the Hub's).
_engine_called: ContextVar[Backend | None] = ContextVar("engine_called", default=None)
_hooks_lock = threading.Lock()


def _guarded_hub_session():
    """huggingface_hub's shared HTTP client, through which InferenceClient sends every call (it takes no client of
    its own), with our two hooks added once. They act only on the requests sent to an engine (_engine_called):
    the Hub's downloads, which need redirects (to its CDN) and are large, go as before. Checked at each call: a
    session huggingface_hub makes anew (after a fork, close_session) gets them too."""
    from huggingface_hub.utils import get_session

    session = get_session()
    with _hooks_lock:
        hooks = session.event_hooks
        if _checked_answer not in hooks["response"]:
            session.event_hooks = {"request": [*hooks["request"], _plain_request],
                                   "response": [*hooks["response"], _checked_answer]}
    return session


def _plain_request(request) -> None:
    """An engine is asked for uncompressed answers: the size cap then bounds what memory holds, not only what
    came over the network (a small gzip can decode to gigabytes)."""
    if _engine_called.get() is not None:
        request.headers["accept-encoding"] = "identity"


def _checked_answer(response) -> None:
    """An engine's answer as it starts (its head): a redirect is refused before httpx follows it (an engine that
    moved is the operator's to point to, and a redirect could send the token's request elsewhere); a compressed or
    declared-too-large answer is refused; any other is read through a cap of MAX_ANSWER_BYTES."""
    backend = _engine_called.get()
    if backend is None:
        return
    if 300 <= response.status_code < 400:
        log.warning("backend %s for %s answered HTTP %s, a redirect to %s, which is not followed", backend.shown,
                    backend.task, response.status_code, _host_of(response.headers.get("location", "")))
        raise RemoteError("remote_redirect", backend=backend.shown)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "none", ""):
        log.warning("backend %s for %s sent a %s-compressed answer, though asked for none", backend.shown,
                    backend.task, encoding)
        raise RemoteError("remote_bad_answer", backend=backend.shown)
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise backend.too_large()
    response.stream = _capped_stream_type()(response.stream, backend)


def _host_of(location: str) -> str:
    """Where a redirect points, as the log may say it: its host alone (a path or query may carry a signature)."""
    try:
        return urlsplit(location).hostname or "the same host"
    except ValueError:
        return "an unreadable address"


@functools.cache
def _capped_stream_type() -> type:
    """A response body that stops at MAX_ANSWER_BYTES. Made on first use: httpx2 (huggingface_hub's HTTP
    library, whose responses read only its own stream type) is not imported before an engine is called."""
    from httpx2 import SyncByteStream

    class CappedStream(SyncByteStream):
        def __init__(self, stream, backend: Backend):
            self.stream, self.backend = stream, backend

        def __iter__(self) -> Iterator[bytes]:
            received = 0
            for piece in self.stream:
                received += len(piece)
                if received > MAX_ANSWER_BYTES:  # read at the module's value now (a test lowers it)
                    raise self.backend.too_large()
                yield piece

        def close(self) -> None:
            self.stream.close()

    return CappedStream


def _reason(error: Exception) -> str:
    """What the engine said was wrong with the request, cut short (an engine's words, shown as it said them)."""
    response = getattr(error, "response", None)
    try:
        body = response.json()
        detail = body.get("error") or body.get("detail") or body.get("message") or body
        if isinstance(detail, dict):
            detail = detail.get("message") or detail
        return quoted(detail, 200)
    except Exception:
        return quoted(getattr(response, "text", "") or "", 200)


def _loading_estimate(error: Exception) -> float | None:
    """The seconds an engine answering 503 says its model still needs to load (Hugging Face's `estimated_time`)."""
    response = getattr(error, "response", None)
    if getattr(response, "status_code", None) != 503:
        return None
    try:
        estimate = float(response.json().get("estimated_time"))
    except Exception:
        return None
    return estimate if 0 <= estimate < 86_400 else None
