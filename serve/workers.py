"""Ray Serve deployments of the hub's tasks: one application per task, routed at /<task> (serve/config.py), so
that `--backend all=URL` reaches every task at URL/<task>.

Each replica holds a ModelRuntime of its own (the same loaders, cache, torch threads and dynamic batching as the
hub in-process): requests that arrive together at a replica share a forward, as they do in the hub. Replicas
scale with `num_replicas` ("auto": Serve's autoscaling) and take GPUs, whole or fractions, through
`ray_actor_options`.
"""
from __future__ import annotations

import asyncio
import time
from types import MappingProxyType

from ray import serve
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from models.settings import REQUEST_TIMEOUT_S, Settings
from serve import contract

TEXT_GENERATION = "text_generation"
MAX_BODY_BYTES = 64 << 20  # the hub's uploads stop at 50 MB; base64 adds a third


@serve.deployment(max_ongoing_requests=16)
class TaskWorker:
    """Answers one task's contract: POST /<task> (text generation: POST /<task>/v1/chat/completions and
    GET /<task>/v1/models); GET /<task>/health says it is up once its model is loaded."""

    def __init__(self, task: str, model: str | None = None, device: str = "auto", max_batch_size: int = 8,
                 request_timeout_s: float = REQUEST_TIMEOUT_S, preload: bool = True):
        from engines.runtime import ModelRuntime

        self.task = task
        self.runtime = ModelRuntime(Settings(
            device=device, model_overrides=MappingProxyType({task: model} if model else {}),
            max_batch_size=max_batch_size, request_timeout_s=request_timeout_s, result_cache_mb=0,
            custom_models=False))
        if preload:  # a replica takes requests once its model is ready: Serve waits for __init__
            self.runtime.load(self.runtime.default(task))

    async def __call__(self, request: Request) -> Response:
        path = request.url.path.rstrip("/")
        if request.method == "GET" and path.endswith("/health"):
            return Response(b'{"status": "ok"}', media_type=contract.JSON)
        body = await _bounded_body(request)
        if body is None:
            return _response(contract.json_reply({"error": f"at most {MAX_BODY_BYTES >> 20} MB a request"}, 413))
        if self.task == TEXT_GENERATION:
            if request.method == "GET" and path.endswith("/v1/models"):
                return _response(contract.models_listing(self.runtime))
            if request.method == "POST" and path.endswith("/chat/completions"):
                return await self._chat(body)
            return _response(contract.json_reply({"error": "not found"}, 404))
        if request.method != "POST":
            return _response(contract.json_reply({"error": "POST the contract's JSON or the raw input"}, 405))
        media_type = request.headers.get("content-type", "")
        return _response(await asyncio.to_thread(contract.answer, self.runtime, self.task, body, media_type))

    async def _chat(self, body: bytes) -> Response:
        try:
            message, history, settings, wanted_stream = contract.chat_request(body)
        except Exception as error:
            return _response(contract.error_reply(error))
        model, created = self.runtime.default(TEXT_GENERATION).name, int(time.time())
        pieces = contract.chat_stream(self.runtime, message, history, settings)
        if not wanted_stream:
            try:
                text = "".join(await asyncio.to_thread(list, pieces))
            except Exception as error:
                return _response(contract.error_reply(error))
            return _response(contract.chat_completion(model, created, text))
        return StreamingResponse(_events(pieces, model, created), media_type="text/event-stream")


async def _events(pieces, model: str, created: int):
    """The pieces as server-sent events, each produced on a thread. When the client goes away Serve cancels this;
    the generator is then closed after the step it is in, which stops the model (engines/generation.py)."""
    loop = asyncio.get_running_loop()
    pending = None
    try:
        while True:
            pending = loop.run_in_executor(None, next, pieces, None)
            piece = await asyncio.shield(pending)
            pending = None
            if piece is None:
                break
            yield contract.chat_chunk(model, created, piece)
        yield contract.chat_chunk(model, created, None, "stop")
        yield b"data: [DONE]\n\n"
    except Exception as error:  # headers are sent: the failure goes in the stream, as OpenAI's servers do
        reply = contract.error_reply(error)
        yield b"data: " + reply.body + b"\n\n"
    finally:
        if pending is not None:
            await asyncio.wait([pending])
        await loop.run_in_executor(None, pieces.close)


async def _bounded_body(request: Request) -> bytes | None:
    """The request's body, or None past MAX_BODY_BYTES: counted as it arrives, so a body sent in chunks, which
    declares no length, is held to the limit too."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _response(reply: contract.Reply) -> Response:
    return Response(reply.body, status_code=reply.status, media_type=reply.media_type)


def build(args: dict) -> serve.Application:
    """The application of one task, from the Serve config's `args` (serve/config.py; or `serve run
    serve.workers:build task=ner`): task, and optionally model (a Hub id or a directory), device,
    max_batch_size, request_timeout_s; and for Serve, num_replicas (a number or "auto"), num_cpus and num_gpus
    (per replica; fractions share a device)."""
    options = {key: args[key] for key in ("model", "device") if key in args}
    for key, kind in (("max_batch_size", int), ("request_timeout_s", float)):
        if key in args:
            options[key] = kind(args[key])
    resources = {key: float(args[key]) for key in ("num_cpus", "num_gpus") if key in args}
    replicas = args.get("num_replicas", 1)
    deployment = TaskWorker.options(num_replicas=replicas if replicas == "auto" else int(replicas),
                                    ray_actor_options=resources or None)
    return deployment.bind(args["task"], **options)
