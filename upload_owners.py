"""When strangers share the app, a visitor's uploads are served back to that visitor only.

Gradio serves every file in its cache to whoever asks for its path (`/gradio_api/file=<path>`), and an upload's
path is derived from its content: anyone holding a copy of a file could learn whether someone uploaded it, and
anyone who learns a path could fetch another visitor's photo or recording. This middleware notes who uploaded each
path (from the upload's answer) and answers 404 to anyone else. Files nobody uploaded (examples, results) are
served as Gradio serves them; Gradio deletes cached files after an hour (app.CACHE_CLEANING).
"""
from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from urllib.parse import unquote

from starlette._utils import get_route_path

from http_guard import API, UPLOAD, client_address, refuse_in_words

FILE = f"{API}/file="
MAX_TRACKED_UPLOADS = 100_000  # past this many, the oldest are forgotten (and served as Gradio serves them)


class UploadOwners:
    def __init__(self, app, behind_proxy: bool):
        self.app, self.behind_proxy = app, behind_proxy
        self._owners: OrderedDict[str, set[str]] = OrderedDict()  # event-loop state only: no lock needed

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, client = get_route_path(scope) or "/", client_address(scope, self.behind_proxy)
        if path == UPLOAD and scope["method"] == "POST":
            return await self.app(scope, receive, self._noting_owner(client, send))
        if path.startswith(FILE) and not self._may_read(client, path[len(FILE):]):
            return await refuse_in_words(send, 404, "Not found")  # as for a file that does not exist
        await self.app(scope, receive, send)

    def _may_read(self, client: str, requested: str) -> bool:
        owners = self._owners.get(_key(unquote(requested)))
        return owners is None or client in owners

    def _noting_owner(self, client: str, send):
        status, body = [0], [b""]

        async def noted(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                body[0] += message.get("body", b"")
                if status[0] == 200 and not message.get("more_body", False):
                    self._note(client, body[0])
            await send(message)

        return noted

    def _note(self, client: str, answer: bytes) -> None:
        try:
            paths = json.loads(answer)
        except ValueError:
            return
        for path in paths if isinstance(paths, list) else []:
            if isinstance(path, str):
                key = _key(path)
                self._owners.setdefault(key, set()).add(client)
                self._owners.move_to_end(key)
        while len(self._owners) > MAX_TRACKED_UPLOADS:
            self._owners.popitem(last=False)


def _key(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, ValueError):
        return path
