"""What a task's worker is asked and answers, as the Hugging Face Inference API's contract has it: a request's
body (JSON `{"inputs", "parameters"}`, or the raw bytes of an image or a recording) in, JSON (or PNG bytes) out.
Each task's engine module holds both sides of its own: `answer(runtime, request)`, what its worker answers (with
the model in the worker's process), and its REMOTE engine, which sends the hub's request and reads the answer.

A worker's request is checked with the endpoint's own params: a worker is a server anyone on its network can call.
"""
from __future__ import annotations

import base64
import binascii
import inspect
import io
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        parameters = payload.get("parameters")
        parameters = {} if parameters is None else parameters
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


@contextmanager
def media_file(data: bytes) -> Iterator[Path]:
    """The request's bytes as a file for the engine's own reader (it opens files, as it opens uploads)."""
    with tempfile.TemporaryDirectory(prefix="demo-hub-worker-") as folder:
        path = Path(folder) / "input"
        path.write_bytes(data)
        yield path


def checked(endpoint, given: dict, names: dict[str, str]) -> list:
    """The endpoint's inputs `names` (its input -> the contract's name for it) read from `given` and checked by the
    endpoint's own params; one not given takes the endpoint function's default."""
    if not isinstance(given, dict):
        raise BadRequest('"parameters" must be an object')
    defaults = inspect.signature(endpoint.fn).parameters
    values = []
    for name, key in names.items():
        default = defaults[name].default
        values.append(endpoint.params[name].check(given.get(key, None if default is inspect.Parameter.empty
                                                            else default)))
    return values


def png_bytes(picture) -> bytes:
    """A picture as PNG (lossless): how pictures travel to and from a remote engine."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def png_reply(picture) -> Reply:
    return Reply(200, png_bytes(picture), "image/png")


def loaded(picture):
    """A remote engine's picture, decoded now (a damaged answer fails within the call, in plain words)."""
    picture.load()
    return picture
