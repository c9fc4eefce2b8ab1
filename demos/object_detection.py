"""The object detection tab: its layout and wiring (engines/object_detection.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import model_picker
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.media import MAX_IMAGE_PIXELS
from engines.object_detection import DEFAULT_MAX_BOXES, DEFAULT_THRESHOLD, ENDPOINTS, EXAMPLES, MAX_SIDE, TASK
from engines.runtime import ModelRuntime
from models.detection import MAX_DETECTIONS, SCORE_FLOOR

RUN_BUTTON = "detection_run"  # the catalog key of the button that runs it
RESULT = "#object-detection-output tbody td"  # where its result shows (a CSS selector): a row of boxes
TABLE_HEADERS = ["object", "score", "x0", "y0", "x1", "y1"]


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("detection_intro", megapixels=MAX_IMAGE_PIXELS // 1_000_000,
                        megabytes=runtime.settings.max_upload_mb, max_side=MAX_SIDE))
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=ui_text("detection_photo"), type="filepath",
                             sources=["upload", "clipboard", "webcam"], height=320)
            model, custom_model = model_picker(runtime, TASK)
            with gr.Row():
                threshold = gr.Slider(SCORE_FLOOR, 1.0, value=DEFAULT_THRESHOLD, step=0.05, min_width=220,
                                      label=ui_text("detection_threshold"))  # side by side, stacked on a phone
                max_boxes = gr.Slider(1, MAX_DETECTIONS, value=DEFAULT_MAX_BOXES, step=1, min_width=220,
                                      label=ui_text("detection_max_boxes"))
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            boxed = gr.Image(label=ui_text("detection_picture"), type="pil", format="jpeg", interactive=False)
            table = gr.Dataframe(headers=TABLE_HEADERS, label=ui_text("detection_table"), interactive=False,
                                 elem_id="object-detection-output")
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[image], label=ui_text("examples_label"))

    serve(ENDPOINTS[0], runtime, run.click, [image, model, custom_model, threshold, max_boxes], [boxed, table],
          message)
