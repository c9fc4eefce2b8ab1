"""A request to run an endpoint must carry its inputs as a list with one value for each, and a file input a file
object (or null), before Gradio reads it.

Gradio answers `{"data": NaN}` with HTTP 500 (its 422 cannot put NaN into JSON) and a list one input short with an
error whose message is null; here both get a 422 in plain words that say what the endpoint takes. What each value
may be is the endpoint's own check (demos/params.py). An ASGI middleware, inside HttpGuard: bodies it reads are
already capped in size.
"""
from __future__ import annotations

import inspect
import json
import re

from starlette._utils import get_route_path

from demos.common import Refusal
from demos.media import client_file
from http_guard import API, language_of_scope, refuse_in_words
from messages import say

# The paths that run an endpoint: by its API name, or by its index in Gradio's list of events (the page's queue).
BY_NAME = re.compile(rf"^{API}/(?:call|run|api)/(?P<name>[^/]+)/?$")
BY_INDEX = f"{API}/queue/join"


def input_names(event) -> list[str]:
    """The names of an event's inputs, in order (its handler's parameters: demos/endpoints.py keeps them)."""
    return [name for name in inspect.signature(event.fn).parameters if name not in ("progress", "request")]


class RequestShape:
    def __init__(self, app, blocks):
        self.app, self.blocks = app, blocks

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        path = get_route_path(scope) or "/"
        named = BY_NAME.match(path)
        if not named and path != BY_INDEX:
            return await self.app(scope, receive, send)
        body, more, messages = b"", True, []
        while more:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        refusal = self._refusal(body, named.group("name") if named else None)
        if refusal is not None:
            key, params = refusal
            return await refuse_in_words(send, 422, say(key, language_of_scope(scope), **params))

        async def replayed():
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replayed, send)

    def _refusal(self, body: bytes, api_name: str | None) -> tuple[str, dict] | None:
        """(catalog key, its parameters) of why the request cannot run its endpoint, else None."""
        try:
            request = json.loads(body)
        except ValueError:
            return None  # not JSON: Gradio's own 422 says so
        if not isinstance(request, dict) or "data" not in request:
            return None
        event = self._event(api_name, request.get("fn_index"))
        if event is None:
            return None  # no such endpoint: Gradio's own answer says so
        data, expected = request["data"], len(event.inputs)
        if not isinstance(data, list):
            return "http_data_not_a_list", {"count": expected}
        if len(data) < expected:
            return "http_too_few_inputs", {"count": expected, "sent": len(data)}
        for position, (component, value) in enumerate(zip(event.inputs, data)):
            # Gradio reads a file input's value into its data model before any handler runs (even with
            # preprocess=False); a value that does not fit failed there with an error whose message was null.
            file_model = getattr(component, "data_model", None)
            if file_model is None or value is None:
                continue
            if not _fits(file_model, value):
                names = input_names(event)
                return "http_not_a_file", {"name": names[position] if position < len(names) else position + 1}
            # Gradio would also copy each file into its cache first, and a file that is not an upload failed
            # there, again with a null message.
            try:
                for file in _files(value):
                    client_file(file)
            except Refusal as refusal:
                return refusal.key, refusal.params
        return None

    def _event(self, api_name: str | None, index):
        if api_name is None:
            return self.blocks.fns.get(index) if isinstance(index, int) else None
        return next((event for event in self.blocks.fns.values() if event.api_name == api_name), None)


def _files(value):
    """Every file object in an input's value (an image editor's holds several)."""
    if isinstance(value, dict):
        if "path" in value:
            yield value
        else:
            for part in value.values():
                yield from _files(part)
    elif isinstance(value, list):
        for part in value:
            yield from _files(part)


def _fits(model, value) -> bool:
    try:
        model.model_validate(value, context={"validate_meta": True})
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        return False
    return True
