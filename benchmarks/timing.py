"""Timing helpers of the benchmarks: a call's seconds, the process's resident memory, a stopwatch that adds up
the time spent inside the calls it wraps, and the results file the figures are kept in."""
from __future__ import annotations

import functools
import gc
import inspect
import json
import time
from pathlib import Path

import psutil


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


class Stopwatch:
    """Adds up the time spent inside the calls it wraps (one request at a time): timing the model call and
    the tab's function inside the very request timed from outside pairs the figures, so that noise in a
    half-second forward does not swamp a difference of a few milliseconds."""

    def __init__(self):
        self.seconds = 0.0

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds

    def wrap(self, fn):
        if inspect.isgeneratorfunction(fn):  # a streaming tab: only the time spent producing each part
            @functools.wraps(fn)
            def timed_generator(*args, **kwargs):
                parts = fn(*args, **kwargs)
                while True:
                    started = time.perf_counter()
                    try:
                        part = next(parts)
                    except StopIteration:
                        return
                    finally:
                        self.seconds += time.perf_counter() - started
                    yield part
            return timed_generator

        @functools.wraps(fn)
        def timed_call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return timed_call


def keep_figures(path: Path, key: str, figures: dict) -> None:
    """`figures` under `key` in the JSON results file at `path` (made if missing); its other keys stay."""
    kept = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**kept, key: figures}, indent=2, ensure_ascii=False) + "\n")
