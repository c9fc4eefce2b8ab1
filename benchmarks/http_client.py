"""A load generator that costs the machine it shares with the server almost nothing.

It speaks Gradio's HTTP API (upload, `POST /gradio_api/call/<name>`, then that event's stream), keeping one
session per client as a browser tab does. gradio_client spent 55-75 ms of CPU per request on this 2-core
machine, more than the BERT forward it was waiting for, so with 8 of them the benchmark measured mostly its
own clients; this one spends about 2 ms.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.serving import map_files


class HttpClient:
    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url.rstrip("/") + "/gradio_api/", timeout=300)
        self.session = uuid.uuid4().hex

    def _upload(self, path: Path) -> dict:
        with path.open("rb") as file:
            response = self.http.post("upload", files=[("files", (path.name, file))])
        response.raise_for_status()
        return {"path": response.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def predict(self, api_name: str, *inputs) -> list:
        """The endpoint's outputs for these inputs (a `Path`, at any depth, is uploaded first); raises on an error
        event."""
        name = api_name.lstrip("/")
        data = map_files(list(inputs), self._upload)
        response = self.http.post(f"call/{name}", json={"data": data, "session_hash": self.session})
        response.raise_for_status()
        event = None
        with self.http.stream("GET", f"call/{name}/{response.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event in ("complete", "error"):
                    payload = json.loads(line.removeprefix("data: "))
                    if event == "error":
                        raise RuntimeError(f"{api_name} answered with an error: {payload}")
                    return payload
        raise RuntimeError(f"{api_name}: the event stream ended without an answer")

    def close(self) -> None:
        self.http.close()


def burst(pool: list[HttpClient], api_name: str, inputs: tuple, requests_per_client: int, max_seconds: float) -> float:
    """Requests per second with every client of `pool` sending its requests one after another, all at once; no
    request starts after `max_seconds`, and the rate counts those finished over the time they took."""
    finished, errors = [], []
    stop_at = time.monotonic() + max_seconds

    def client_loop(client):
        for _ in range(requests_per_client):
            if time.monotonic() > stop_at:
                return
            try:
                client.predict(api_name, *inputs)
                finished.append(1)
            except Exception as error:  # counted: a failed request must not pass for a fast one
                errors.append(error)
                return

    threads = [threading.Thread(target=client_loop, args=(client,)) for client in pool]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{api_name}: {len(errors)} requests failed, e.g. {errors[0]}")
    return len(finished) / (time.perf_counter() - started)


def chat_stream(http: httpx.Client, session: str, message: str, model: str | None, new_tokens: int
                ) -> tuple[float | None, float, str]:
    """A greedy /chat reply through Gradio's /gradio_api/call/chat and its event stream, timed from the POST:
    (seconds to the first `generating` event with text, seconds to `complete`, the reply). `http`'s base URL is
    the app's /gradio_api/; its timeout bounds each wait of the stream."""
    started = time.perf_counter()
    posted = http.post("call/chat", json={"data": [message, model, "", new_tokens, 0.0, 1.0, 0],
                                          "session_hash": session})
    posted.raise_for_status()
    first, event = None, None
    with http.stream("GET", f"call/chat/{posted.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event in ("generating", "complete", "error"):
                data = json.loads(line.removeprefix("data: "))
                if event == "error":
                    raise RuntimeError(f"/chat answered with an error: {data}")
                if data and data[0] and first is None:
                    first = time.perf_counter() - started
                if event == "complete":
                    return first, time.perf_counter() - started, data[0]
    raise RuntimeError("/chat: the event stream ended without an answer")
