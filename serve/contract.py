"""The workers' side of the remote contract, over HTTP: a request's body to its task's engine (engines/<task>.py:
`answer`, what its worker answers, checked with the endpoint's own params) and the answer, or the failure, to a
reply. Text generation speaks OpenAI's chat completions instead, with the hub's own chat behind it.
"""
from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from engines.contract import JSON, BadRequest, Reply, Request  # noqa: F401 (JSON: the workers' media type)
from engines.refusal import SOMETHING_WENT_WRONG, Refusal
from engines.runtime import ModelRuntime
from messages import say
from models.errors import ModelLoadError
from tasks import TASK_KEYS

TEXT_GENERATION = "text_generation"
log = logging.getLogger("demo_hub")


def as_json(value: Any) -> Any:
    """Numpy's numbers (what pipelines' post-processing gives) as JSON's."""
    if isinstance(value, dict):
        return {str(key): as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    return value.item() if hasattr(value, "item") else value


def json_reply(value: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(as_json(value), ensure_ascii=False).encode("utf-8"))


def error_reply(error: Exception) -> Reply:
    """A failure as the contract's `{"error": ...}`, in plain words: 422 for the request, 500 for the worker."""
    if isinstance(error, BadRequest):
        return json_reply({"error": str(error)}, 400)
    if isinstance(error, Refusal):  # (str() of one is its words in quotes: Gradio's errors say themselves so)
        return json_reply({"error": error.text()}, 422)
    if isinstance(error, ModelLoadError):
        log.warning("model not available: %s", error)
        return json_reply({"error": str(error)}, 500)
    log.error("worker failed", exc_info=error)
    return json_reply({"error": say(SOMETHING_WENT_WRONG)}, 500)


def answer(runtime: ModelRuntime, task: str, body: bytes, media_type: str) -> Reply:
    """The reply to one contract request for `task`, whatever it holds."""
    engine = importlib.import_module(f"engines.{task}")
    try:
        request = Request.parse(body, media_type, engine.MEDIA_INPUTS)
        result = engine.answer(runtime, request, runtime.context())
    except Exception as error:
        return error_reply(error)
    return result if isinstance(result, Reply) else json_reply(result)


CONTRACT_TASKS = tuple(task for task in TASK_KEYS if task != TEXT_GENERATION)  # those that answer `answer`


# --- text generation: OpenAI's chat completions ---

def chat_request(body: bytes) -> tuple[str, list[dict], dict, bool]:
    """(the last user message, the conversation before it, the sampling settings, whether to stream) of a chat
    completion request, checked as the hub's chat checks them."""
    from engines.generation import DEFAULT_SAMPLING, SAMPLING_PARAMS
    from engines.text_generation import MESSAGE

    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict) \
            or messages[-1].get("role") != "user":
        raise BadRequest('"messages" must be a list that ends with a user message')
    message = MESSAGE.check(messages[-1].get("content"))
    given = {"max_new_tokens": payload.get("max_tokens", DEFAULT_SAMPLING.max_new_tokens),
             "temperature": payload.get("temperature", DEFAULT_SAMPLING.temperature),
             "top_p": payload.get("top_p", DEFAULT_SAMPLING.top_p), "seed": payload.get("seed", DEFAULT_SAMPLING.seed)}
    settings = {name: SAMPLING_PARAMS[name].check(value) for name, value in given.items()}
    return message, messages[:-1], settings, payload.get("stream") is True


def chat_stream(runtime: ModelRuntime, message: str, history: list[dict], settings: dict) -> Iterator[str]:
    """The reply's new text, piece by piece: the hub's own chat, run here."""
    from engines.text_generation import chat

    sent = ""
    for text in chat(runtime, message, history, **settings, context=runtime.context()):
        if len(text) > len(sent):
            yield text[len(sent):]
            sent = text


def chat_chunk(model: str, created: int, piece: str | None, finish: str | None = None) -> bytes:
    """One server-sent event of a streamed chat completion."""
    delta = {"role": "assistant", "content": piece} if piece is not None else {}
    chunk = {"id": f"chatcmpl-{created}", "object": "chat.completion.chunk", "created": created, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()


def chat_completion(model: str, created: int, text: str) -> Reply:
    """A whole (not streamed) chat completion."""
    return json_reply({"id": f"chatcmpl-{created}", "object": "chat.completion", "created": created, "model": model,
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}]})


def models_listing(runtime: ModelRuntime) -> Reply:
    return json_reply({"object": "list", "data": [{"id": runtime.default("text_generation").name, "object": "model",
                                                   "owned_by": "demo-hub"}]})
