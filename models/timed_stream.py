"""A stream's items until a deadline, however slowly its source sends them (a remote engine's reply)."""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

_END = object()


class ReadUntil:
    """A stream's items until a time.monotonic() deadline, read on a thread of their own so that the wait for the
    next one ends at the deadline even while the engine sends nothing (httpx's read timeout counts from each read,
    and is set once a request). Once they are no longer wanted (closed, or out of time) the reader closes the
    stream after its current read: httpx's responses are not for two threads at once."""

    def __init__(self, deadline: float, items, close: Callable[[], None]):
        self.deadline, self.out_of_time = deadline, False
        self._handed: queue.Queue = queue.Queue()
        self._unwanted = threading.Event()
        threading.Thread(target=self._read, args=(items, close), daemon=True, name="engine-stream").start()

    def _read(self, items, close: Callable[[], None]) -> None:
        try:
            for item in items:
                if self._unwanted.is_set():
                    break
                self._handed.put((item, None))
            self._handed.put((_END, None))
        except BaseException as error:  # handed to the consumer, which raises it in the request
            self._handed.put((_END, error))
        finally:
            close()

    def __iter__(self) -> Iterator:
        # The deadline is checked before each item, not only while waiting: an engine quicker than the page
        # keeps the queue from ever being empty.
        while (left := self.deadline - time.monotonic()) > 0:
            try:
                item, error = self._handed.get(timeout=left)
            except queue.Empty:
                break
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
        self.out_of_time = True

    def close(self) -> None:
        self._unwanted.set()


