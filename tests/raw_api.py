"""Driving a served hub through its raw HTTP API, as a hostile client would (tests/test_security.py and
tests/test_access.py)."""
import io
import json
from pathlib import Path

import httpx
from PIL import Image

import app as hub_app
from engines.runtime import ModelRuntime
from models.settings import Settings


def serve_here(app, **launch_options) -> str:
    """Launch `app` on 127.0.0.1 for a test, without blocking; its address. Gradio's launch then sends the page one
    HEAD with a short timeout and takes a late answer for "localhost is not accessible" (a ValueError), which
    failed a module's setup on a busy CI machine. The tests open the page themselves, so the check is left out
    (`_frontend=False` does only that)."""
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, _frontend=False, **launch_options)
    return app.local_url


def launch(overrides, launch_options=None, **settings):
    """An app on tiny models with these settings; returns (app, runtime, base URL)."""
    runtime = ModelRuntime(Settings(model_overrides=overrides, **settings))
    app = hub_app.build_app(runtime)
    return app, runtime, serve_here(app, **(launch_options or {})).rstrip("/")


def call(base: str, endpoint: str, data: list, headers: dict | None = None) -> tuple[int, str]:
    """(HTTP status, the event stream or the refusal) of a raw API call. The JSON is ASCII, with \\u escapes, so
    that it can carry what UTF-8 cannot (lone surrogates), as a browser's JSON.stringify does."""
    posted = httpx.post(f"{base}/gradio_api/call/{endpoint}", content=json.dumps({"data": data}),
                        headers={"Content-Type": "application/json", **(headers or {})}, timeout=30)
    if posted.status_code != 200:
        return posted.status_code, posted.text
    return 200, httpx.get(f"{base}/gradio_api/call/{endpoint}/{posted.json()['event_id']}", timeout=120).text


def upload(base: str, path: str, headers: dict | None = None) -> dict:
    with open(path, "rb") as file:
        answer = httpx.post(f"{base}/gradio_api/upload", files=[("files", (Path(path).name, file))], headers=headers,
                            timeout=30)
    answer.raise_for_status()
    return {"path": answer.json()[0], "meta": {"_type": "gradio.FileData"}}


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
