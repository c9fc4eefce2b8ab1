"""The sentiment tab: its layout and wiring (engines/sentiment.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import model_picker
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.runtime import ModelRuntime
from engines.sentiment import ENDPOINTS, EXAMPLES, MAX_CHARS, MAX_LINE_TOKENS, MAX_LINES, TASK

RUN_BUTTON = "sentiment_run"  # the catalog key of the button that runs it
RESULT = "#sentiment-output"  # where its result shows (a CSS selector)
TABLE_HEADERS = ["text", "sentiment", "score"]


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("sentiment_intro", max_chars=MAX_CHARS, max_lines=MAX_LINES, max_tokens=MAX_LINE_TOKENS))
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label=ui_text("sentiment_text"), lines=6, placeholder=ui_text("sentiment_text_hint"))
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            overall = gr.Label(label=ui_text("sentiment_overall"), elem_id="sentiment-output")
            table = gr.Dataframe(headers=TABLE_HEADERS, label=ui_text("sentiment_lines"), interactive=False,
                                 wrap=True, column_widths=["60%", "25%", "15%"])
            message = message_area()
    gr.Examples(examples=[[example] for example in EXAMPLES], inputs=[text], label=ui_text("examples_label"))

    serve(ENDPOINTS[0], runtime, run.click, [text, model, custom_model], [overall, table], message)
