"""All model work of a process runs on as few long-lived threads as the device runs requests at once.

Why: PyTorch's CPU ops run on OpenMP (libgomp), which gives every thread that runs a parallel op its own team
of worker threads. Once there are more of those than CPU cores, libgomp stops letting idle workers spin and
puts them to sleep after every op, so every op pays a wake-up. Gradio runs each request on any of its 40
worker threads, so after a few requests every forward ran markedly slower, for as long as the server lived.
Here loads, forwards and everything else a model request does in torch run on these threads, and request
threads only wait (`python benchmarks/bench.py --only openmp` measures the effect).
"""
from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_here = threading.local()


def _mark_torch_thread() -> None:
    _here.torch_thread = True


def on_torch_thread() -> bool:
    return getattr(_here, "torch_thread", False)


class TorchThreads:
    def __init__(self, count: int):
        if count < 1:
            raise ValueError("count must be at least 1")
        self.count = count
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid: int | None = None

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            # A forked child (a ZeroGPU worker) inherits the executor but none of its threads: start afresh there.
            if self._executor is None or self._pid != os.getpid():
                self._executor = ThreadPoolExecutor(self.count, thread_name_prefix="torch",
                                                    initializer=_mark_torch_thread)
                self._pid = os.getpid()
            return self._executor

    def submit(self, fn: Callable, *args, **kwargs) -> Future:
        """Run `fn` on a torch thread in the background; it sees the caller's context variables (Gradio's
        progress tracking lives there). Never wait on the future from a torch thread: with one thread, that
        waits for itself."""
        return self._pool().submit(contextvars.copy_context().run, fn, *args, **kwargs)

    def run(self, fn: Callable, *args, **kwargs) -> Any:
        """`fn(*args, **kwargs)` run on a torch thread (right here when already on one); its exceptions reach
        the caller."""
        if on_torch_thread():
            return fn(*args, **kwargs)
        return self.submit(fn, *args, **kwargs).result()


_shared: dict[int, TorchThreads] = {}
_shared_lock = threading.Lock()


def shared_torch_threads(count: int) -> TorchThreads:
    """The process's `count` torch threads: every runtime in a process (tests, benchmarks) shares them, as they
    share its CPU cores."""
    with _shared_lock:
        return _shared.setdefault(count, TorchThreads(count))
