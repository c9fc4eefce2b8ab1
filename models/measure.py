"""Measurements of a model as it runs here, for the optimisation lab: its size, its zeros and its latency, each
stopping at a deadline (a time.monotonic() time) rather than running past it."""
from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Callable

import torch

from models.device import weight_tensors

NO_DEADLINE = math.inf


class OutOfTime(Exception):
    """A measurement stopped because what was left of it could not end by its deadline."""


def in_time(deadline: float, needed_s: float = 0.0) -> None:
    """Raise OutOfTime unless `needed_s` more seconds of work end by `deadline`."""
    if time.monotonic() + needed_s > deadline:
        raise OutOfTime


def parameter_count(module: torch.nn.Module) -> int:
    return sum(t.numel() for t in weight_tensors(module))


def zero_fraction(module: torch.nn.Module, deadline: float = NO_DEADLINE) -> float:
    """The share of the weights that are exactly zero (int8 weights read back as real numbers)."""
    zeros = total = 0
    for tensor in weight_tensors(module):
        in_time(deadline)  # a large model's count takes seconds: checked tensor by tensor
        tensor = tensor.dequantize() if tensor.is_quantized else tensor
        zeros, total = zeros + int((tensor == 0).sum()), total + tensor.numel()
    return zeros / max(1, total)


class _WriterInTime(io.BytesIO):
    """A buffer that stops torch.save at the deadline: torch writes a state dict a tensor at a time."""

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = deadline

    def write(self, data) -> int:
        in_time(self.deadline)
        return super().write(data)


def disk_bytes(module: torch.nn.Module, deadline: float = NO_DEADLINE) -> int:
    """The size of the module's state dict saved as torch saves it (dense tensors, int8 weights packed)."""
    buffer = _WriterInTime(deadline)
    torch.save(module.state_dict(), buffer)
    return buffer.tell()


WARM_UP_S = 0.25
MIN_RUN_S = 0.01  # a timed run repeats a quick call until it lasts about this long


def median_ms(forward: Callable[[], object], repeats: int, stop_at: float, deadline: float = NO_DEADLINE,
              first_call_s: float = 0.0) -> tuple[float, int]:
    """The median time of one `forward()` in ms over up to `repeats` timed runs, and how many runs were timed: at
    least one, none begun after `stop_at`, and no call begun that would not end by `deadline` (as the calls so
    far, or `first_call_s` for the first, say), OutOfTime when not even one timed run fits.

    Untimed calls come first, for WARM_UP_S (at least one): the first calls after a load or another model's run
    are slower (caches, thread pools), and a single warm-up call left the first variant measured slower than the
    same computation measured next. A timed run of a call quicker than MIN_RUN_S repeats it and takes the mean,
    so that the clock's and the system's jitter do not decide a sub-millisecond median."""
    in_time(deadline, 2 * first_call_s)  # a warm-up call and a timed one
    started, calls = time.perf_counter(), 0
    warm_until = min(time.monotonic() + WARM_UP_S, stop_at)
    call_s = first_call_s
    while calls == 0 or (time.monotonic() < warm_until and time.monotonic() + 2 * call_s <= deadline):
        forward()
        calls += 1
        call_s = (time.perf_counter() - started) / calls
    per_run = max(1, min(1000, math.ceil(MIN_RUN_S / max(call_s, 1e-9))))
    times = []
    while len(times) < repeats and (not times or time.monotonic() < stop_at) and \
            time.monotonic() + per_run * call_s <= deadline:
        run_started = time.perf_counter()
        for _ in range(per_run):
            forward()
        call_s = (time.perf_counter() - run_started) / per_run
        times.append(call_s)
    if not times:
        raise OutOfTime
    return statistics.median(times) * 1000, len(times)
