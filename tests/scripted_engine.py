"""An HTTP engine on 127.0.0.1 whose answers a test scripts: the failures of real engines (503 while loading, 401,
malformed answers, silence, a stream cut short or endless, a huge answer, a redirect) on demand, for the hub's side
of the remote contract. The answers of real models come from the Ray Serve and llama.cpp tests; this only plays the
faults."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import chain, repeat


@dataclass
class Answer:
    status: int = 200
    body: object = None  # JSON, or bytes as they are
    delay_s: float = 0.0
    events: list | None = None  # server-sent events (JSON values), then the stream is cut off without [DONE]
    every_s: float = 0.0  # the pause after each event
    endless: bool = False  # after the events, the last one again and again until the hub hangs up
    then_wait_s: float = 0.0  # after the events, silence this long before the stream is cut off
    stream_bytes: int = 0  # instead of `body`: this many bytes as they are made, with no declared length
    headers: dict = field(default_factory=dict)  # more headers (a redirect's location)


@dataclass
class Engine:
    url: str = ""
    script: list[Answer] = field(default_factory=list)  # the next answers, in order; the last one repeats
    requests: list[dict] = field(default_factory=list)  # what the hub sent: path, headers, body
    sent_bytes: int = 0  # the bytes of answers' bodies written so far
    hung_up: threading.Event = field(default_factory=threading.Event)  # the hub closed an answer mid-way
    closing: threading.Event = field(default_factory=threading.Event)  # the test is over: stop waiting

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
            try:
                if answer.events is not None:
                    self._stream_events(answer)
                elif answer.stream_bytes:
                    self._stream_bytes(answer)
                else:
                    self._send_body(answer)
            except (BrokenPipeError, ConnectionResetError):
                engine.hung_up.set()

        def _write(self, data: bytes):
            self.wfile.write(data)
            self.wfile.flush()
            engine.sent_bytes += len(data)

        def _stream_events(self, answer: Answer):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            events = chain(answer.events, repeat(answer.events[-1])) if answer.endless else answer.events
            for event in events:
                if engine.closing.is_set():
                    return
                self._write(f"data: {json.dumps(event)}\n\n".encode())
                engine.closing.wait(answer.every_s)
            engine.closing.wait(answer.then_wait_s)
            # then closed without [DONE]: an engine that died mid-answer

        def _stream_bytes(self, answer: Answer):
            self.send_response(answer.status)
            self.send_header("content-type", "application/json")
            self.end_headers()  # no length: the body ends when the connection closes (HTTP/1.0)
            piece = b"x" * (1 << 16)
            for _ in range(0, answer.stream_bytes, len(piece)):
                if engine.closing.is_set():
                    return
                self._write(piece)

        def _send_body(self, answer: Answer):
            payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self._write(payload)

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
        engine.closing.set()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A URL where nothing listens (the port was free a moment ago)."""
    from benchmarks.serving import free_port

    return f"http://127.0.0.1:{free_port()}"
