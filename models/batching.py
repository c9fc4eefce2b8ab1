"""Dynamic batching: requests for the same model that wait together share one forward pass.

No timer: a request that finds the model idle runs at once (alone: no added latency), and the requests that
arrive while a batch runs form the next batch. Under load, batches fill up by themselves.

Why not Gradio's `batch=True`: a Gradio batch succeeds or fails as a whole, so one bad input would fail every
request batched with it, and (Gradio 6.31) a batched event's `validator` never blocks. Here each request is
checked on its own thread first, and only checked inputs are batched; each caller gets its own result back, and
a batch that fails is retried item by item, so a failure reaches only the requests that fail on their own.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Job:
    item: Any
    wake: threading.Event = field(default_factory=threading.Event)
    state: str = "waiting"  # -> "lead" (this job's thread runs the next batch) -> "done"
    result: Any = None
    error: BaseException | None = None


class DynamicBatcher:
    """`run(key, item, forward)`: the result of `forward([... item ...])` for this item, where `forward` takes
    a list of items and returns one result per item, and items with the same key (the same loaded model) that
    are waiting together go in one call. One batch per key runs at a time, on the thread of one of its callers."""

    def __init__(self, max_batch: int):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: dict[Hashable, list[_Job]] = {}  # per key; a key is present while a batch leader exists
        self.batch_sizes: list[int] = []  # every batch run, for tests and benchmarks

    def run(self, key: Hashable, item: Any, forward: Callable[[list], list]) -> Any:
        job = _Job(item)
        with self._lock:
            if key not in self._waiting:
                self._waiting[key] = []
                job.state = "lead"
                job.wake.set()
            self._waiting[key].append(job)
        while True:
            job.wake.wait()
            job.wake.clear()
            if job.state == "lead":
                self._lead(key, forward)
            if job.state == "done":
                break
        if job.error is not None:
            raise job.error
        return job.result

    def _lead(self, key: Hashable, forward: Callable[[list], list]) -> None:
        with self._lock:
            waiting = self._waiting[key]
            jobs, self._waiting[key] = waiting[: self.max_batch], waiting[self.max_batch:]
        try:
            self._forward(jobs, forward)
        finally:
            with self._lock:
                for job in jobs:
                    job.state = "done"
                successor = self._waiting[key][0] if self._waiting[key] else None
                if successor is None:
                    del self._waiting[key]
                else:
                    successor.state = "lead"  # its thread runs the next batch
            for job in jobs + ([successor] if successor else []):
                job.wake.set()

    def _forward(self, jobs: list[_Job], forward: Callable[[list], list]) -> None:
        """Each job's result or error. A batch that fails is run again item by item: one bad item (a text the
        tokenizer rejects, a picture too large to preprocess) then fails alone, and only what fails alone fails."""
        self.batch_sizes.append(len(jobs))
        try:
            results = forward([job.item for job in jobs])
            if len(results) != len(jobs):
                raise RuntimeError(f"a batch of {len(jobs)} gave {len(results)} results")
        except Exception as error:
            if len(jobs) == 1:
                jobs[0].error = error
            else:
                for job in jobs:
                    self._forward([job], forward)
            return
        for job, result in zip(jobs, results):
            job.result = result
