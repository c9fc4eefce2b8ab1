"""What each task's worker answers, as the Hugging Face Inference API's contract has it: a request's body (JSON
`{"inputs", "parameters"}`, or the raw bytes of an image or a recording) in, JSON (or PNG bytes) out. Each answer
is computed by the same function the hub's tab runs in-process, so the hub gives the same answers either way.

A request is checked with the tab's own parameter checks: a worker is a server anyone on its network can call.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from demos.common import Refusal
from demos.endpoints import SOMETHING_WENT_WRONG
from messages import say
from models.errors import ModelLoadError
from models.runtime import ModelRuntime
from serve.media_answers import MEDIA_ANSWERS

log = logging.getLogger("demo_hub")
JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    media_type: str = JSON


class BadRequest(Exception):
    """The request's shape is not the contract's."""


@dataclass(frozen=True)
class Request:
    """A contract request: its inputs (text, decoded bytes, or any JSON value) and parameters."""

    inputs: Any
    parameters: dict

    @classmethod
    def parse(cls, body: bytes, media_type: str, binary: bool) -> Request:
        """JSON `{"inputs", "parameters"}`; for a task on media, also the raw bytes, or JSON with base64 inputs."""
        if binary and not media_type.startswith(JSON):
            return cls(body, {})
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not JSON") from None
        if not isinstance(payload, dict) or "inputs" not in payload:
            raise BadRequest('expected a JSON object with "inputs"')
        parameters = payload.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise BadRequest('"parameters" must be an object')
        inputs = payload["inputs"]
        if binary:
            if not isinstance(inputs, str):
                raise BadRequest('"inputs" must be base64 text')
            try:
                inputs = base64.b64decode(inputs, validate=True)
            except binascii.Error:
                raise BadRequest('"inputs" is not base64') from None
        return cls(inputs, parameters)


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


# --- each task's answer: (runtime, request) -> the contract's JSON value (or a Reply for media) ---

def _ner(runtime: ModelRuntime, request: Request):
    from demos.ner import ENDPOINTS, entities_here

    text = ENDPOINTS[0].params["text"].check(request.inputs)
    return entities_here(runtime, runtime.default("ner"), text)


def _sentiment(runtime: ModelRuntime, request: Request):
    """Contract's text-classification: one text's classes, likeliest first, at most top_k of them (in a list of
    one: the contract's answer lists one ranking per input)."""
    from demos.params import Text, Whole
    from demos.sentiment import MAX_CHARS, scores_here

    text = Text("param_text", MAX_CHARS).check(request.inputs)
    top_k = Whole("param_top_k", 1, 1000).check(request.parameters.get("top_k", 1))
    scores = scores_here(runtime, runtime.default("sentiment"), [text])[0]
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:top_k]
    return [[{"label": label, "score": score} for label, score in ranked]]


ANSWERS: dict[str, tuple[Callable[[ModelRuntime, Request], Any], bool]] = {
    # task: (answer, whether its inputs are media bytes)
    "ner": (_ner, False),
    "sentiment": (_sentiment, False),
    **MEDIA_ANSWERS,  # the media tasks', translation's and the GAN's (serve/media_answers.py)
}


def answer(runtime: ModelRuntime, task: str, body: bytes, media_type: str) -> Reply:
    """The reply to one contract request for `task`, whatever it holds."""
    function, binary = ANSWERS[task]
    try:
        result = function(runtime, Request.parse(body, media_type, binary))
    except Exception as error:
        return error_reply(error)
    return result if isinstance(result, Reply) else json_reply(result)


# --- text generation: OpenAI's chat completions ---

def chat_request(body: bytes) -> tuple[str, list[dict], dict, bool]:
    """(the last user message, the conversation before it, the sampling settings, whether to stream) of a chat
    completion request, checked as the hub's chat checks them."""
    from demos.generation import SAMPLING_PARAMS
    from demos.text_generation import MESSAGE

    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict) \
            or messages[-1].get("role") != "user":
        raise BadRequest('"messages" must be a list that ends with a user message')
    message = MESSAGE.check(messages[-1].get("content"))
    given = {"max_new_tokens": payload.get("max_tokens", 256), "temperature": payload.get("temperature", 0.7),
             "top_p": payload.get("top_p", 0.9), "seed": payload.get("seed", 0)}
    settings = {name: SAMPLING_PARAMS[name].check(value) for name, value in given.items()}
    return message, messages[:-1], settings, payload.get("stream") is True


def chat_stream(runtime: ModelRuntime, message: str, history: list[dict], settings: dict) -> Iterator[str]:
    """The reply's new text, piece by piece: the hub's own chat, run here."""
    from demos.text_generation import chat

    sent = ""
    for text in chat(runtime, message, history, **settings):
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
