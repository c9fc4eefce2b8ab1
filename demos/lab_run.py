"""One run of the optimisation lab: the variants a technique makes of a model, and each one's size, speed and
answers, measured on this machine."""
from __future__ import annotations

import copy
import logging
import time

import pandas as pd
import torch

from demos.charts import Series, chart
from demos.lab_subjects import Subject, count, logits, take
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from messages import say
from models.device import free_memory, module_bytes
from models.measure import NO_DEADLINE, OutOfTime, disk_bytes, in_time, median_ms, parameter_count, zero_fraction
from models.pruning import prune_channels, prune_unstructured
from models.quantization import quantize_int8_in_parts

log = logging.getLogger("demo_hub")

ORIGINAL = "original"
PRUNING = ("unstructured", "channels")
TECHNIQUES = (*PRUNING, "int8", "half", "student")
NAMES = {ORIGINAL: "lab_technique_original", "unstructured": "lab_technique_unstructured",
         "channels": "lab_technique_channels", "int8": "lab_technique_int8", "half": "lab_technique_half",
         "student": "lab_technique_student"}  # the catalog keys of the techniques' names
COLOURS = {ORIGINAL: "#6b7280", "unstructured": "#2563eb", "channels": "#16a34a", "int8": "#d97706", "half": "#9333ea",
           "student": "#dc2626"}  # each technique's, in both charts
# The table's columns, in order: key -> header. Headers stay English in every language, as every tab's table
# headers do: API clients read them as data.
COLUMNS = {"variant": "variant", "parameters": "parameters", "zeros": "zeros %", "disk": "disk MB",
           "memory": "memory MB", "batch_1": "ms, batch 1", "batch_8": "ms, batch 8", "speed": "speed-up",
           "agreement": "agreement %", "accuracy": "accuracy %", "note": "note"}
MAX_MODEL_MB = 1024  # the largest model the lab copies: a copy and a saved state dict exist beside the original
BATCH_SIZES = (1, 8)
SWEEP = (25, 50, 75, 90)  # the shares pruned for the chart against the share pruned, % (with the one asked for)
PREDICTION_BATCH = 64
MB = 2**20
# A copy or a cast of a whole model cannot stop half way: it starts only if it can end in time, judged at this
# speed, slower than seen here (ResNet-50's 98 MB copied in 0.6 s, DistilBERT's 255 MB in 0.5 s, on 2 cores).
COPY_MB_PER_S = 150
# Copies of models up to this size are left to Python to free: returning their memory to the system
# (free_memory's garbage collection) took a quarter of a second a step, whatever the copy's size.
KEEP_HEAP_MB = 64
# The columns a measured row fills, in the order a run measures them: the note names those it did not reach.
MEASURED = ("parameters", "zeros", "disk", "memory", "agreement", "accuracy", "batch_1", "batch_8")


def variant(runtime: ModelRuntime, lab: Subject, technique: str, network: torch.nn.Module, percent: int,
            deadline: float = NO_DEADLINE, copy_s: float = 0.0):
    """The network a technique makes from `network` (a copy; the distilled student is the served one), or the
    catalog key of why it cannot; OutOfTime where it cannot be made by `deadline`, a copy taking `copy_s`."""
    device, dtype = next(network.parameters()).device, next(network.parameters()).dtype
    if technique == "student":
        if lab.student is None:
            return "lab_note_no_student"
        in_time(deadline)
        return lab.network(runtime.load(runtime.spec(lab.task, lab.student, here=True)))
    if technique == "int8" and device.type != "cpu":
        return "lab_note_int8_cpu_only"
    if technique == "half" and dtype in (torch.float16, torch.bfloat16):
        return "lab_note_already_half"
    in_time(deadline, copy_s)
    changed = copy.deepcopy(network)
    if technique == "unstructured":
        prune_unstructured(changed, percent / 100, deadline)
    elif technique == "channels" and not prune_channels(changed, percent / 100, deadline):
        return "lab_note_no_channels"
    elif technique == "int8":
        quantize_int8_in_parts(changed, deadline)
    elif technique == "half":
        in_time(deadline, copy_s)  # a cast, like a copy, goes through every tensor
        changed.half()
    return changed


def predictions(network: torch.nn.Module, inputs, deadline: float = NO_DEADLINE, per_input_s: float = 0.0):
    """The network's answers to every input, a batch at a time; OutOfTime where the next batch would end after
    `deadline` (the first batch's time guessed from `per_input_s`, the others' from the batch before)."""
    device = next(network.parameters()).device
    answers, batch_s = [], per_input_s * min(PREDICTION_BATCH, count(inputs))
    with torch.inference_mode():
        for start in range(0, count(inputs), PREDICTION_BATCH):
            in_time(deadline, batch_s)
            began = time.monotonic()
            answers.append(logits(network, take(inputs, start, min(start + PREDICTION_BATCH, count(inputs)), device))
                           .argmax(-1).cpu())
            batch_s = time.monotonic() - began
    return torch.cat(answers)


def ms_per_input(network: torch.nn.Module, inputs, size: int, repeats: int, stop_at: float,
                 deadline: float = NO_DEADLINE, per_input_s: float = 0.0) -> tuple[float, int]:
    batch = take(inputs, 0, size, next(network.parameters()).device)

    def forward():
        with torch.inference_mode():
            return logits(network, batch).argmax(-1).cpu()  # to the CPU: on a GPU, waits for the work

    ms, runs = median_ms(forward, repeats, stop_at, deadline, first_call_s=per_input_s * size)
    return ms / size, runs


def sizes(network: torch.nn.Module, deadline: float = NO_DEADLINE) -> dict:
    return {"parameters": parameter_count(network), "zeros": round(zero_fraction(network, deadline) * 100, 1),
            "disk": round(disk_bytes(network, deadline) / MB, 3), "memory": round(module_bytes(network) / MB, 3)}


def percent_equal(guesses: torch.Tensor, truth: torch.Tensor) -> float:
    return round(float((guesses == truth).float().mean()) * 100, 2)


class Lab:
    """One run: measures each variant in turn, each step on a torch thread so that other tabs' requests take
    turns with it, and keeps the table and the charts' data. Every step stops at the run's deadline, its load
    included: what it did not reach is left out and said so (`out_of_time`, the rows' notes, `not_swept`)."""

    def __init__(self, runtime: ModelRuntime, lab: Subject, percent: int, repeats: int, started: float,
                 budget_s: float, context):
        self.runtime, self.subject, self.percent, self.repeats = runtime, lab, percent, repeats
        self.started, self.deadline, self.out_of_time = started, started + budget_s, False
        spec = runtime.spec(lab.task, here=True)  # measured here, whatever engine serves the tab
        self.model_name = spec.label
        loaded = runtime.load(spec, context)
        self.network = lab.network(loaded)
        size_mb = module_bytes(self.network) / MB
        if size_mb > MAX_MODEL_MB:
            raise refuse("refuse_lab_model_too_large", size_mb=size_mb, max_mb=MAX_MODEL_MB)
        self.copy_s, self.frees_memory = size_mb / COPY_MB_PER_S, size_mb > KEEP_HEAP_MB
        self.inputs, self.labels = runtime.torch_threads.run(lab.comparison, loaded)  # a few ms: not checked
        self.per_input_s = 0.0  # the original's, from its answers: the first guess of a variant's
        self.reference = self.original_answers()
        self.rows: list[dict] = []
        self.points: list[dict] = []  # quality against latency
        self.sweep: list[dict] = []  # quality against the share pruned
        self.not_swept: dict[str, list[int]] = {}  # technique -> the shares the run's time did not reach
        self.status = ""

    def on_torch(self, fn, *args):
        return self.runtime.torch_threads.run(fn, *args)

    def forget(self) -> None:
        """After a variant is dropped: a large model's copy given back to the system."""
        if self.frees_memory:
            free_memory()

    def answers(self, network: torch.nn.Module) -> tuple[torch.Tensor, float]:
        """The network's answers to the comparison set, and the seconds they took per input."""
        began = time.monotonic()
        guesses = self.on_torch(predictions, network, self.inputs, self.deadline, self.per_input_s)
        return guesses, (time.monotonic() - began) / count(self.inputs)

    def original_answers(self) -> torch.Tensor | None:
        """The original's answers, the reference of every agreement; None when the run's time is spent already."""
        try:
            reference, self.per_input_s = self.answers(self.network)
        except OutOfTime:
            self.out_of_time = True
            return None
        return reference

    def quality(self, guesses: torch.Tensor) -> float:
        return percent_equal(guesses, self.labels if self.labels is not None else self.reference)

    def name(self, technique: str, language: str) -> str:
        text = say(NAMES[technique], language)
        return f"{text} · {self.percent}%" if technique in PRUNING else text

    def measure(self, technique: str, steps_left: int, language: str) -> None:
        row = {"variant": self.name(technique, language)}
        self.rows.append(row)
        notes = []
        try:
            if self.reference is None:  # the original's answers, which every agreement needs, took the time
                raise OutOfTime
            in_time(self.deadline)
            share_end = time.monotonic() + (self.deadline - time.monotonic()) / steps_left
            network = self.network if technique == ORIGINAL else self.on_torch(
                variant, self.runtime, self.subject, technique, self.network, self.percent, self.deadline,
                self.copy_s)
            if isinstance(network, str):
                row["note"] = say(network, language)
                return
            row.update(self.on_torch(sizes, network, self.deadline))
            guesses, per_input_s = (self.reference, self.per_input_s) if network is self.network else \
                self.answers(network)
            row["agreement"] = percent_equal(guesses, self.reference)
            if self.labels is not None:
                row["accuracy"] = percent_equal(guesses, self.labels)
            timings = self.timed(network, share_end, per_input_s)
            for size, (ms, _) in timings.items():
                row[f"batch_{size}"] = round(ms, 3)
            fewest = min((runs for _, runs in timings.values()), default=self.repeats)
            if fewest < self.repeats:
                notes.append(say("lab_note_runs", language, runs=fewest, repeats=self.repeats))
            if f"batch_{BATCH_SIZES[-1]}" in row:
                self.points.append({"variant": row["variant"], "technique": technique,
                                    "ms": row[f"batch_{BATCH_SIZES[-1]}"], "quality": self.quality(guesses)})
        except OutOfTime:
            self.out_of_time = True
        except Exception as error:  # a technique the model or device cannot run: the row says so, the run goes on
            log.error("optimisation lab: %s on %s failed", technique, self.model_name, exc_info=error)
            row["note"] = say("lab_note_failed", language)
            return
        finally:
            network = None
            self.forget()
        row["note"] = "; ".join(dict.fromkeys([*notes, *self.unmeasured_note(row, language)]))

    def unmeasured_note(self, row: dict, language: str) -> list[str]:
        """What the run's time did not reach of a row, in words (none when it reached all)."""
        expected = [column for column in MEASURED if column != "accuracy" or self.labels is not None]
        missing = [COLUMNS[column] for column in expected if column not in row]
        if not missing:
            return []
        if len(missing) == len(expected):
            return [say("lab_note_not_measured", language)]
        return [say("lab_note_columns_not_measured", language, columns=", ".join(missing))]

    def timed(self, network: torch.nn.Module, share_end: float, per_input_s: float) -> dict[int, tuple[float, int]]:
        """Batch size -> (ms per input, runs timed), the time until `share_end` split between the sizes; the
        sizes the run's time does not reach are left out."""
        timings = {}
        for index, size in enumerate(BATCH_SIZES):
            part_end = time.monotonic() + (share_end - time.monotonic()) / (len(BATCH_SIZES) - index)
            try:
                timings[size] = self.on_torch(ms_per_input, network, self.inputs, size, self.repeats, part_end,
                                              self.deadline, per_input_s)
            except OutOfTime:
                self.out_of_time = True
                break
        return timings

    def time_original_again(self, language: str) -> None:
        """The original timed once more, after the variants, and the faster of its two times kept: the first
        timing comes right after a load or a page's first drawing, and whatever ran beside it (the browser on a
        laptop) made the original look up to 3x slower than the same computation timed later, and every
        variant look that much faster."""
        row = self.rows[0]
        if "batch_1" not in row:
            return
        share_end = time.monotonic() + max(0.0, self.deadline - time.monotonic()) / 2
        timings = self.timed(self.network, share_end, self.per_input_s)
        for size, (ms, _) in timings.items():
            if f"batch_{size}" in row:
                row[f"batch_{size}"] = min(row[f"batch_{size}"], round(ms, 3))
        if self.points and self.points[0]["technique"] == ORIGINAL:
            self.points[0]["ms"] = row[f"batch_{BATCH_SIZES[-1]}"]
        note = "lab_note_timed_twice" if len(timings) == len(BATCH_SIZES) else "lab_note_timed_once"
        row["note"] = "; ".join(filter(None, [say(note, language), row.get("note")]))

    def sweep_pruning(self, technique: str) -> None:
        shares = sorted({*SWEEP, self.percent})
        if self.reference is None:  # the original's answers took the run's time
            self.not_swept[technique] = shares
            return
        unpruned = {"technique": technique, "sparsity": 0, "quality": self.quality(self.reference)}
        for index, percent in enumerate(shares):
            try:
                network = self.on_torch(variant, self.runtime, self.subject, technique, self.network, percent,
                                        self.deadline, self.copy_s)
                if isinstance(network, str):  # the table's row already says why
                    return
                quality = self.quality(self.on_torch(predictions, network, self.inputs, self.deadline,
                                                     self.per_input_s))
            except OutOfTime:
                self.out_of_time = True
                self.not_swept[technique] = shares[index:]
                return
            except Exception as error:
                log.error("optimisation lab: %s at %d%% on %s failed", technique, percent, self.model_name,
                          exc_info=error)
                return
            finally:
                network = None
                self.forget()
            if unpruned not in self.sweep:  # the line starts from the original, once the technique applies
                self.sweep.append(unpruned)
            self.sweep.append({"technique": technique, "sparsity": percent, "quality": quality})

    def table(self) -> pd.DataFrame:
        columns = [column for column in COLUMNS if column != "accuracy" or self.labels is not None]
        baseline = self.rows[0].get("batch_8") if self.rows else None
        rows = [{**row, "speed": f"{baseline / row['batch_8']:.2f}×" if baseline and row.get("batch_8") else "–"}
                for row in self.rows]
        frame = pd.DataFrame([[row.get(column, "–") for column in columns] for row in rows], columns=columns)
        return frame.rename(columns=COLUMNS)

    def outputs(self, language: str) -> tuple[str, pd.DataFrame, str, str]:
        comparison = say(self.subject.set_text, language, count=count(self.inputs))
        summary = say("lab_summary", language, model=self.model_name, device=self.runtime.device,
                      threads=torch.get_num_threads(), repeats=self.repeats, comparison=comparison)
        quality = say("lab_axis_quality", language)
        by_latency = [Series(p["variant"], COLOURS[p["technique"]], ((p["ms"], p["quality"]),)) for p in self.points]
        slowest = max((p["ms"] for p in self.points), default=0)
        by_share = [Series(say(NAMES[technique], language), COLOURS[technique],
                           tuple((p["sparsity"], p["quality"]) for p in self.sweep if p["technique"] == technique))
                    for technique in dict.fromkeys(p["technique"] for p in self.sweep)]
        return (f"{summary}\n\n{self.status}", self.table(),
                chart(by_latency, say("lab_axis_latency", language), quality, lines=False, x_high=slowest * 1.05),
                chart(by_share, say("lab_axis_sparsity", language), quality, lines=True, x_high=100))
