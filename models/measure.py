"""Measurements of a model as it runs here, for the optimisation lab: its size, its zeros and its latency."""
from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Callable

import torch

from models.device import weight_tensors


def parameter_count(module: torch.nn.Module) -> int:
    return sum(t.numel() for t in weight_tensors(module))


def zero_fraction(module: torch.nn.Module) -> float:
    """The share of the weights that are exactly zero (int8 weights read back as real numbers)."""
    tensors = [t.dequantize() if t.is_quantized else t for t in weight_tensors(module)]
    return sum(int((t == 0).sum()) for t in tensors) / max(1, sum(t.numel() for t in tensors))


def disk_bytes(module: torch.nn.Module) -> int:
    """The size of the module's state dict saved as torch saves it (dense tensors, int8 weights packed)."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.tell()


WARM_UP_S = 0.25
MIN_RUN_S = 0.01  # a timed run repeats a quick call until it lasts about this long


def median_ms(forward: Callable[[], object], repeats: int, deadline: float) -> tuple[float, int]:
    """The median time of one `forward()` in ms over up to `repeats` timed runs, and how many runs were timed: at
    least one, and no new one once time.monotonic() has passed `deadline`.

    Untimed calls come first, for WARM_UP_S (at least one): the first calls after a load or another model's run
    are slower (caches, thread pools), and a single warm-up call left the first variant measured slower than the
    same computation measured next. A timed run of a call quicker than MIN_RUN_S repeats it and takes the mean,
    so that the clock's and the system's jitter do not decide a sub-millisecond median."""
    started, calls = time.perf_counter(), 0
    warm_until = time.monotonic() + WARM_UP_S
    while calls == 0 or time.monotonic() < min(warm_until, deadline):
        forward()
        calls += 1
    per_run = max(1, min(1000, math.ceil(MIN_RUN_S * calls / (time.perf_counter() - started))))
    times = []
    while len(times) < repeats and (not times or time.monotonic() < deadline):
        run_started = time.perf_counter()
        for _ in range(per_run):
            forward()
        times.append((time.perf_counter() - run_started) / per_run)
    return statistics.median(times) * 1000, len(times)
