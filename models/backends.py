"""Remote backends: a task whose model runs on an inference engine elsewhere (`--backend TASK=URL`).

Text generation speaks OpenAI's chat completions (vLLM, SGLang, llama.cpp's server, Ollama, Hugging Face's router,
our Ray Serve workers); every other task speaks the Hugging Face Inference API's contract (`{"inputs",
"parameters"}`, raw bytes for media), both through huggingface_hub's InferenceClient. The GAN, which that contract
lacks, speaks our own workers' `{"inputs": {"seed", "count"}}` (serve/contract.py).

Light: the command line and the runtime read it before anything heavy is imported; the client is imported on
first call. The token is read from the environment at each call and never put in a message or a log line.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from messages import current_language, say
from models.errors import ModelLoadError, quoted

log = logging.getLogger("demo_hub")
T = TypeVar("T")

ALL_TASKS = "all"  # --backend all=URL: every task at URL/<task> (how serve/config.yaml routes them)
DEFAULT_TOKEN_ENV = "HF_TOKEN"
# Requests a remote task's tab sends at once: the engine queues and batches; the front end only waits.
REMOTE_CONCURRENCY = 16
HEALTH_TIMEOUT_S = 3.0
LOADING_POLL_S = 5.0  # the longest wait between two tries while the engine says its model is loading


def is_backend_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def shown_url(url: str) -> str:
    """The URL as people may see it: no login, no query (either can hold a key), no trailing slash."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path.rstrip('/')}"


def task_urls(backends: dict[str, str], task_keys: tuple[str, ...]) -> dict[str, str]:
    """Each task's URL: its own `--backend TASK=URL`, else `all`'s URL with the task's route appended."""
    common = backends.get(ALL_TASKS)
    urls = {task: f"{common.rstrip('/')}/{task}" for task in task_keys} if common else {}
    urls.update({task: url for task, url in backends.items() if task != ALL_TASKS})
    return urls


class RemoteError(ModelLoadError):
    """A remote engine's failure, in plain words that name the engine (never its token)."""


@dataclass(frozen=True)
class Backend:
    task: str
    url: str
    token_env: str = DEFAULT_TOKEN_ENV
    timeout_s: float = 120.0
    _asked: dict = field(default_factory=dict, compare=False, repr=False)  # what the engine said once for all

    @property
    def shown(self) -> str:
        return shown_url(self.url)

    @property
    def endpoint(self) -> str:
        """The URL requests go to: without its #fragment, which names the model of an OpenAI-compatible engine
        that serves many (https://router.huggingface.co/v1#Qwen/Qwen2.5-7B-Instruct)."""
        return self.url.split("#", 1)[0]

    def _client(self, timeout: float):
        from huggingface_hub import InferenceClient

        # None: huggingface_hub's own rule (HF_TOKEN, else the stored login), as for the Hub.
        return InferenceClient(model=self.endpoint, token=os.environ.get(self.token_env) or None, timeout=timeout)

    def call(self, ask: Callable[[Any], T], progress: Callable[[float, str], None] | None = None) -> T:
        """ask(client)'s answer. While the engine answers 503 with an estimated time (its model is loading), the
        wait is shown as progress and the request tried again, within the server's time limit."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                return ask(self._client(max(1.0, deadline - time.monotonic())))
            except Exception as error:
                wait = _loading_estimate(error)
                left = deadline - time.monotonic()
                if wait is None or left < 1.0:
                    raise self.failure(error) from error
                if progress is not None:
                    progress(0.0, say("progress_remote_loading", current_language(), backend=self.shown,
                                      seconds=round(wait)))
                time.sleep(min(wait, LOADING_POLL_S, left))

    def chat_stream(self, messages: list[dict], **sampling) -> Iterator[str]:
        """The reply's text as it grows. Closing the iterator closes the HTTP stream, so the engine stops."""
        model = self.call(lambda client: self.served_model())  # (the client is not needed to list)
        clients = []

        def ask(client):
            clients.append(client)  # closing it closes its open streams
            return client.chat_completion(messages, model=model, stream=True, **sampling)

        stream = self.call(ask)
        text, finished = "", False
        try:
            for chunk in stream:
                choices = chunk.choices or []
                piece = choices[0].delta.content if choices and choices[0].delta else None
                finished = finished or bool(choices and choices[0].finish_reason)
                if piece:
                    text += piece
                    yield text
            if not finished:  # every engine ends a reply with its reason; a stream without one was cut off
                raise RemoteError("remote_cut_off", backend=self.shown)
        except Exception as error:
            raise self.failure(error) from error
        finally:
            for client in clients:
                client.close()
        if not text:
            yield text

    def served_model(self) -> str:
        """The model an OpenAI-compatible engine serves, from its /v1/models (vLLM insists on the name), asked
        once: an engine that is still finishing a closed stream may take seconds to list it."""
        named = urlsplit(self.url).fragment
        if named:
            return named
        if "served" not in self._asked:
            listed = self.listing(timeout=self.timeout_s)
            self._asked["served"] = listed[0] if listed else "default"
        return self._asked["served"]

    def listing(self, timeout: float = HEALTH_TIMEOUT_S) -> list[str]:
        from huggingface_hub.utils import get_session

        response = get_session().get(f"{_openai_base(self.endpoint)}/models", timeout=timeout, headers=self._auth())
        response.raise_for_status()
        return [str(model.get("id")) for model in response.json().get("data", []) if isinstance(model, dict)]

    def post_json(self, payload: dict, timeout: float) -> bytes:
        """A POST of our own workers' contract (the GAN), with the same headers as InferenceClient's."""
        from huggingface_hub.utils import get_session, hf_raise_for_status

        response = get_session().post(self.endpoint, json=payload, timeout=timeout, headers=self._auth())
        hf_raise_for_status(response)
        return response.content

    def health(self) -> tuple[str, str]:
        """(state key of the catalog, what it serves): whether the engine answers now."""
        try:
            if self.task == "text_generation":
                listed = self.listing()
                return "backend_up", urlsplit(self.url).fragment or ", ".join(listed[:3]) or "–"
            from huggingface_hub.utils import get_session

            status = get_session().get(f"{self.endpoint.rstrip('/')}/health", timeout=HEALTH_TIMEOUT_S,
                                       headers=self._auth()).status_code
        except Exception as error:  # the health column says it; the log keeps the details
            log.info("backend %s for %s: %s", self.shown, self.task, type(error).__name__)
            status = getattr(getattr(error, "response", None), "status_code", None)
            if status is None:
                return "backend_down", "–"
        if status in (401, 403):
            return "backend_refuses_token", "–"
        return ("backend_up" if status < 500 else "backend_failing"), "–"

    def _auth(self) -> dict[str, str]:
        token = os.environ.get(self.token_env)
        return {"authorization": f"Bearer {token}"} if token else {}

    def failure(self, error: Exception) -> RemoteError:
        """An exception of the HTTP call as the plain words it deserves."""
        if isinstance(error, RemoteError):
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


# httpx's failures to reach a server at all (refused, reset, name unknown, closed mid-answer).
_UNREACHABLE = ("ConnectError", "ConnectTimeout", "NetworkError", "RemoteProtocolError", "ReadError",
                "ProtocolError", "TransportError", "ConnectionError", "ConnectionRefusedError")


def _openai_base(url: str) -> str:
    """An OpenAI-compatible engine's base: the URL as given, with /v1 added where it does not end so."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


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
