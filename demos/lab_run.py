"""One run of the optimisation lab: the variants a technique makes of a model, and each one's size, speed and
answers, measured on this machine."""
from __future__ import annotations

import copy
import logging
import time

import pandas as pd
import torch

from demos.charts import Series, chart
from demos.common import refuse
from demos.lab_subjects import Subject, count, logits, take
from messages import say
from models.device import free_memory, module_bytes
from models.measure import disk_bytes, median_ms, parameter_count, zero_fraction
from models.pruning import prune_channels, prune_unstructured
from models.quantization import quantize_int8
from models.runtime import ModelRuntime

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


def variant(runtime: ModelRuntime, lab: Subject, technique: str, network: torch.nn.Module, percent: int):
    """The network a technique makes from `network` (a copy; the distilled student is the served one), or the
    catalog key of why it cannot."""
    device, dtype = next(network.parameters()).device, next(network.parameters()).dtype
    if technique == "student":
        if lab.student is None:
            return "lab_note_no_student"
        return lab.network(runtime.load(runtime.spec(lab.task, lab.student, here=True)))
    if technique == "int8" and device.type != "cpu":
        return "lab_note_int8_cpu_only"
    if technique == "half" and dtype in (torch.float16, torch.bfloat16):
        return "lab_note_already_half"
    changed = copy.deepcopy(network)
    if technique == "unstructured":
        prune_unstructured(changed, percent / 100)
    elif technique == "channels" and not prune_channels(changed, percent / 100):
        return "lab_note_no_channels"
    elif technique == "int8":
        quantize_int8(changed)
    elif technique == "half":
        changed.half()
    return changed


def predictions(network: torch.nn.Module, inputs) -> torch.Tensor:
    device = next(network.parameters()).device
    with torch.inference_mode():
        return torch.cat([logits(network, take(inputs, start, min(start + PREDICTION_BATCH, count(inputs)), device))
                          .argmax(-1).cpu() for start in range(0, count(inputs), PREDICTION_BATCH)])


def ms_per_input(network: torch.nn.Module, inputs, size: int, repeats: int, deadline: float) -> tuple[float, int]:
    batch = take(inputs, 0, size, next(network.parameters()).device)

    def forward():
        with torch.inference_mode():
            return logits(network, batch).argmax(-1).cpu()  # to the CPU: on a GPU, waits for the work

    ms, runs = median_ms(forward, repeats, deadline)
    return ms / size, runs


def sizes(network: torch.nn.Module) -> dict:
    return {"parameters": parameter_count(network), "zeros": round(zero_fraction(network) * 100, 1),
            "disk": round(disk_bytes(network) / MB, 3), "memory": round(module_bytes(network) / MB, 3)}


def percent_equal(guesses: torch.Tensor, truth: torch.Tensor) -> float:
    return round(float((guesses == truth).float().mean()) * 100, 2)


class Lab:
    """One run: measures each variant in turn, each step on a torch thread so that other tabs' requests take
    turns with it, and keeps the table and the charts' data."""

    def __init__(self, runtime: ModelRuntime, lab: Subject, percent: int, repeats: int, budget_s: float, progress):
        self.runtime, self.subject, self.percent, self.repeats = runtime, lab, percent, repeats
        spec = runtime.spec(lab.task, here=True)  # measured here, whatever engine serves the tab
        self.model_name = spec.label
        loaded = runtime.load(spec, progress)
        self.network = lab.network(loaded)
        size_mb = module_bytes(self.network) / MB
        if size_mb > MAX_MODEL_MB:
            raise refuse("refuse_lab_model_too_large", size_mb=size_mb, max_mb=MAX_MODEL_MB)
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        self.inputs, self.labels = runtime.torch_threads.run(lab.comparison, loaded)
        self.reference = runtime.torch_threads.run(predictions, self.network, self.inputs)
        self.rows: list[dict] = []
        self.points: list[dict] = []  # quality against latency
        self.sweep: list[dict] = []  # quality against the share pruned
        self.status = ""

    def on_torch(self, fn, *args):
        return self.runtime.torch_threads.run(fn, *args)

    def quality(self, guesses: torch.Tensor) -> float:
        return percent_equal(guesses, self.labels if self.labels is not None else self.reference)

    def name(self, technique: str, language: str) -> str:
        text = say(NAMES[technique], language)
        return f"{text} · {self.percent}%" if technique in PRUNING else text

    def measure(self, technique: str, steps_left: int, language: str) -> None:
        row = {"variant": self.name(technique, language)}
        self.rows.append(row)
        if time.monotonic() >= self.deadline:
            row["note"] = say("lab_note_not_measured", language)
            return
        share_end = time.monotonic() + (self.deadline - time.monotonic()) / steps_left
        try:
            network = self.network if technique == ORIGINAL else \
                self.on_torch(variant, self.runtime, self.subject, technique, self.network, self.percent)
            if isinstance(network, str):
                row["note"] = say(network, language)
                return
            row.update(self.on_torch(sizes, network))
            guesses = self.on_torch(predictions, network, self.inputs)
            notes = []
            for size, (ms, runs) in self.timed(network, share_end).items():
                row[f"batch_{size}"] = round(ms, 3)
                if runs < self.repeats:
                    notes.append(say("lab_note_runs", language, runs=runs, repeats=self.repeats))
            row["agreement"] = percent_equal(guesses, self.reference)
            if self.labels is not None:
                row["accuracy"] = percent_equal(guesses, self.labels)
            row["note"] = notes[0] if notes else ""
            self.points.append({"variant": row["variant"], "technique": technique,
                                "ms": row[f"batch_{BATCH_SIZES[-1]}"], "quality": self.quality(guesses)})
        except Exception as error:  # a technique the model or device cannot run: the row says so, the run goes on
            log.error("optimisation lab: %s on %s failed", technique, self.model_name, exc_info=error)
            row["note"] = say("lab_note_failed", language)
        finally:
            network = None
            free_memory()

    def timed(self, network: torch.nn.Module, share_end: float) -> dict[int, tuple[float, int]]:
        """Batch size -> (ms per input, runs timed), the time until `share_end` split between the sizes."""
        timings = {}
        for index, size in enumerate(BATCH_SIZES):
            part_end = time.monotonic() + (share_end - time.monotonic()) / (len(BATCH_SIZES) - index)
            timings[size] = self.on_torch(ms_per_input, network, self.inputs, size, self.repeats, part_end)
        return timings

    def time_original_again(self, language: str) -> None:
        """The original timed once more, after the variants, and the faster of its two times kept: the first
        timing comes right after a load or a page's first drawing, and whatever ran beside it (the browser on a
        laptop) made the original look up to 3x slower than the same computation timed later, and every
        variant look that much faster."""
        row = self.rows[0]
        if "batch_1" not in row or time.monotonic() >= self.deadline:
            return
        share_end = time.monotonic() + (self.deadline - time.monotonic()) / 2
        for size, (ms, _) in self.timed(self.network, share_end).items():
            row[f"batch_{size}"] = min(row[f"batch_{size}"], round(ms, 3))
        self.points[0]["ms"] = row[f"batch_{BATCH_SIZES[-1]}"]
        row["note"] = say("lab_note_timed_twice", language)

    def sweep_pruning(self, technique: str) -> None:
        unpruned = {"technique": technique, "sparsity": 0, "quality": self.quality(self.reference)}
        for percent in sorted({*SWEEP, self.percent}):
            if time.monotonic() >= self.deadline:
                return
            try:
                network = self.on_torch(variant, self.runtime, self.subject, technique, self.network, percent)
                if isinstance(network, str):  # the table's row already says why
                    return
                quality = self.quality(self.on_torch(predictions, network, self.inputs))
            except Exception as error:
                log.error("optimisation lab: %s at %d%% on %s failed", technique, percent, self.model_name,
                          exc_info=error)
                return
            finally:
                network = None
                free_memory()
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
