"""A request that starts an event must carry its inputs as a list with one value for each, a file input a file
object (or null) that is the caller's to send, and no file where none belongs, before Gradio reads it.

Gradio answers `{"data": NaN}` with HTTP 500 (its 422 cannot put NaN into JSON), JSON nested thousands deep with a
plain-text 500, and a list one input short, a file object in a text input or a path it will not read with an
error whose message is null; here each gets a 422 in plain words that say what the endpoint takes. Every route that
starts an event (gradio_routes.EVENT) is checked, with the endpoint resolved as Gradio resolves it (by `fn_index`
where Gradio's model reads one, "27" and 27.0 included; by name otherwise; `/call/v2/` by keyword). What each value
may be is the endpoint's own check (engines/params.py). An ASGI middleware, inside HttpGuard: bodies it reads are
already capped in size. The null messages and the 500s are Gradio's (6.31.0: routes.py and blocks.preprocess_data);
its tracker has no issue for them as of 2026-12: to report upstream, with these requests (tests/test_routes.py).
"""
from __future__ import annotations

import inspect
import json
from enum import Enum

from gradio.data_classes import PredictBody
from gradio_client.utils import construct_args, is_file_obj_with_meta
from pydantic import ValidationError
from starlette._utils import get_route_path

from engines.media import client_file
from engines.refusal import Refusal
from messages import say
from web.gradio_routes import EVENT, route_of
from web.http_guard import client_address, language_of_scope, refuse_in_words
from web.upload_owners import OwnerBook

V2 = "/call/v2/"
CALL = "/call/"


def input_names(event) -> list[str]:
    """The names of an event's inputs, in order (its handler's parameters: demos/endpoints.py keeps them)."""
    return [name for name in inspect.signature(event.fn).parameters if name not in ("progress", "request")]


class RequestShape:
    def __init__(self, app, blocks, owners: OwnerBook | None = None, behind_proxy: bool = False):
        """`owners`: served publicly, who uploaded what; a file input must then be the caller's upload or nobody's."""
        self.app, self.blocks, self.owners, self.behind_proxy = app, blocks, owners, behind_proxy
        self._parameters: dict | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        route = route_of("POST", get_route_path(scope) or "/")
        if route is None or route.kind != EVENT:
            return await self.app(scope, receive, send)
        body, more, messages = b"", True, []
        while more:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        refusal = self._refusal(body, route.template, route.params.get("api_name"),
                                client_address(scope, self.behind_proxy))
        if refusal is not None:
            key, params = refusal
            return await refuse_in_words(send, 422, say(key, language_of_scope(scope), **params))

        async def replayed():
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replayed, send)

    def _refusal(self, body: bytes, template: str, api_name: str | None, client: str) -> tuple[str, dict] | None:
        """(catalog key, its parameters) of why the request cannot run its endpoint, else None."""
        try:
            return self._request_refusal(json.loads(body), template, api_name, client)
        except RecursionError:  # Gradio's parser fails the same way, with a plain-text 500
            return "http_nested_too_deep", {}
        except ValueError:
            return None  # not JSON: Gradio's own 422 says so

    def _request_refusal(self, request, template: str, api_name: str | None, client: str) -> tuple[str, dict] | None:
        if not isinstance(request, dict):
            return None  # Gradio's own 422 says what the body must be
        if V2 in template:
            event = self._event(api_name, None)
            return self._keyword_refusal(event, request, client) if event is not None else None
        if "data" not in request:
            return None
        try:  # the event Gradio will run: its own model reads fn_index ("27" and 27.0 are 27)
            index = None if CALL in template else \
                PredictBody.model_validate({"data": [], "fn_index": request.get("fn_index")}).fn_index
        except ValidationError:
            return "http_bad_fn_index", {}
        event = self._event(api_name, index)
        if event is None:
            return None  # no such endpoint: Gradio's own answer says so
        data, expected = request["data"], len(event.inputs)
        if not isinstance(data, list):
            return "http_data_not_a_list", {"count": expected}
        if len(data) < expected:
            return "http_too_few_inputs", {"count": expected, "sent": len(data)}
        return self._values_refusal(event, data, client)

    def _keyword_refusal(self, event, request: dict, client: str) -> tuple[str, dict] | None:
        """`/call/v2/<name>` takes the inputs by name; Gradio maps them to their places as its client does."""
        names = input_names(event)
        try:
            data = construct_args(self._api_parameters().get(event.api_name), (), request)
        except (TypeError, ValueError):  # a name the endpoint does not take, or a value given twice
            return "http_keyword_inputs", {"names": ", ".join(names)}
        if any(isinstance(value, Enum) for value in data):  # construct_args's mark of an input not given
            return "http_keyword_inputs", {"names": ", ".join(names)}
        return self._values_refusal(event, data, client)

    def _values_refusal(self, event, data: list, client: str) -> tuple[str, dict] | None:
        names = input_names(event)
        for position, (component, value) in enumerate(zip(event.inputs, data)):
            name = names[position] if position < len(names) else position + 1
            # Gradio reads a file input's value into its data model before any handler runs (even with
            # preprocess=False); a value that does not fit failed there with an error whose message was null.
            file_model = getattr(component, "data_model", None)
            if file_model is None:
                if _holds_a_file(value):  # Gradio would copy it into its cache, or fail with a null message
                    return "http_file_not_taken", {"name": name}
                continue
            if value is None:
                continue
            if not _fits(file_model, value):
                return "http_not_a_file", {"name": name}
            # Gradio would also copy each file into its cache first, and a file that is not an upload failed
            # there, again with a null message.
            try:
                for file in _files(value):
                    self._check_file(client, file)
            except Refusal as refusal:
                return refusal.key, refusal.params
        return None

    def _check_file(self, client: str, file) -> None:
        """Refuses a file that is not an upload, does not exist, or (served publicly) is another visitor's, all in
        the same words: a visitor cannot tell another's upload from a file nobody sent."""
        path = client_file(file)
        if path is None:
            return
        if not path.is_file() or (self.owners is not None and not self.owners.may_use(client, str(path))):
            raise Refusal("refuse_not_an_upload")

    def _event(self, api_name: str | None, index: int | None):
        if index is not None:
            return self.blocks.fns.get(index)
        return next((event for event in self.blocks.fns.values() if event.api_name == api_name), None)

    def _api_parameters(self) -> dict:
        """Each named endpoint's parameters as Gradio's API page lists them (what `/call/v2/` maps names with)."""
        if self._parameters is None:
            named = self.blocks.get_api_info()["named_endpoints"]
            self._parameters = {name.lstrip("/"): info["parameters"] for name, info in named.items()}
        return self._parameters


def _holds_a_file(value) -> bool:
    if is_file_obj_with_meta(value):
        return True
    if isinstance(value, dict):
        return any(_holds_a_file(part) for part in value.values())
    if isinstance(value, list):
        return any(_holds_a_file(part) for part in value)
    return False


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
