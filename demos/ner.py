"""The named-entity tab: its layout and wiring (engines/ner.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import model_picker
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.ner import ENDPOINTS, EXAMPLES, MAX_CHARS, TASK
from engines.runtime import ModelRuntime

RUN_BUTTON = "ner_find_entities"  # the catalog key of the button that runs it
RESULT = "#ner-output"  # where its result shows (a CSS selector)
TABLE_HEADERS = ["entity", "type", "score", "start", "end"]


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("ner_intro", max_chars=MAX_CHARS))
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label=ui_text("ner_text"), lines=6, placeholder=ui_text("ner_text_hint"))
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            highlighted = gr.HighlightedText(label=ui_text("ner_entities"), show_legend=True, elem_id="ner-output")
            table = gr.Dataframe(headers=TABLE_HEADERS, label=ui_text("ner_details"), interactive=False)
            message = message_area()
    gr.Examples(examples=[[example] for example in EXAMPLES], inputs=[text], label=ui_text("examples_label"))

    serve(ENDPOINTS[0], runtime, run.click, [text, model, custom_model], [highlighted, table], message)
