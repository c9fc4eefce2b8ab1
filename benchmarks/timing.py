"""Timing helpers of the benchmarks: a call's seconds, the process's resident memory, and a stopwatch that adds up
the time spent inside the calls it wraps."""
from __future__ import annotations

import functools
import gc
import inspect
import time

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
