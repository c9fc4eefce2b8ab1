"""Compare: one request through two models, side by side. Every endpoint that names a model and has a reading gets
a `compare_<its name>` twin, made here from its record: the same inputs and checks, plus the second model. Each
model's run is the endpoint's own call (its cache, batches, deadline, the cache's memory budget for the second
model), one after the other: on a CPU two at once would only share its cores. The answer is both answers, a row
of facts per model (its time, its memory as the Models panel shows it) and, where the task has a measure, how far
the two agree."""
from __future__ import annotations

import collections
import contextlib
import functools
import inspect
import time
from dataclasses import dataclass
from typing import Any

import messages
from engines.context import Context
from engines.endpoint import STEPS, STREAM, TORCH_THREAD, Endpoint
from engines.outcome import Outcome, Table
from engines.params import PICKED_MODEL, TYPED_MODEL
from tasks import specs_for

FACTS_HEADERS = ["run", "model", "seconds", "MB", "cached"]
SECOND_INPUTS = {"second_model": PICKED_MODEL, "second_custom_model": TYPED_MODEL}


@dataclass(frozen=True)
class Run:
    model: str  # as clients name it
    answer: Any
    seconds: float  # its model's first load included
    memory_mb: float | None  # None: its model is not loaded here (a remote engine's, or one the cache let go)
    cached: bool  # its answer came from the result cache: an earlier request's


def comparable(endpoint: Endpoint) -> bool:
    """Whether the endpoint has a twin: it names a model, its task lists more than one, its answer is read (a
    streamed one's whole answer: the twin waits for each model's last part, as an arena shows two replies), and
    it is not a twin itself."""
    return (endpoint.reads is not None and "model" in endpoint.params and "second_model" not in endpoint.params
            and len(specs_for(endpoint.task)) > 1)


def timed_run(runtime, endpoint: Endpoint, arguments: dict, context: Context) -> Run:
    """The endpoint's own call on its model, with a deadline of its own (each run has the endpoint's limits)."""
    context = context.anew()
    started = time.perf_counter()
    with runtime.noting() as noted:
        answer = whole(endpoint.call(runtime, **arguments, context=context))
    seconds = time.perf_counter() - started
    spec = noted.models[-1] if noted.models else None
    model = spec.name if spec else str(arguments.get("custom_model") or arguments.get("model") or "")
    return Run(model, answer, round(seconds, 3), runtime.memory_mb(spec) if spec else None, noted.cached)


def whole(answer):
    """A streamed answer run to its last part, which holds it whole; any other answer as it is."""
    if not inspect.isgenerator(answer):
        return answer
    with contextlib.closing(answer) as parts:
        return collections.deque(parts, maxlen=1).pop()


def as_outputs(answer) -> tuple:
    return answer if isinstance(answer, tuple) else (answer,)


def compared(runtime, endpoint: Endpoint, arguments: dict, second: dict, context: Context | None) -> tuple:
    """Both answers' outputs (the endpoint's, twice), the facts table and the agreement in words."""
    context = runtime.context(context)
    first = timed_run(runtime, endpoint, arguments, context)
    other = timed_run(runtime, endpoint, {**arguments, **second}, context)
    facts = [[label, run.model, run.seconds, run.memory_mb, run.cached] for label, run in (("A", first), ("B", other))]
    agreement = ""
    if endpoint.agreement is not None:
        agreement = endpoint.agreement(endpoint.reads(first.answer), endpoint.reads(other.answer)).said(
            messages.current_language())
    return *as_outputs(first.answer), *as_outputs(other.answer), {"headers": FACTS_HEADERS, "data": facts}, agreement


def _docstring(endpoint: Endpoint, inputs: list[str]) -> str:
    """The endpoint's `Args:` (the MCP tool's description of each input), with the second model's."""
    lines = inspect.getdoc(endpoint.fn).splitlines()
    start = lines.index("Args:")
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    second = ["    second_model: the model to compare it with, named as `model` is (left out: the model listed "
              "after the tab's first)."]
    if "second_custom_model" in inputs:
        second.append("    second_custom_model: optional Hugging Face id of another model to compare it with.")
    summary = lines[0].rstrip(".")
    return "\n".join([f"Compare two models on one request: {summary[0].lower()}{summary[1:]}, with each model.",
                      "", *lines[start:end], *second, "",
                      "Returns each model's answer (the first's outputs, then the second's), a table with each "
                      "model's time in seconds (its first load included) and memory in MB, and how far the two "
                      "answers agree, in words."])


_twins: dict[str, Endpoint] = {}


def twin(endpoint: Endpoint) -> Endpoint:
    """The endpoint's `compare_` twin (one record per endpoint, as the API lists it once)."""
    if endpoint.api_name not in _twins:
        _twins[endpoint.api_name] = _made_twin(endpoint)
    return _twins[endpoint.api_name]


def compared_first(endpoints) -> list[Endpoint]:
    """The twins of each task's first comparable endpoint (a tab compares its main request)."""
    firsts = {}
    for endpoint in endpoints:
        if comparable(endpoint):
            firsts.setdefault(endpoint.task, endpoint)
    return [twin(endpoint) for endpoint in firsts.values()]


def _made_twin(endpoint: Endpoint) -> Endpoint:
    base = inspect.signature(endpoint.fn)
    second = {name: param for name, param in SECOND_INPUTS.items()
              if name != "second_custom_model" or "custom_model" in endpoint.params}
    parameters = [p for name, p in base.parameters.items() if name != "context"]
    parameters += [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                     annotation="str | None") for name in second]
    signature = base.replace(parameters=[*parameters, base.parameters["context"]])

    def compare(*args, **kwargs):
        call = signature.bind(*args, **kwargs)
        call.apply_defaults()
        arguments = dict(call.arguments)
        runtime, context = arguments.pop("runtime"), arguments.pop("context")
        models = {name.removeprefix("second_"): arguments.pop(name) for name in second}
        return compared(runtime, endpoint, arguments, models, context)

    compare.__name__ = compare.__qualname__ = f"compare_{endpoint.fn.__name__}"
    compare.__signature__ = signature
    compare.__doc__ = _docstring(endpoint, list(second))
    compare.__annotations__ = {**endpoint.fn.__annotations__, **{name: "str | None" for name in second}}
    compare.__annotations__.pop("return", None)
    sample = endpoint.sample and (lambda model: (*endpoint.sample(model), model) + (("",) if len(second) > 1 else ()))
    return Endpoint(f"compare_{endpoint.api_name}", compare, endpoint.task, {**endpoint.params, **second},
                    run=STEPS if endpoint.run in (TORCH_THREAD, STREAM) else endpoint.run, sample=sample,
                    track_tqdm=endpoint.track_tqdm, reads=functools.partial(read_comparison, endpoint))


def read_comparison(endpoint: Endpoint, answer) -> Outcome:
    """A comparison as the history keeps it: both answers' text, the facts table, and the first's picture."""
    *sides, facts, _ = answer
    half = len(sides) // 2
    first, second = (endpoint.reads(tuple(side) if half > 1 else side[0]) for side in (sides[:half], sides[half:]))
    return Outcome(f"A: {first.text} · B: {second.text}", Table(facts["headers"], facts["data"]), first.picture)
