"""An HTTP engine on 127.0.0.1 whose answers a test scripts: the failures of real engines (503 while loading, 401,
malformed answers, silence, a stream cut short) on demand, for the hub's side of the remote contract. The answers
of real models come from the Ray Serve and llama.cpp tests; this only plays the faults."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: object = None  # JSON, or bytes as they are
    delay_s: float = 0.0
    events: list | None = None  # server-sent events (JSON values), then the stream is cut off without [DONE]


@dataclass
class Engine:
    url: str = ""
    script: list[Answer] = field(default_factory=list)  # the next answers, in order; the last one repeats
    requests: list[dict] = field(default_factory=list)  # what the hub sent: path, headers, body

    def next_answer(self) -> Answer:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


def _handler(engine: Engine):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self._answer(b"")

        def do_POST(self):
            self._answer(self.rfile.read(int(self.headers.get("content-length") or 0)))

        def _answer(self, body: bytes):
            engine.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body})
            answer = engine.next_answer()
            time.sleep(answer.delay_s)
            if answer.events is not None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                for event in answer.events:
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                return  # closed without [DONE]: an engine that died mid-answer
            payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def scripted_engine(*answers: Answer) -> Iterator[Engine]:
    engine = Engine(script=list(answers) or [Answer()])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(engine))
    server.daemon_threads = True
    engine.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A URL where nothing listens (the port was free a moment ago)."""
    from benchmarks.serving import free_port

    return f"http://127.0.0.1:{free_port()}"
