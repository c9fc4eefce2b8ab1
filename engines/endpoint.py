"""An endpoint of the API, declared once, as an `Endpoint` record in its task's engine module: its function, what
each input may be, and how its work runs. The tab serves it (demos/endpoints.py makes the API's event, the page's,
their concurrency group, progress and plain-word errors from it); a worker checks its requests with the same
params (serve/)."""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engines.kinds import LOCAL
from engines.outcome import Agreement, Outcome
from engines.params import Param

# How an endpoint's work runs.
TORCH_THREAD = "torch_thread"  # the whole call on a torch thread (models/torch_threads.py says why)
# On the request's thread; its forward goes through runtime.run_batched, so requests that wait together share one
# forward. Its concurrency group is wide enough for a whole batch to wait together.
BATCHED = "batched"
# On the request's thread; it hands its model work to a torch thread one step at a time (a batch of sentences),
# so that the batched tabs' requests take turns with a long one instead of waiting for all of it.
STEPS = "steps"
# A generator on the request's thread that hands its model work to a torch thread itself, so that closing the
# stream (Stop) can stop the model.
STREAM = "stream"


@dataclass(frozen=True)
class Endpoint:
    """fn(runtime, *inputs, context=None), at module level, takes the API's inputs in the API's order. Its name
    is the MCP tool's name and its docstring (with `Args:`) the tool's description. `context` is the request's
    (engines/context.py; None: one made for the call). `params` says what each input may be (engines/params.py),
    one entry per input of fn: fn receives the inputs as their checks return them. `sample` gives the API inputs
    of one typical request for a model, named as clients name it (files as Paths): the load test and the
    benchmark send it."""

    api_name: str
    fn: Callable
    task: str
    params: Mapping[str, Param]
    run: str = TORCH_THREAD
    sample: Callable[[str], tuple] | None = None
    track_tqdm: bool = True  # progress from libraries' tqdm bars (downloads, loads) reaches the page
    # Calls at once in a group of its own (0: none, the device's group): a long run must not hold the slot the
    # tabs' model requests share. Its model work must then take turns with theirs on the torch threads, step by step.
    own_group: int = 0
    # How the workbench reads its answer (engines/outcome.py: compare, chain, keep); None: it keeps no results.
    reads: Callable[[Any], Outcome] | None = None
    # How far two models' answers to one request agree; None: they are shown side by side without a measure.
    agreement: Callable[[Outcome, Outcome], Agreement] | None = None

    def __post_init__(self):
        inputs = [name for name in inspect.signature(self.fn).parameters if name not in ("runtime", "context")]
        if list(self.params) != inputs:
            raise ValueError(f"{self.api_name}: params {list(self.params)} must declare fn's inputs {inputs}")
        if self.run not in (TORCH_THREAD, BATCHED, STEPS, STREAM):
            raise ValueError(f"{self.api_name}: unknown run mode {self.run!r}")
        if self.run == STREAM and not inspect.isgeneratorfunction(self.fn):
            raise ValueError(f"{self.api_name}: a streamed endpoint's function must be a generator")

    def call(self, runtime, *args, **kwargs):
        """fn's answer, run where its record says (on a torch thread, for TORCH_THREAD on a local model), from a
        thread that is not a torch thread; its inputs already checked."""
        if self.run == TORCH_THREAD and runtime.kind(self.task) == LOCAL:
            return runtime.torch_threads.run(self.fn, runtime, *args, **kwargs)
        return self.fn(runtime, *args, **kwargs)


