"""The workbench around the tabs: compare (one tab's request through two models, side by side), send to (one tab's
answer handed to another), and keep (this visitor's last results: reopened, run again, downloaded, linked).

build_app opens a Workbench while it builds the tabs; every page event a tab serves (demos/endpoints.serve) is
told to it, so that each tab gets these without a line of its own. The work itself is the engines' (engines/
compare.py, chain.py, outcome.py); here is only the page.

Kept results live in the visitor's session (a gr.State: in the server's memory, dropped when the page is closed)
and are written to disk only as the downloads the History tab offers for the results looked at. A link carries
the input and settings in its query (text, choices, numbers; never a file or a model id to load), so that nothing
of one visitor is stored for another: Gradio's own deep links store the event's values on the server for anyone
holding the link.
"""
from __future__ import annotations

import contextlib
import csv
import inspect
import io
import json
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import gradio as gr

from demos.endpoints import WORKBENCH, message_area, on_device, page_handler, serve, user_errors
from demos.i18n import ui_text
from engines.compare import FACTS_HEADERS, as_outputs, comparable, compared_first, twin, whole
from engines.endpoint import Endpoint
from engines.media import upload_folder
from engines.outcome import Outcome
from engines.params import Name, OneOf, Real, Upload, Whole
from engines.runtime import ModelRuntime
from messages import current_language, say

MAX_KEPT = 50
KEPT_PICTURE_SIDE = 640  # a kept picture is reduced to this long side: 50 of them stay a few MB per visitor
MAX_LINK_CHARS = 2_000  # a longer text is left out of the link (browsers and proxies cut long addresses)
HISTORY_HEADERS = ["#", "time", "task", "model", "input", "answer", "seconds"]
# A tab's answer -> the tabs it can be sent to (engines/chain.py's NEXT, as the page offers it).
SENDS = {"transcribe": ("translate", "ner", "classify_sentiment"), "translate": ("ner", "classify_sentiment")}
SEND_BUTTONS = {"translate": "send_to_translation", "ner": "send_to_ner", "classify_sentiment": "send_to_sentiment"}
DOWNLOADS = ("history_download_json", "history_download_csv", "history_download_png")
CHAIN_TAB = "chain"
TYPED_IN = ("custom_model", "second_custom_model")  # a link never fills in a model id to load
MODEL_INPUTS = ("model", "second_model", *TYPED_IN)  # (the history shows the models in a column of their own)


@dataclass(frozen=True)
class Kept:
    number: int
    when: str
    api_name: str
    task: str
    model: str
    inputs: dict  # the endpoint's input -> the value the page sent (a file: the visitor's upload)
    outcome: Outcome
    seconds: float
    cached: bool  # its answer came from the result cache
    folder: str  # where the session's downloads are written (one random name per session)

    def input_text(self) -> str:
        """What it was asked, in one line: its text, or its file's name, and its settings."""
        parts = []
        for name, value in self.inputs.items():
            if name in MODEL_INPUTS or value in (None, ""):
                continue
            if isinstance(value, dict):
                value = Path(str(value.get("orig_name") or file_path(value) or "")).name
            text = str(value).replace("\n", " ")
            parts.append(text if len(text) <= 60 else text[:59] + "…")
        return " · ".join(parts)

    def row(self) -> list:
        answer = self.outcome.text if len(self.outcome.text) <= 80 else self.outcome.text[:79] + "…"
        return [self.number, self.when, self.task, self.model, self.input_text(), answer, self.seconds]

    def as_json(self) -> dict:
        return {"number": self.number, "time": self.when, "endpoint": self.api_name, "task": self.task,
                "model": self.model, "inputs": {name: plain(value) for name, value in self.inputs.items()},
                "seconds": self.seconds, "cached": self.cached, "answer": self.outcome.as_json()}


def file_path(value) -> str | None:
    """A page file value's path (a Sketchpad's drawing: its composite)."""
    if isinstance(value, dict):
        value = value.get("composite") if "composite" in value else value.get("path")
        return file_path(value) if isinstance(value, dict) else value
    return value


def plain(value):
    """An input as a download shows it: a file by its name only (its path is the server's)."""
    if isinstance(value, dict):
        return Path(str(value.get("orig_name") or file_path(value) or "")).name
    return value


def smaller(picture):
    if picture is None:
        return None
    picture = picture.copy()
    picture.thumbnail((KEPT_PICTURE_SIDE, KEPT_PICTURE_SIDE))
    return picture


@dataclass
class Served:
    endpoint: Endpoint
    inputs: list
    outputs: list
    tab: str
    handler: object  # the bound handler (demos/endpoints.bound)


@dataclass
class Workbench:
    runtime: ModelRuntime
    tabs: gr.Tabs | None = None  # the page's tabs, once built
    history: gr.State = field(default_factory=lambda: gr.State([]))
    served: dict[str, Served] = field(default_factory=dict)
    tab: str = ""  # the tab being built
    _sends: list = field(default_factory=list)  # (button, source component, target api_name)

    def open(self):
        return WORKBENCH.set(self)

    @staticmethod
    def close(token):
        WORKBENCH.reset(token)

    # What serve() tells it.

    def page_event(self, endpoint: Endpoint, handler, triggers, inputs: list, outputs: list, message, options):
        """The page's event of a tab's endpoint, its answers kept; and the tab's compare and send-to."""
        self.served[endpoint.api_name] = Served(endpoint, inputs, outputs, self.tab, handler)
        event = gr.on(triggers, page_handler(self.keeping(endpoint, handler), len(outputs) + 1),
                      [*inputs, self.history], [*outputs, self.history, message], api_visibility="private",
                      **options)
        if endpoint.api_name in SENDS:
            self.offer_sends(endpoint, outputs[0])
        if endpoint.task == "object_detection":
            self.offer_chain_of_boxes(inputs[0], outputs[-1])
        self.offer_compare(endpoint, inputs, outputs)
        return event

    def keeping(self, endpoint: Endpoint, handler):
        """The handler, its answer kept in the visitor's history (one more input and output)."""
        signature = inspect.signature(handler)
        *parameters, progress = signature.parameters.values()
        with_history = signature.replace(parameters=[
            *parameters, inspect.Parameter("history", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
            progress])
        runtime, names = self.runtime, list(endpoint.params)
        if inspect.isgeneratorfunction(handler):
            return self._keeping_a_stream(endpoint, handler, with_history)

        def kept(*args, **kwargs):
            call = with_history.bind(*args, **kwargs)
            history = call.arguments.pop("history", None) or []
            started = time.perf_counter()
            with runtime.noting() as noted:
                answer = handler(*call.args, **call.kwargs)
            inputs = dict(zip(names, call.args))
            # (a comparison's two models: "A / B")
            model = " / ".join(dict.fromkeys(spec.name for spec in noted.models)) or str(inputs.get("model") or "")
            return (*as_outputs(answer),
                    remembered(history, endpoint, model, inputs, answer, time.perf_counter() - started, noted.cached))

        kept.__signature__ = with_history
        kept.__name__ = handler.__name__
        return kept

    def _keeping_a_stream(self, endpoint: Endpoint, handler, with_history):
        """A streamed answer kept once whole. Each of its parts runs in a context of its own (Gradio's), so its
        model is the one its inputs name, not one noted across the parts."""
        runtime, names = self.runtime, list(endpoint.params)

        def kept(*args, **kwargs):
            call = with_history.bind(*args, **kwargs)
            history = call.arguments.pop("history", None) or []
            inputs = dict(zip(names, call.args))
            started, answer = time.perf_counter(), None
            with contextlib.closing(handler(*call.args, **call.kwargs)) as parts:
                for answer in parts:
                    yield *as_outputs(answer), gr.skip()
            if answer is not None:
                model = runtime.spec(endpoint.task, inputs.get("model"), inputs.get("custom_model")).name
                yield *[gr.skip()] * len(as_outputs(answer)), remembered(
                    history, endpoint, model, inputs, answer, time.perf_counter() - started)

        kept.__signature__ = with_history
        kept.__name__ = handler.__name__
        return kept

    # Compare.

    def offer_compare(self, endpoint: Endpoint, inputs: list, outputs: list):
        """Here, where the task's first comparable endpoint is served (and its tab offers a second model): the
        same inputs through a second model, both answers side by side, their time and memory, and how far they
        agree. `outputs`: the endpoint's, copied for each side."""
        if not (comparable(endpoint) and twin(endpoint) in compared_first(_task_endpoints()) and (
                len(self.runtime.choices(endpoint.task)) > 1 or self.runtime.offers_custom_ids(endpoint.task))):
            return
        compare = twin(endpoint)
        names = list(endpoint.params)
        with gr.Accordion(ui_text("compare_title"), open=False, elem_classes=["compare"]):
            gr.Markdown(ui_text("compare_intro"))
            with gr.Row(equal_height=True):
                picker = inputs[names.index("model")]
                choices = [value for _, value in picker.constructor_args.get("choices") or []]
                second = [copy_of(picker, value=choices[1] if len(choices) > 1 else None,
                                  label=ui_text("compare_second_model"))]
                if "custom_model" in names:
                    second.append(copy_of(inputs[names.index("custom_model")]))
                run = gr.Button(ui_text("compare_run"), variant="primary", scale=0, min_width=160)
            with gr.Row():
                sides = []
                for label in ("compare_first", "compare_second"):
                    with gr.Column(min_width=300):
                        gr.Markdown(ui_text(label))
                        sides.append([copy_of(output) for output in outputs])
            facts = gr.Dataframe(headers=FACTS_HEADERS, label=ui_text("compare_facts"), interactive=False)
            agreement = gr.Markdown("", elem_classes=["compare-agreement"])
            message = message_area()
        serve(compare, self.runtime, run.click, [*inputs, *second], [*sides[0], *sides[1], facts, agreement],
              message)

    # Send to.

    def offer_sends(self, endpoint: Endpoint, answer):
        """Below the answer, a button for each tab it can be sent to."""
        with answer.parent, gr.Row():
            for target in SENDS[endpoint.api_name]:
                button = gr.Button(ui_text(SEND_BUTTONS[target]), size="sm", elem_classes=["send-to"])
                self._sends.append((button, answer, target))

    def offer_chain_of_boxes(self, image, boxes):
        """Below the boxes, a button that sends the photo to the chain that classifies each box."""
        with boxes.parent:
            button = gr.Button(ui_text("send_boxes_to_chain"), size="sm", elem_classes=["send-to"])
        self._sends.append((button, image, CHAIN_TAB))

    def page_inputs(self) -> list:
        """Every input of every tab's served endpoints, each once."""
        inputs = [component for served in self.served.values() for component in served.inputs]
        return list({id(component): component for component in inputs}.values())

    def finish(self, app: gr.Blocks, chain: dict):
        """Wires what needs every tab built: the send-to buttons, and a link's input and settings on load."""
        inputs = self.page_inputs()
        app.load(self.link_opening(inputs), None, [self.tabs, *inputs], api_visibility="private", queue=False)
        for button, source, target in self._sends:
            if target == CHAIN_TAB:
                button.click(lambda image: (boxes_chain(), file_path(image), gr.Tabs(selected=CHAIN_TAB)),
                             [source], [chain["steps"], chain["image"], self.tabs], preprocess=False,
                             api_visibility="private", queue=False)
            else:
                served = self.served[target]
                button.click(lambda text, tab=served.tab: (text, gr.Tabs(selected=tab)), [source],
                             [served.inputs[0], self.tabs], api_visibility="private", queue=False)

    # Keep.

    def build_history(self, history_tab: gr.Tab):
        gr.Markdown(ui_text("history_intro", count=MAX_KEPT))
        table = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, wrap=True, elem_id="history-table",
                             label=ui_text("history_table"))
        chosen = gr.State(None)
        with gr.Row():
            reopen = gr.Button(ui_text("history_reopen"), interactive=False)
            again = gr.Button(ui_text("history_run_again"), interactive=False)
            everything = gr.DownloadButton(ui_text("history_download_all"), visible=False)
        with gr.Row():
            with gr.Column():
                detail = gr.Markdown("", elem_id="history-detail")
                link = gr.Markdown("", elem_id="history-link")
                downloads = [gr.DownloadButton(ui_text(key), visible=False, size="sm") for key in DOWNLOADS]
            with gr.Column():
                picture = gr.Image(label=ui_text("history_picture"), type="pil", interactive=False, visible=False)
                rows = gr.Dataframe(label=ui_text("history_rows"), interactive=False, visible=False, wrap=True)
            message = message_area()
        shown = [chosen, detail, link, picture, rows, *downloads, reopen, again]

        history_tab.select(user_errors(listed), [self.history], [table, everything, *shown],
                           api_visibility="private", queue=False)
        table.select(user_errors(picked), [self.history], shown, api_visibility="private", queue=False)
        inputs = self.page_inputs()
        reopen.click(self.reopened(inputs), [self.history, chosen], [self.tabs, *inputs], api_visibility="private",
                     queue=False)
        again.click(page_handler(self.run_again, 3 + len(shown)), [self.history, chosen],
                    [self.history, table, everything, *shown, message], api_visibility="private",
                    **on_device(self.runtime))

    def reopened(self, components: list):
        def reopen(history, number):
            entry = find(history, number)
            if entry is None:
                return gr.skip(), *[gr.skip()] * len(components)
            served = self.served[entry.api_name]
            values = {id(c): value_for_page(entry.inputs[name]) for c, name in zip(served.inputs, entry.inputs)}
            return gr.Tabs(selected=served.tab), *[values.get(id(c), gr.skip()) for c in components]

        return reopen

    def run_again(self, history, number):
        """The kept request run again as it was (through its endpoint's checks, cache and limits), kept anew."""
        entry = find(history, number)
        if entry is None:
            return gr.skip(), *listed(history)
        served = self.served[entry.api_name]
        history = whole(self.keeping(served.endpoint, served.handler)(*entry.inputs.values(), history,
                                                                      lambda *_, **__: None))[-1]
        return history, *listed(history)

    def link_opening(self, components: list):
        """On load, a link's query put back into its tab: each value checked by the endpoint's own params (what
        does not pass is left out), files never (the link carries none)."""
        def opened(request: gr.Request):
            query = dict(request.query_params) if request is not None else {}
            served = self.served.get(query.get("run", ""))
            if served is None:
                return gr.skip(), *[gr.skip()] * len(components)
            values = {}
            for component, name in zip(served.inputs, served.endpoint.params):
                if name in query:
                    value = from_link(self.runtime, served.endpoint, name, query[name])
                    if value is not None:
                        values[id(component)] = value
            return gr.Tabs(selected=served.tab), *[values.get(id(c), gr.skip()) for c in components]

        return opened


def _task_endpoints() -> tuple[Endpoint, ...]:
    import demos  # (demos imports the tabs, which import this)

    return demos.TASK_ENDPOINTS


def copy_of(component, **changes):
    """A component like `component` (its constructor's arguments), without its id, with `changes`."""
    arguments = {**component.constructor_args, "elem_id": None, "render": True, **changes}
    return type(component)(**arguments)


def boxes_chain() -> str:
    from engines.chain import ARROW

    return ARROW.join(("object_detection", "image_classification"))


def remembered(history: list, endpoint: Endpoint, model: str, inputs: dict, answer, seconds: float,
               cached: bool = False) -> list:
    outcome = endpoint.reads(answer)
    outcome = Outcome(outcome.text, outcome.table, smaller(outcome.picture))
    number, folder = (history[-1].number + 1, history[-1].folder) if history else (1, f"kept-{uuid.uuid4().hex}")
    entry = Kept(number, datetime.now().strftime("%H:%M:%S"), endpoint.api_name, endpoint.task, model, inputs,
                 outcome, round(seconds, 3), cached, folder)
    return [*history, entry][-MAX_KEPT:]


def find(history, number) -> Kept | None:
    return next((entry for entry in history or [] if entry.number == number), None)


def listed(history):
    """The history's table (newest first), its ZIP, and the newest entry shown."""
    history = history or []
    rows = [entry.row() for entry in reversed(history)]
    everything = gr.DownloadButton(value=zip_of(history), visible=True) if history else gr.DownloadButton(visible=False)
    return rows, everything, *chosen_row(history, None)


def picked(history, selection: gr.SelectData):
    return chosen_row(history, selection.index[0] if selection.index else 0)


def chosen_row(history, index: int | None):
    """The entry at `index` in the table (newest first; None: the newest): its details and downloads."""
    history = history or []
    index = index or 0
    entry = history[-1 - index] if 0 <= index < len(history) else None
    if entry is None:
        hidden = gr.DownloadButton(visible=False)
        return (None, "", "", gr.Image(visible=False), gr.Dataframe(visible=False), hidden, hidden, hidden,
                gr.Button(interactive=False), gr.Button(interactive=False))
    outcome, stem = entry.outcome, f"result-{entry.number}-{entry.api_name}"
    json_path = written(entry, f"{stem}.json", lambda path: path.write_text(
        json.dumps(entry.as_json(), ensure_ascii=False, indent=2), encoding="utf-8"))
    csv_button = png_button = gr.DownloadButton(visible=False)
    if outcome.table is not None:
        csv_path = written(entry, f"{stem}.csv", lambda path: path.write_text(csv_text(outcome), encoding="utf-8"))
        csv_button = gr.DownloadButton(value=csv_path, visible=True)
    if outcome.picture is not None:
        png_button = gr.DownloadButton(value=written(entry, f"{stem}.png", outcome.picture.save), visible=True)
    table = outcome.table
    return (entry.number, detail_text(entry), link_text(entry),
            gr.Image(value=outcome.picture, visible=outcome.picture is not None),
            gr.Dataframe(value=table.rows if table else None, headers=table.headers if table else None,
                         visible=table is not None),
            gr.DownloadButton(value=json_path, visible=True), csv_button, png_button,
            gr.Button(interactive=True), gr.Button(interactive=True))


def detail_text(entry: Kept) -> str:
    settings = ", ".join(f"{name} = {plain(value)}" for name, value in entry.inputs.items()
                         if value not in (None, "") and name not in ("text", "prompt", "message"))
    text = entry.inputs.get("text")
    asked = f"\n\n> {text[:500]}" if isinstance(text, str) else ""
    cached = f" · {say('history_cached', current_language())}" if entry.cached else ""
    return (f"**#{entry.number} · {entry.task} · {entry.model}** · {entry.when} · {entry.seconds} s{cached}\n\n"
            f"`{settings}`{asked}\n\n{entry.outcome.text}")


def link_text(entry: Kept) -> str:
    """A link to its tab with its input and settings (its files left out)."""
    query = {"run": entry.api_name}
    for name, value in entry.inputs.items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != "" and \
                len(str(value)) <= MAX_LINK_CHARS and name not in TYPED_IN:
            query[name] = value
    return f"[{say('history_link', current_language())}](?{urlencode(query)})"


def csv_text(outcome: Outcome) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(outcome.table.headers)
    writer.writerows(outcome.table.rows)
    return buffer.getvalue()


def written(entry: Kept, name: str, write) -> str:
    """The download `name` in the session's folder in Gradio's cache (cleaned hourly), written by `write(path)`
    the first time only: looking at results again writes nothing, so a visitor's files grow with their results."""
    path = upload_folder() / entry.folder / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    return str(path)


def zip_of(history: list) -> str:
    """Every kept result: one JSON of them all, and each one's CSV and PNG (one ZIP per newest result)."""
    return written(history[-1], f"results-{history[-1].number}.zip", lambda path: write_zip(path, history))


def write_zip(path: Path, history: list) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("results.json", json.dumps([entry.as_json() for entry in history], ensure_ascii=False,
                                                    indent=2))
        for entry in history:
            stem = f"result-{entry.number}-{entry.api_name}"
            if entry.outcome.table is not None:
                archive.writestr(f"{stem}.csv", csv_text(entry.outcome))
            if entry.outcome.picture is not None:
                png = io.BytesIO()
                entry.outcome.picture.save(png, format="PNG")
                archive.writestr(f"{stem}.png", png.getvalue())


def value_for_page(value):
    """A kept input as its component takes it back: a file by its path (the visitor's own upload)."""
    if isinstance(value, dict):
        return file_path(value)
    return value


def from_link(runtime: ModelRuntime, endpoint: Endpoint, name: str, text: str):
    """A link's value for the input `name`, checked as a request's would be; None: left out."""
    param = endpoint.params[name]
    if isinstance(param, Upload) or name in TYPED_IN:
        return None
    try:
        value = int(text) if isinstance(param, Whole) else float(text) if isinstance(param, Real) else text
        value = param.check(value)
    except Exception:
        return None
    if isinstance(param, Name) and name == "model" and value not in {s.name for s in runtime.choices(endpoint.task)}:
        return None if endpoint.task != "translation" or value != "opus-mt" else value
    if isinstance(param, OneOf) and value not in param.choices:
        return None
    return value
