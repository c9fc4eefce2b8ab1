"""What the live tabs share (the speech tab's microphone, the detection tab's webcam): one live stream per visitor
at a time, and the event options of a live stream."""
from __future__ import annotations

import threading
import time
import weakref

import gradio as gr

from engines.live_speech import LIVE_LIMIT_S, LIVE_STREAMS
from engines.refusal import refuse
from web.http_guard import client_address

# A stream whose last chunk is older than this has ended (its tab was closed, its time ran out), whether or not
# the page said so: the page sends a chunk every tenth of a second while it streams.
ENDED_AFTER_S = 3.0


class Stream:
    """A live stream's mark: who streams, and when its last chunk came."""

    def __init__(self, visitor: str):
        self.visitor, self.last_chunk = visitor, time.monotonic()


class LiveStreams:
    """One live stream per visitor at a time, whichever live tab it is on: each holds a worker of the server and
    a share of the device while it lasts. A visitor is an address, as for the fair share (web/http_guard.py)."""

    def __init__(self, behind_proxy: bool):
        self.behind_proxy = behind_proxy
        self._lock = threading.Lock()
        self._streaming: dict[str, Stream] = {}

    def chunk(self, stream: Stream | None, request: gr.Request | None) -> Stream:
        """The stream a chunk belongs to (a new one when `stream` is None); refuses a chunk of a visitor's second
        stream while the first goes on."""
        now = time.monotonic()
        with self._lock:
            stream = stream or Stream(self.visitor(request))
            other = self._streaming.get(stream.visitor)
            if other is not None and other is not stream and now - other.last_chunk < ENDED_AFTER_S:
                raise refuse("refuse_one_live_stream")
            if other is not stream:  # a stream starts: forget the ended ones
                self._streaming = {visitor: known for visitor, known in self._streaming.items()
                                   if now - known.last_chunk < ENDED_AFTER_S}
            self._streaming[stream.visitor] = stream
            stream.last_chunk = now
            return stream

    def ended(self, stream: Stream | None) -> None:
        with self._lock:
            if stream is not None and self._streaming.get(stream.visitor) is stream:
                del self._streaming[stream.visitor]

    def visitor(self, request: gr.Request | None) -> str:
        scope = getattr(getattr(request, "request", None), "scope", None)
        return client_address(scope, self.behind_proxy) if scope else "unknown"


_streams: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def live_streams(runtime) -> LiveStreams:
    """The app's register of live streams (one per runtime, so that every live tab of an app shares it)."""
    return _streams.setdefault(runtime, LiveStreams(runtime.settings.behind_proxy))


def checked(endpoint, **values) -> tuple:
    """A live chunk's settings as the endpoint's own checks return them (engines/params.py), in the order given."""
    return tuple(endpoint.params[name].check(value) for name, value in values.items())


def live_options(group: str, every_s: float) -> dict:
    """A live stream's event options: a chunk every `every_s`, LIVE_LIMIT_S at most, LIVE_STREAMS of the tab at
    once in a group of their own (a stream holds its worker while it lasts; its model work takes turns with every
    other request's on the torch threads), the raw chunk given to the handler (it checks it), page only."""
    return {"stream_every": every_s, "time_limit": LIVE_LIMIT_S, "concurrency_id": group,
            "concurrency_limit": LIVE_STREAMS, "preprocess": False, "api_visibility": "private",
            "show_progress": "hidden"}  # (a timer on every output, reset twice a second, reads as noise)
