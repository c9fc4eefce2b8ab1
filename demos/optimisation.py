"""The optimisation lab: pruning, int8, half precision and distillation applied to copies of a model the hub serves,
and what each does to its size, speed and answers, measured live on this machine."""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import gradio as gr
from gradio.context import LocalContext

import messages
from demos.charts import CSS
from demos.common import default_of
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from demos.lab_run import COLUMNS, NAMES, ORIGINAL, PRUNING, TECHNIQUES, Lab
from demos.lab_subjects import SUBJECT_KEYS, SUBJECTS, subject
from engines.endpoint import STREAM, Endpoint
from engines.params import OneOf, SomeOf, Whole
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from messages import current_language, say
from web.http_guard import client_address

TASK = "optimisation"
RUN_BUTTON = "lab_run"  # the catalog key of the button that runs it
BUDGET_S = 60  # one run's time, from its start to its last answer, its model's load included
SPARSITY_RANGE, REPEATS_RANGE = (10, 90), (1, 20)
# Runs at once, in the lab's own group. More than one, so that a visitor's second request reaches the lab at once,
# to be refused (in a group of one it would wait for the first run, then run); the runs' model work takes turns on
# the torch threads as the tabs' requests do, and each run stops at its own time limit. Past this many, runs wait.
RUNS_AT_ONCE = 4


class OneRunEach:
    """The visitors whose lab run is under way: one run per visitor at a time. Queued behind each other, one
    visitor's runs kept the lab busy for minutes (six runs of three visitors took 453 s)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: set[str] = set()

    @contextlib.contextmanager
    def held(self, visitor: str | None):
        """The visitor's place while the run lasts, refused in plain words while another run of theirs lasts;
        no visitor (a call from Python, not a request) has no limit."""
        if visitor is not None:
            with self._lock:
                if visitor in self._running:
                    raise refuse("refuse_lab_running")
                self._running.add(visitor)
        try:
            yield
        finally:
            if visitor is not None:
                with self._lock:
                    self._running.discard(visitor)


RUNNING = OneRunEach()


def requesting_visitor(runtime: ModelRuntime) -> str | None:
    """Who sent the request being answered, told apart as http_guard tells clients apart (behind our proxy, the
    address it reports); None outside a request. Gradio sets the request for each step of a handler; the
    endpoint's inputs stay the API's."""
    request = LocalContext.request.get(None)
    scope = getattr(getattr(request, "request", None), "scope", None)
    return client_address(scope, runtime.settings.behind_proxy) if scope is not None else None


def measured(runtime: ModelRuntime, model, techniques, sparsity, runs, context=None) -> Iterator[Lab]:
    """A run, step by step (its inputs as PARAMS checked them): the lab after each step, its status saying what
    comes next, then done. Every step stops BUDGET_S after this call, the model's load included."""
    started = time.monotonic()
    lab_subject = subject(model)
    if runtime.precision(lab_subject.task) == "int8":
        raise refuse("refuse_lab_int8_served", task=messages.Term(f"tab_{lab_subject.task}"))
    language = current_language()
    lab = Lab(runtime, lab_subject, sparsity, runs, started, BUDGET_S, context)
    variants = [ORIGINAL, *techniques]
    sweeps = [t for t in techniques if t in PRUNING]
    for step, technique in enumerate(variants, 1):
        lab.status = say("lab_measuring", language, variant=lab.name(technique, language), step=step,
                         steps=len(variants))
        yield lab
        lab.measure(technique, len(variants) - step + 2 + (1 if sweeps else 0), language)  # + timing the original again
    lab.time_original_again(language)
    for step, technique in enumerate(sweeps, 1):
        lab.status = say("lab_sweeping", language, step=step, steps=len(sweeps))
        yield lab
        lab.sweep_pruning(technique)
    lab.status = ending(lab, language)
    yield lab


def ending(lab: Lab, language: str) -> str:
    """The run's last status: its time, or the limit it stopped at and what the charts lack (the table's notes
    say the rest)."""
    if not lab.out_of_time:
        return say("lab_done", language, seconds=time.monotonic() - lab.started)
    not_swept = [say("lab_note_not_swept", language, technique=say(NAMES[technique], language),
                     shares=", ".join(map(str, shares))) for technique, shares in lab.not_swept.items()]
    return " ".join([say("lab_out_of_time", language, budget_s=BUDGET_S), *not_swept])


def measure_optimisations(runtime: ModelRuntime, model: str = "digits", techniques: list[str] | None = None,
                          sparsity: int = 50, runs: int = 5, context=None):
    """Measure what pruning, int8, half precision and distillation do to one of the hub's models, on copies of it:
    parameters, share of zero weights, size on disk and in memory, ms per input at batch 1 and 8, agreement with
    the original (and accuracy, for the digits). Streams the table as each variant is measured.

    Args:
        model: "digits", "image_classification" or "sentiment": the default model of that tab.
        techniques: any of "unstructured" (L1 pruning of weights), "channels" (removing channels), "int8",
            "half", "student" (the digit CNN's distilled student).
        sparsity: the share of weights or channels to prune, in percent, 10 to 90.
        runs: timed runs per latency measurement, 1 to 20.

    Returns a summary, the table, and two charts as SVG in HTML (accuracy or agreement against ms per input at
    batch 8, and against the share pruned). A run stops at its time limit (a minute), and what it did not
    measure says so; a second run of the same visitor is refused while the first lasts.
    """
    language = current_language()
    with RUNNING.held(requesting_visitor(runtime)):
        for lab in measured(runtime, model, techniques, sparsity, runs, context):
            yield lab.outputs(language)


PARAMS = {"model": OneOf("param_subject", SUBJECT_KEYS), "techniques": SomeOf("param_techniques", TECHNIQUES),
          "sparsity": Whole("param_sparsity", *SPARSITY_RANGE), "runs": Whole("param_repeats", *REPEATS_RANGE)}
ENDPOINTS = (Endpoint("measure_optimisations", measure_optimisations, TASK, PARAMS, run=STREAM, own_group=RUNS_AT_ONCE,
                      track_tqdm=False),)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("lab_intro", budget_s=BUDGET_S))
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(choices=[(ui_text(s.name), s.task) for s in SUBJECTS], value=SUBJECTS[0].task,
                                label=ui_text("lab_subject"))
            techniques = gr.CheckboxGroup(choices=[(ui_text(NAMES[t]), t) for t in TECHNIQUES], value=list(TECHNIQUES),
                                          label=ui_text("lab_techniques"), elem_id="lab-techniques")
        with gr.Column(scale=1):
            sparsity = gr.Slider(*SPARSITY_RANGE, value=default_of(ENDPOINTS[0], "sparsity"), step=5,
                                 label=ui_text("lab_sparsity"))
            runs = gr.Slider(*REPEATS_RANGE, value=default_of(ENDPOINTS[0], "runs"), step=1,
                             label=ui_text("lab_repeats"))
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
    summary = gr.Markdown("")
    message = message_area()
    # fixed widths: on a phone the table scrolls inside its box rather than squeezing its headers letter by letter
    table = gr.Dataframe(headers=list(COLUMNS.values()), label=ui_text("lab_table"), interactive=False, wrap=True,
                         column_widths=["210px", "112px", *["96px"] * (len(COLUMNS) - 2)], elem_id="lab-table")
    charts = []
    with gr.Row():
        for label, elem_id in (("lab_quality_vs_latency", "lab-latency-plot"),
                               ("lab_quality_vs_sparsity", "lab-sparsity-plot")):
            with gr.Column(min_width=320):  # on a phone, one under the other
                charts.append(gr.HTML(label=ui_text(label), show_label=True, container=True, css_template=CSS,
                                      elem_id=elem_id))
    serve(ENDPOINTS[0], runtime, run.click, [model, techniques, sparsity, runs],
          [summary, table, *charts], message)
