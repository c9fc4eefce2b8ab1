"""What every HTTP request meets before Gradio sees it: bounds on its body and its uploads, MCP behind --auth,
throttled logins and, when strangers share the app, a fair share of the queue and of the disk for each client.

An ASGI middleware (`HttpGuard`), given to the FastAPI app that `Blocks.launch` builds. It reads no body it
does not have to: sizes come from Content-Length (uvicorn never delivers more than a request declares), and an
upload's parts are counted as they stream to Gradio's parser.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from gradio.route_utils import MultiPartException, compare_passwords_securely
from starlette.requests import cookie_parser

API = "/gradio_api"
MCP = f"{API}/mcp"
UPLOAD = f"{API}/upload"
LOGIN = ("/login", "/login/")
# Requests that put a job in Gradio's queue.
QUEUED = re.compile(rf"^{API}/(queue/join|call/v2/[^/]+|call/[^/]+|run/[^/]+|api/[^/]+)/?$")
MB = 2**20
HOUR = 3600.0


@dataclass(frozen=True)
class GuardLimits:
    # A JSON request: a 20,000-character prompt is at most 240 KB even with every character escaped
    # as \uXXXX\uXXXX, and a chat's history is cut to twice that (demos/text_generation.py).
    max_body_bytes: int = 2 * MB
    max_upload_bytes: int = 50 * MB  # one upload request, all its files together (--max-upload-mb)
    max_files_per_upload: int = 4  # every input takes one file; the page uploads them one request each
    # Logins: this many failures from one client within the window, then it waits for the window to pass.
    max_failed_logins: int = 10
    failed_login_window: float = 300.0
    # Per client, only when strangers share the app (a public link, a Space, a public address).
    public: bool = False
    max_waiting_per_client: int = 8  # of the queue's 64 places

    @property
    def upload_quota_bytes(self) -> int:
        """What one client may upload in an hour: ten of the largest uploads (500 MB at the default 50 MB)."""
        return 10 * self.max_upload_bytes

    @property
    def max_mcp_body_bytes(self) -> int:
        """An MCP tool call carries its files in the JSON, base64-encoded (4 bytes for every 3)."""
        return max(self.max_body_bytes, self.max_upload_bytes * 4 // 3 + MB)


def client_address(scope: dict) -> str:
    """Who sent a request: the peer's address, or the address a proxy on this machine or network reports for
    it (Gradio's share tunnel, the Spaces front end). A proxy appends what it saw, so the last entry counts."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    forwarded = _header(scope, b"x-forwarded-for")
    if forwarded and _is_proxy(peer):
        return forwarded.rsplit(",", 1)[-1].strip() or peer
    return peer


def _is_proxy(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class HttpGuard:
    def __init__(self, app, limits: GuardLimits):
        self.app = app
        self.limits = limits
        # Per client, (time, amount) oldest first. Event-loop state only (the middleware never runs on other
        # threads): no lock needed.
        self._failed_logins: defaultdict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._uploads: defaultdict[str, deque[tuple[float, int]]] = defaultdict(deque)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        client = client_address(scope)
        refusal = self._refusal(scope, path, client)
        if refusal is not None:
            return await _answer(send, *refusal)
        if path == UPLOAD and scope["method"] == "POST":
            receive = self._counting_parts(scope, receive)
        if path in LOGIN and scope["method"] == "POST":
            send = self._noting_failed_login(client, send)
        await self.app(scope, receive, send)

    def _refusal(self, scope: dict, path: str, client: str) -> tuple[int, str] | None:
        """(HTTP status, plain words) for a request refused before it reaches Gradio, else None."""
        limits, now = self.limits, time.monotonic()
        has_body = scope["method"] in ("POST", "PUT", "PATCH")
        if has_body and "chunked" in (_header(scope, b"transfer-encoding") or "").lower():
            return 411, "Send the request with a Content-Length header."
        declared = (_header(scope, b"content-length") or "0") if has_body else "0"
        if not declared.isdigit():
            return 400, "The Content-Length header is not a number."
        length = int(declared)
        if path == UPLOAD:
            cap, what = limits.max_upload_bytes, "An upload"
        elif path.startswith(MCP):
            cap, what = limits.max_mcp_body_bytes, "An MCP request"
        else:
            cap, what = limits.max_body_bytes, "A request"
        if length > cap:
            return 413, f"{what} may be at most {cap / MB:g} MB; this one is {length / MB:.1f} MB."
        if path in LOGIN and has_body:
            failures = self._recent(self._failed_logins[client], now - limits.failed_login_window)
            if len(failures) >= limits.max_failed_logins:
                wait = failures[0][0] + limits.failed_login_window - now
                return 429, f"Too many failed logins from your address; try again in {wait:.0f} seconds."
        if path.startswith(MCP) and not self._mcp_allowed(scope, client, now):
            return 401, ("This app asks for a login: send the same user and password as HTTP Basic "
                         "authentication (an Authorization header) with every MCP request.")
        if not limits.public:
            return None
        if path == UPLOAD and has_body:
            uploads = self._recent(self._uploads[client], now - HOUR)
            used = sum(size for _, size in uploads)
            if used + length > limits.upload_quota_bytes:
                return 429, (f"You uploaded {used / MB:.0f} MB in the last hour; each visitor may upload at most "
                             f"{limits.upload_quota_bytes / MB:g} MB an hour. Please try again later.")
            uploads.append((now, length))
        if has_body and QUEUED.match(path) and self._waiting(scope, client) >= limits.max_waiting_per_client:
            return 429, (f"You already have {limits.max_waiting_per_client} requests waiting; "
                         "wait for them to finish before sending more.")
        return None

    @staticmethod
    def _recent(events: deque[tuple[float, int]], since: float) -> deque[tuple[float, int]]:
        while events and events[0][0] < since:
            events.popleft()
        return events

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
        failures = self._recent(self._failed_logins[client], now - self.limits.failed_login_window)
        if len(failures) >= self.limits.max_failed_logins:
            return False
        if _basic_credentials_match(_header(scope, b"authorization"), accounts):
            return True
        failures.append((now, 1))
        return False

    def _waiting(self, scope: dict, client: str) -> int:
        """How many of this client's jobs wait in Gradio's queue (not yet running)."""
        blocks = scope["app"].get_blocks()
        queues = blocks._queue.event_queue_per_concurrency_id.values()
        return sum(client_address(event.request.scope) == client for queue in queues for event in queue.queue)

    def _counting_parts(self, scope: dict, receive):
        """`receive` that stops an upload once it has more files than allowed; Gradio's upload route answers
        the MultiPartException with a 400 and its message."""
        content_type = _header(scope, b"content-type") or ""
        boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"').encode("latin-1")
        if not boundary:
            return receive
        marker, limit = b"--" + boundary, self.limits.max_files_per_upload
        seen, tail = 0, b""

        async def counted():
            nonlocal seen, tail
            message = await receive()
            if message["type"] == "http.request":
                data = tail + message.get("body", b"")
                seen += data.count(marker)
                tail = data[-(len(marker) - 1):]
                if seen > limit + 1:  # a marker opens every part, and one more closes the body
                    raise MultiPartException(f"Too many files in one upload; at most {limit}.")
            return message

        return counted

    def _noting_failed_login(self, client: str, send):
        async def noted(message):
            if message["type"] == "http.response.start" and message["status"] in (400, 401):
                self._failed_logins[client].append((time.monotonic(), 1))
            await send(message)

        return noted


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


async def _answer(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
