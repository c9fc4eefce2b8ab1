"""When strangers share the app, a visitor's uploads are theirs alone: served back to them only, and taken as an
input from them only.

Gradio serves every file in its cache to whoever asks for its path, by two routes (`/gradio_api/file=<path>` and
`/gradio_api/file/<path>`; gradio_routes.py lists every route Gradio registers), and runs an event on any cached
file a request names. An upload's path is derived from its content, so anyone holding a copy of a file could learn
whether someone uploaded it, and anyone who learns a path could fetch another visitor's photo or recording, or
send it through a tab and get it back with boxes drawn. Gradio has no notion of an upload's owner (its cache is
shared by every session; its "File access" guide, gradio-app/gradio#9156, documents that uploads are served to
whoever has the path, and its tracker has no issue asking for owners as of 2026-12: to report upstream), so the
hub keeps one: `OwnerBook` notes who uploaded each path (from the upload's
answer); the `UploadOwners` middleware answers 404 to anyone else on every file route, and RequestShape refuses
it as an input with the words for a file that does not exist. Files nobody uploaded (examples, results) are
served as Gradio serves them; Gradio deletes cached files after an hour (app.CACHE_CLEANING).
"""
from __future__ import annotations

import contextlib
import json
import time
from collections import OrderedDict, deque
from pathlib import Path
from urllib.parse import unquote

from starlette._utils import get_route_path

from messages import say
from web.gradio_routes import FILE, UPLOAD, route_of
from web.http_guard import HOUR, GuardLimits, client_address, language_of_scope, refuse_in_words

MAX_TRACKED_UPLOADS = 100_000  # past this many, the oldest uploads are deleted: an untracked upload would be public


class OwnerBook:
    """Who uploaded each file in Gradio's cache. Event-loop state only (the middlewares never run on other
    threads): no lock needed."""

    def __init__(self, public_paths: frozenset[str] = frozenset(),
                 max_new_per_hour: int = GuardLimits.max_new_files_per_hour, max_tracked: int = MAX_TRACKED_UPLOADS):
        """`public_paths`: the app's examples in the cache. An upload of an example's bytes under its name lands on
        the example's path; that must not make the example the uploader's, out of every other visitor's reach.
        `max_new_per_hour`: the files a visitor may add to the cache in an hour."""
        self.public_paths, self.max_tracked = frozenset(_key(path) for path in public_paths), max_tracked
        self.max_new_per_hour = max_new_per_hour
        self._owners: OrderedDict[str, set[str]] = OrderedDict()
        self._added: dict[str, deque[float]] = {}  # per visitor: when each file new to the cache came

    def may_add(self, client: str) -> bool:
        """Whether `client` may upload now: fewer new files in the last hour than allowed."""
        added, since = self._added.get(client), time.monotonic() - HOUR
        while added and added[0] < since:
            added.popleft()
        if added is not None and not added:
            del self._added[client]
        return len(self._added.get(client, ())) < self.max_new_per_hour

    def may_use(self, client: str, path: str) -> bool:
        """Whether `client` may read or send the cached file at `path`: its own upload, or nobody's."""
        owners = self._owners.get(_key(path))
        return owners is None or client in owners

    def note(self, client: str, paths: list[str]) -> None:
        for path in paths:
            key = _key(path)
            if key in self.public_paths:
                continue
            if key not in self._owners:  # a file new to the cache (the same bytes again land on the same path)
                self._added.setdefault(client, deque()).append(time.monotonic())
            self._owners.setdefault(key, set()).add(client)
            self._owners.move_to_end(key)
        while len(self._owners) > self.max_tracked:
            forgotten, _ = self._owners.popitem(last=False)
            with contextlib.suppress(OSError):  # already deleted by Gradio's cleaning, or never written
                Path(forgotten).unlink()
                Path(forgotten).parent.rmdir()  # Gradio gives each upload a folder of its own


class UploadOwners:
    def __init__(self, app, book: OwnerBook, behind_proxy: bool):
        self.app, self.book, self.behind_proxy = app, book, behind_proxy

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = route_of(scope["method"], get_route_path(scope) or "/")
        if route is None or route.kind not in (FILE, UPLOAD):
            return await self.app(scope, receive, send)
        client = client_address(scope, self.behind_proxy)
        if route.kind == UPLOAD:
            if not self.book.may_add(client):
                words = say("http_upload_count", language_of_scope(scope), count=self.book.max_new_per_hour)
                return await refuse_in_words(send, 429, words)
            return await self.app(scope, receive, self._noting_owner(client, send))
        requested = next(iter(route.params.values()))
        # Gradio reads the path as the router decoded it; a client may encode it once more, so both readings count.
        if not all(self.book.may_use(client, path) for path in {requested, unquote(requested)}):
            return await refuse_in_words(send, 404, "Not found")  # as for a file that does not exist
        await self.app(scope, receive, send)

    def _noting_owner(self, client: str, send):
        status, body = [0], [b""]

        async def noted(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                body[0] += message.get("body", b"")
                if status[0] == 200 and not message.get("more_body", False):
                    self.book.note(client, _uploaded_paths(body[0]))
            await send(message)

        return noted


def example_files(app) -> frozenset[str]:
    """The files the app's components put in the cache while it was built: the examples (results come later)."""
    return frozenset(path for block in app.blocks.values() for path in getattr(block, "temp_files", ()))


def _uploaded_paths(answer: bytes) -> list[str]:
    try:
        paths = json.loads(answer)
    except ValueError:
        return []
    return [path for path in paths if isinstance(path, str)] if isinstance(paths, list) else []


def _key(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, ValueError):
        return path
