"""The image classification tab: its layout and wiring (engines/image_classification.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import model_picker
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.image_classification import ENDPOINTS, EXAMPLES, TASK, TOP_K
from engines.media import MAX_IMAGE_PIXELS
from engines.runtime import ModelRuntime

RUN_BUTTON = "classification_run"  # the catalog key of the button that runs it
RESULT = "#image-classification-output"  # where its result shows (a CSS selector)


def build(runtime: ModelRuntime) -> None:
    megapixels, megabytes = MAX_IMAGE_PIXELS // 1_000_000, runtime.settings.max_upload_mb
    gr.Markdown(ui_text("classification_intro", megapixels=megapixels, megabytes=megabytes))
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=ui_text("classification_photo"), type="filepath",
                             sources=["upload", "clipboard", "webcam"], height=320)
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            labels = gr.Label(label=ui_text("classification_top5"), num_top_classes=TOP_K,
                              elem_id="image-classification-output")
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[image], label=ui_text("examples_label"))

    serve(ENDPOINTS[0], runtime, run.click, [image, model, custom_model], [labels], message)
