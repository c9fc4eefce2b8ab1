"""Every route Gradio registers, and which of the hub's guards covers it (HttpGuard, UploadOwners, RequestShape,
editor_blobs). tests/test_routes.py lists the routes of a launched app and holds them to this table, so a route
that a Gradio upgrade adds fails a test until someone decides here what guards it.

The kinds:
- FILE: answers with the bytes of a file in Gradio's cache, named in the path: served publicly, only to the
  visitor who uploaded it (UploadOwners).
- EVENT: starts an event: the request's shape and every file input are checked first (RequestShape).
- UPLOAD: writes the client's files to the cache: counted against the visitor's quota (HttpGuard), owner noted.
- BLOBS: the image editors' blob transfer (component_server): bounded per editor and visitor (editor_blobs.py).
- STREAM: an event stream that stays open: a visitor may hold a few at once (HttpGuard).
- CLOSED: not needed by the hub and answered 404 before Gradio sees it (see the reason beside each).
- OPEN: the page, its assets, its configuration and bookkeeping: nothing a visitor could take from another.
"""
from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import compile_path

API = "/gradio_api"
FILE, EVENT, UPLOAD, BLOBS, STREAM, CLOSED, OPEN = "file", "event", "upload", "blobs", "stream", "closed", "open"

# (methods, path as Gradio registers it) -> kind. Paths with and without a trailing slash are separate routes.
ROUTES: dict[tuple[str, str], str] = {
    # The page and what it loads.
    ("GET", "/"): OPEN, ("HEAD", "/"): OPEN, ("GET", "/config"): OPEN, ("GET", "/config/"): OPEN,
    ("GET", "/svelte/{path:path}"): OPEN, ("GET", "/static/{path:path}"): OPEN, ("GET", "/assets/{path:path}"): OPEN,
    ("GET", "/favicon.ico"): OPEN, ("GET", "/theme.css"): OPEN, ("GET", f"{API}/theme.css"): OPEN,
    ("GET", "/robots.txt"): OPEN, ("GET", "/pwa_icon"): OPEN, ("GET", "/pwa_icon/{size}"): OPEN,
    ("GET", "/manifest.json"): OPEN, ("GET HEAD", "/openapi.json"): OPEN, ("GET", f"{API}/openapi.json"): OPEN,
    ("GET", f"{API}/info"): OPEN, ("GET", f"{API}/info/"): OPEN, ("GET", f"{API}/app_id"): OPEN,
    ("GET", f"{API}/app_id/"): OPEN, ("GET", f"{API}/startup-events"): OPEN,
    # Logins (throttled by HttpGuard) and who is logged in.
    ("POST", "/login"): OPEN, ("POST", "/login/"): OPEN, ("GET", "/logout"): OPEN,
    ("GET", f"{API}/user"): OPEN, ("GET", f"{API}/user/"): OPEN, ("GET", f"{API}/token"): OPEN,
    ("GET", f"{API}/token/"): OPEN, ("GET", f"{API}/login_check"): OPEN, ("GET", f"{API}/login_check/"): OPEN,
    # Monitoring answers 403 unless the app enables it (the hub never does).
    ("GET", "/monitoring"): OPEN, ("GET", "/monitoring/summary"): OPEN, ("GET", "/monitoring/{key}"): OPEN,
    # A session's own state, named by its random session hash; the queue's length.
    ("GET", f"{API}/deep_link"): OPEN, ("GET", f"{API}/queue/status"): OPEN, ("GET", f"{API}/upload_progress"): OPEN,
    ("POST", f"{API}/cancel"): OPEN, ("POST", f"{API}/reset"): OPEN, ("POST", f"{API}/reset/"): OPEN,
    ("POST", f"{API}/stream/{{event_id}}/close"): OPEN,
    # The run history page keeps runs in the visitor's browser.
    ("GET", f"{API}/runs"): OPEN, ("GET", f"{API}/runs/"): OPEN,
    # Files.
    ("GET", f"{API}/file={{path_or_url:path}}"): FILE, ("HEAD", f"{API}/file={{path_or_url:path}}"): FILE,
    ("GET", f"{API}/file/{{path:path}}"): FILE,
    ("POST", f"{API}/upload"): UPLOAD,
    ("POST", f"{API}/component_server"): BLOBS, ("POST", f"{API}/component_server/"): BLOBS,
    # Events.
    ("POST", f"{API}/queue/join"): EVENT,
    ("POST", f"{API}/call/{{api_name}}"): EVENT, ("POST", f"{API}/call/{{api_name}}/"): EVENT,
    ("POST", f"{API}/call/v2/{{api_name}}"): EVENT, ("POST", f"{API}/call/v2/{{api_name}}/"): EVENT,
    ("POST", f"{API}/run/{{api_name}}"): EVENT, ("POST", f"{API}/run/{{api_name}}/"): EVENT,
    ("POST", f"{API}/api/{{api_name}}"): EVENT, ("POST", f"{API}/api/{{api_name}}/"): EVENT,
    # A live stream's next chunk (the microphone's audio, the webcam's frame), for the event it started.
    ("POST", f"{API}/stream/{{event_id}}"): EVENT,
    # Streams that stay open: a session's heartbeat and queue messages, an API call's answer.
    ("GET", f"{API}/heartbeat/{{session_hash}}"): STREAM, ("GET", f"{API}/queue/data"): STREAM,
    ("GET", f"{API}/call/{{api_name}}/{{event_id}}"): STREAM,
    ("GET", f"{API}/call/v2/{{api_name}}/{{event_id}}"): STREAM,
    # Streamed media outputs (HLS): the hub streams none, and a session's combined file would be served by hash.
    ("GET", f"{API}/stream/{{session_hash}}/{{run}}/{{component_id}}/playlist.m3u8"): CLOSED,
    ("GET", f"{API}/stream/{{session_hash}}/{{run}}/{{component_id}}/{{segment_id}}.{{ext}}"): CLOSED,
    ("GET", f"{API}/stream/{{session_hash}}/{{run}}/{{component_id}}/playlist-file"): CLOSED,
    # Fetches URLs of Spaces the app proxies (none) and serves custom components' files (none).
    ("GET", f"{API}/proxy={{url_path:path}}"): CLOSED, ("HEAD", f"{API}/proxy={{url_path:path}}"): CLOSED,
    ("GET", f"{API}/custom_component/{{id}}/{{environment}}/{{type}}/{{file_name}}"): CLOSED,
    # The screen recorder's ffmpeg pass: a visitor's video processed on the server, for a component the hub lacks.
    ("POST", f"{API}/process_recording"): CLOSED,
    # The run history's Hugging Face buckets: the server would call the Hub with a token a visitor sends.
    ("POST", f"{API}/run-history/connect"): CLOSED, ("GET", f"{API}/run-history/buckets"): CLOSED,
    ("GET", f"{API}/run-history/records"): CLOSED,
    ("GET", f"{API}/run-history/records/{{endpoint}}/{{record_id}}/assets/{{asset_id}}"): CLOSED,
    # Development mode only: reloading (each open stream polls every 50 ms forever) and the vibe editor.
    ("GET", f"{API}/dev/reload"): CLOSED,
    ("POST", f"{API}/vibe-edit"): CLOSED, ("POST", f"{API}/vibe-edit/"): CLOSED,
    ("POST", f"{API}/undo-vibe-edit"): CLOSED, ("POST", f"{API}/undo-vibe-edit/"): CLOSED,
    ("GET", f"{API}/vibe-code"): CLOSED, ("GET", f"{API}/vibe-code/"): CLOSED,
    ("POST", f"{API}/vibe-code"): CLOSED, ("POST", f"{API}/vibe-code/"): CLOSED,
    ("POST", f"{API}/vibe-starter-queries"): CLOSED, ("POST", f"{API}/vibe-starter-queries/"): CLOSED,
}
# Gradio's MCP server (--mcp) is mounted as an app of its own under /gradio_api/mcp, outside this router: HttpGuard
# bounds its requests and asks for the login, and its tool calls reach the events above through a Gradio client.


@dataclass(frozen=True)
class Route:
    kind: str
    template: str
    params: dict  # the path's parameters, as the router reads them


_COMPILED = [(frozenset(methods.split()), compile_path(template)[0], template, kind)
             for (methods, template), kind in ROUTES.items()]


def route_of(method: str, path: str) -> Route | None:
    """The route a request reaches, as Gradio's router would match it (`path` as get_route_path gives it)."""
    for methods, pattern, template, kind in _COMPILED:
        if method in methods:
            matched = pattern.match(path)
            if matched:
                return Route(kind, template, matched.groupdict())
    return None
