"""All model work of a process runs on as few long-lived threads as the device runs requests at once.

Why: PyTorch's CPU ops run on OpenMP (libgomp), which gives every thread that runs a parallel op its own team
of worker threads. Once there are more of those than CPU cores, libgomp stops letting idle workers spin and
puts them to sleep after every op, so every op pays a wake-up. Gradio runs each request on any of its 40
worker threads, so after a few requests every forward ran markedly slower, for as long as the server lived.
Here loads, forwards and everything else a model request does in torch run on these threads, and request
threads only wait (`python benchmarks/bench.py --only openmp` measures the effect).
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Callable, Iterator
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


WAIT_POLICY = "OMP_WAIT_POLICY"
_policy_set_for_torch = False


def let_idle_torch_threads_sleep() -> None:
    """Before torch loads (libgomp reads it then): its idle OpenMP threads sleep rather than spin. Between requests
    a spinning team takes the cores that a shared machine's other work, and this server's event loop, need: under
    load, NER's median latency went from 1.24x the plain app's to 1.01x (README, How fast). The operator's own
    setting wins."""
    global _policy_set_for_torch
    if WAIT_POLICY not in os.environ:
        os.environ[WAIT_POLICY] = "PASSIVE"
        _policy_set_for_torch = True


@contextlib.contextmanager
def openmp_default_policy() -> Iterator[None]:
    """Within, a library that loads its own copy of libgomp (CTranslate2's) gets OpenMP's default policy where
    let_idle_torch_threads_sleep() set one for torch: generating a token is hundreds of small parallel steps, and
    threads that slept between them made the chat a third slower under load."""
    if not _policy_set_for_torch or os.environ.get(WAIT_POLICY) != "PASSIVE":
        yield
        return
    del os.environ[WAIT_POLICY]
    try:
        yield
    finally:
        os.environ[WAIT_POLICY] = "PASSIVE"
