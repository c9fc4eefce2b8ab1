"""The pix2pix section: its layout and wiring (engines/pix2pix.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import model_picker
from demos.digits import pad_helper, sends_the_shown_example
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.media import MAX_IMAGE_PIXELS
from engines.pix2pix import ENDPOINTS, SKETCHES, TASK
from engines.runtime import ModelRuntime

RUN_BUTTON = "pix2pix_run"  # the catalog key of the button that runs it
RESULT = "#pix2pix-output"  # where its result shows (a CSS selector)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("pix2pix_intro", megapixels=MAX_IMAGE_PIXELS // 1_000_000))
    with gr.Row():
        with gr.Column():
            pad_helper("pix2pix-input", "pix2pix-examples")  # the example read, the brush first, the tool bar
            sketch = gr.Sketchpad(
                label=ui_text("pix2pix_input"), type="filepath",
                sources=("upload", "clipboard"), canvas_size=(512, 512), layers=False, format="png",
                brush=gr.Brush(colors=["#000000"], default_size=3, color_mode="fixed"), height=420,
                elem_id="pix2pix-input",
            )
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            output = gr.Image(label=ui_text("pix2pix_output"), type="pil", format="png", elem_id="pix2pix-output")
            message = message_area()
    gr.Examples(examples=SKETCHES, inputs=[sketch], label=ui_text("examples_label"), elem_id="pix2pix-examples")
    run_event = serve(ENDPOINTS[0], runtime, run.click, [sketch, model, custom_model], [output], message)
    sends_the_shown_example(run_event, "pix2pix-input")
