"""A request to run an endpoint must carry its inputs as a list with one value for each, before Gradio reads it.

Gradio answers `{"data": NaN}` with HTTP 500 (its 422 cannot put NaN into JSON) and a list one input short with an
error whose message is null; here both get a 422 in plain words that say what the endpoint takes. What each value
may be is the endpoint's own check (demos/params.py). An ASGI middleware, inside HttpGuard: bodies it reads are
already capped in size.
"""
from __future__ import annotations

import json
import re

from starlette._utils import get_route_path

from http_guard import API, language_of_scope, refuse_in_words
from messages import say

# The paths that run an endpoint: by its API name, or by its index in Gradio's list of events (the page's queue).
BY_NAME = re.compile(rf"^{API}/(?:call|run|api)/(?P<name>[^/]+)/?$")
BY_INDEX = f"{API}/queue/join"


def input_counts(blocks) -> tuple[dict[str, int], dict[int, int]]:
    """How many inputs each event takes: by API name, and by index."""
    by_index = {index: len(fn.inputs) for index, fn in blocks.fns.items()}
    by_name = {fn.api_name: len(fn.inputs) for fn in blocks.fns.values() if fn.api_name}
    return by_name, by_index


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
        try:
            request = json.loads(body)
        except ValueError:
            return None  # not JSON: Gradio's own 422 says so
        if not isinstance(request, dict) or "data" not in request:
            return None
        by_name, by_index = input_counts(self.blocks)
        expected = by_name.get(api_name) if api_name else by_index.get(request.get("fn_index"))
        if expected is None:
            return None  # no such endpoint: Gradio's own answer says so
        data = request["data"]
        if not isinstance(data, list):
            return "http_data_not_a_list", {"count": expected}
        if len(data) < expected:
            return "http_too_few_inputs", {"count": expected, "sent": len(data)}
        return None
