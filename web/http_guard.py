"""What every HTTP request meets before Gradio sees it: bounds on its body and its uploads, MCP behind --auth,
throttled logins and, when strangers share the app, a fair share of the queue and of the disk for each client.

An ASGI middleware (`HttpGuard`), given to the FastAPI app that `Blocks.launch` builds. It reads no body it
does not have to: sizes come from Content-Length (uvicorn never delivers more than a request declares), and an
upload's parts are counted as they stream to Gradio's parser. Limits are checked and reserved in one step on
the event loop, so a burst of parallel requests cannot all pass a check before any of them is counted.
"""
from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import json
import re
import time
from collections import deque
from dataclasses import dataclass

from gradio.route_utils import MultiPartException, compare_passwords_securely
from python_multipart.multipart import parse_options_header
from starlette._utils import get_route_path
from starlette.requests import cookie_parser

from messages import language_of_header, say
from web.gradio_routes import API, CLOSED, STREAM, route_of

MCP = f"{API}/mcp"
UPLOAD = f"{API}/upload"
LOGIN = ("/login", "/login/")
# Requests that put a job in Gradio's queue.
QUEUED = re.compile(rf"^{API}/(queue/join|call/v2/[^/]+|call/[^/]+|run/[^/]+|api/[^/]+)/?$")
MB = 2**20
HOUR = 3600.0
MAX_TRACKED_CLIENTS = 10_000  # past this many addresses with history, those with nothing recent are forgotten


@dataclass(frozen=True)
class GuardLimits:
    # A JSON request: a 20,000-character prompt is at most 240 KB even with every character escaped
    # as \uXXXX\uXXXX, and a chat's history is cut to twice that (engines/text_generation.py).
    max_body_bytes: int = 2 * MB
    max_upload_bytes: int = 50 * MB  # one upload request, all its files together (--max-upload-mb)
    max_files_per_upload: int = 4  # every input takes one file; the page uploads them one request each
    # Logins: at most this many failures from one client in any window of this many seconds.
    max_failed_logins: int = 10
    failed_login_window: float = 300.0
    # Per client, only when strangers share the app (a public link, a Space, a public address).
    public: bool = False
    max_waiting_per_client: int = 8  # of the queue's 64 places
    # New files an hour (a folder and a file each, however small), counted by upload_owners.py, which sees their
    # paths: the page sends a pad's drawing again with every event, to the same paths, and those are not new. A
    # live microphone sends a file every tenth of a second: a whole live stream (2 minutes) is 1,200 of them.
    max_new_files_per_hour: int = 2500
    # Event streams held open at once (a page holds two, an API call one while it waits): each is a task and a
    # connection on the server, kept by a client that may never read them.
    max_streams_per_client: int = 32
    # Whether a proxy of ours stands in front (the share tunnel, the Spaces front end): only then is the
    # address it reports in X-Forwarded-For the client's. Anywhere else a client could write any address there.
    behind_proxy: bool = False

    @property
    def upload_quota_bytes(self) -> int:
        """What one client may upload in an hour, MCP requests' inline files included: ten of the largest
        uploads (500 MB at the default 50 MB)."""
        return 10 * self.max_upload_bytes

    @property
    def max_mcp_body_bytes(self) -> int:
        """An MCP tool call carries its files in the JSON, base64-encoded (4 bytes for every 3)."""
        return max(self.max_body_bytes, self.max_upload_bytes * 4 // 3 + MB)


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _is_proxy(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def client_address(scope: dict, behind_proxy: bool) -> str:
    """Who sent a request: the peer's address or, behind our proxy, the address the proxy saw (it appends it to
    X-Forwarded-For, after whatever the client wrote there)."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    forwarded = _header(scope, b"x-forwarded-for") if behind_proxy and _is_proxy(peer) else None
    return (forwarded.rsplit(",", 1)[-1].strip() or peer) if forwarded else peer


class HttpGuard:
    def __init__(self, app, limits: GuardLimits):
        self.app = app
        self.limits = limits
        # Per client: (time, bytes or 1) oldest first, and the queued requests being admitted right now.
        # Event-loop state only (the middleware never runs on other threads): no lock needed.
        self._logins: dict[str, deque[list]] = {}  # failed logins, and logins not yet answered
        self._uploads: dict[str, deque[list]] = {}
        self._admitting: dict[str, int] = {}
        self._streams: dict[str, int] = {}

    def client_address(self, scope: dict) -> str:
        return client_address(scope, self.limits.behind_proxy)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # The path as the router matches it (root_path removed only where it is a whole leading segment).
        path, client = get_route_path(scope) or "/", self.client_address(scope)
        route = route_of(scope["method"], path)
        kind = route.kind if route is not None else None
        refusal = self._refusal(scope, path, kind, client)
        if refusal is not None:
            status, key, params = refusal
            return await refuse_in_words(send, status, say(key, language_of_scope(scope), **params))
        release = contextlib.ExitStack()
        if self.limits.public and kind == STREAM:
            self._hold_stream(client, release)
        if path == UPLOAD and scope["method"] == "POST":
            receive = self._counting_parts(scope, receive)
        if path in LOGIN and scope["method"] == "POST":
            send = self._login_attempt(client, send)
        if self.limits.public and scope["method"] == "POST" and QUEUED.match(path):
            send = self._admitting_job(client, send, release)
        with release:
            await self.app(scope, receive, send)

    def _refusal(self, scope: dict, path: str, kind: str | None, client: str) -> tuple[int, str, dict] | None:
        """(HTTP status, catalog key, its parameters) of the plain words for a request refused before it reaches
        Gradio, else None. What a request is let in with (an upload's bytes) is counted here, before it runs."""
        limits, now = self.limits, time.monotonic()
        if kind == CLOSED:
            return 404, "http_closed_route", {}
        has_body = scope["method"] in ("POST", "PUT", "PATCH")
        if has_body and "chunked" in (_header(scope, b"transfer-encoding") or "").lower():
            return 411, "http_chunked", {}
        declared = (_header(scope, b"content-length") or "0") if has_body else "0"
        if not declared.isdigit():
            return 400, "http_bad_length", {}
        length = int(declared)
        if path == UPLOAD:
            cap, too_large = limits.max_upload_bytes, "http_upload_too_large"
        elif path.startswith(MCP):
            cap, too_large = limits.max_mcp_body_bytes, "http_mcp_too_large"
        else:
            cap, too_large = limits.max_body_bytes, "http_request_too_large"
        if length > cap:
            return 413, too_large, {"max_mb": cap / MB, "size_mb": length / MB}
        if path in LOGIN and has_body:
            attempts = self._recent(self._logins, client, now - limits.failed_login_window)
            if len(attempts) >= limits.max_failed_logins:
                wait = attempts[0][0] + limits.failed_login_window - now
                return 429, "http_too_many_logins", {"seconds": wait}
        if path.startswith(MCP) and not self._mcp_allowed(scope, client, now):
            return 401, "http_mcp_login", {}
        if not limits.public:
            return None
        if kind == STREAM and self._streams.get(client, 0) >= limits.max_streams_per_client:
            return 429, "http_too_many_streams", {"streams": limits.max_streams_per_client}
        if has_body and (path == UPLOAD or path.startswith(MCP)):
            uploads = self._recent(self._uploads, client, now - HOUR)
            used = sum(size for _, size in uploads)
            if used + length > limits.upload_quota_bytes:
                return 429, "http_upload_quota", {"used_mb": used / MB, "quota_mb": limits.upload_quota_bytes / MB}
            uploads.append([now, length])
        if has_body and QUEUED.match(path):
            if self._waiting(scope, client) + self._admitting.get(client, 0) >= limits.max_waiting_per_client:
                return 429, "http_too_many_waiting", {"waiting": limits.max_waiting_per_client}
        return None

    def _recent(self, history: dict[str, deque[list]], client: str, since: float) -> deque[list]:
        """The client's entries since `since` (older ones dropped); clients with none are forgotten once
        many are tracked, so a stream of new addresses cannot grow the guard without bound."""
        if len(history) > MAX_TRACKED_CLIENTS:
            for address in [a for a, entries in history.items() if not entries or entries[-1][0] < since]:
                del history[address]
        entries = history.setdefault(client, deque())
        while entries and entries[0][0] < since:
            entries.popleft()
        return entries

    def _mcp_allowed(self, scope: dict, client: str, now: float) -> bool:
        """Without --auth, MCP is open like the rest of the app. With it, an MCP client logs in as a browser
        does (the login cookie) or with HTTP Basic credentials; failures count as failed logins."""
        app = scope.get("app")
        accounts = getattr(app, "auth", None)
        if accounts is None:
            return True
        cookies = cookie_parser(_header(scope, b"cookie") or "")
        for name in (f"access-token-{app.cookie_id}", f"access-token-unsecure-{app.cookie_id}"):
            if cookies.get(name) in app.tokens:
                return True
        attempts = self._recent(self._logins, client, now - self.limits.failed_login_window)
        if len(attempts) >= self.limits.max_failed_logins:
            return False
        if _basic_credentials_match(_header(scope, b"authorization"), accounts):
            return True
        attempts.append([now, 1])
        return False

    def _hold_stream(self, client: str, release: contextlib.ExitStack) -> None:
        """Counts one of the client's open streams until its answer ends or the client goes."""
        self._streams[client] = self._streams.get(client, 0) + 1

        def free():
            self._streams[client] -= 1
            if not self._streams[client]:
                del self._streams[client]

        release.callback(free)

    def _waiting(self, scope: dict, client: str) -> int:
        """How many of this client's jobs wait in Gradio's queue (not yet running)."""
        queues = scope["app"].get_blocks()._queue.event_queue_per_concurrency_id.values()
        return sum(self.client_address(event.request.scope) == client for queue in queues for event in queue.queue)

    def _admitting_job(self, client: str, send, release: contextlib.ExitStack):
        """`send` that holds one of the client's places from admission until Gradio answers (by then the
        job is in the queue, where `_waiting` counts it) or fails."""
        self._admitting[client] = self._admitting.get(client, 0) + 1
        held = True

        def free():
            nonlocal held
            if held:
                held = False
                self._admitting[client] -= 1
                if not self._admitting[client]:
                    del self._admitting[client]

        release.callback(free)

        async def answered(message):
            if message["type"] == "http.response.start":
                free()
            await send(message)

        return answered

    def _login_attempt(self, client: str, send):
        """`send` for a login: the attempt counts as a failure from the start (so parallel guesses are counted
        before any is answered), and is taken back if the login succeeds."""
        attempt = [time.monotonic(), 1]
        self._logins.setdefault(client, deque()).append(attempt)

        async def answered(message):
            if message["type"] == "http.response.start" and message["status"] < 400:
                with contextlib.suppress(KeyError, ValueError):
                    self._logins[client].remove(attempt)
            await send(message)

        return answered

    def _counting_parts(self, scope: dict, receive):
        """`receive` that stops an upload once it has more files than allowed; Gradio's upload route answers
        the MultiPartException with a 400 and its message. The boundary is read as Gradio's parser reads it."""
        _, options = parse_options_header((_header(scope, b"content-type") or "").encode("latin-1"))
        marker, limit = b"--" + options.get(b"boundary", b""), self.limits.max_files_per_upload
        seen, tail = 0, b""

        async def counted():
            nonlocal seen, tail
            message = await receive()
            if message["type"] == "http.request":
                if len(marker) == 2:  # no boundary: not a multipart body Gradio's parser could read
                    raise MultiPartException(say("http_not_multipart", language_of_scope(scope)))
                data = tail + message.get("body", b"")
                seen += data.count(marker)
                tail = data[-(len(marker) - 1):]
                if seen > limit + 1:  # a marker opens every part, and one more closes the body
                    raise MultiPartException(say("http_too_many_files", language_of_scope(scope), max_files=limit))
            return message

        return counted


def language_of_scope(scope: dict) -> str:
    """The language a refusal is said in: the first of the client's Accept-Language with a catalog, else English."""
    return language_of_header(_header(scope, b"accept-language"))


def _basic_credentials_match(header: str | None, accounts: dict) -> bool:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = accounts.get(user) if isinstance(accounts, dict) else None
    return expected is not None and compare_passwords_securely(password, expected)


@contextlib.asynccontextmanager
async def mcp_tool_calls_log_in(app):
    """A lifespan for the app: Gradio's MCP server runs tool calls through a gradio_client of its own against
    this app, made without a login, so under --auth every tool call failed ("credentials were not provided").
    Requests reach the MCP server only with the login (HttpGuard); its client then logs in as the operator."""
    server, accounts = getattr(app.get_blocks(), "mcp_server_obj", None), app.auth
    if server is not None and isinstance(accounts, dict) and accounts:
        create = server._get_or_create_client
        operator = next(iter(accounts.items()))

        def logged_in_client():
            if server._client_instance is None and server.local_url:
                from gradio_client import Client

                server._client_instance = Client(server.local_url, auth=operator, download_files=False, verbose=False,
                                                 analytics_enabled=False, headers={"x-gradio-user": "mcp"})
            return create()

        server._get_or_create_client = logged_in_client
    yield


async def refuse_in_words(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
