"""The object detection tab: its layout and wiring (engines/object_detection.py does the work). A photo is
detected at once; Live boxes the webcam's frames as they come."""
from __future__ import annotations

import base64
import html
import io

import gradio as gr

from demos.common import model_picker
from demos.endpoints import message_area, page_handler, serve
from demos.i18n import ui_text
from demos.live import checked, live_options, live_streams
from engines.live_speech import LIVE_LIMIT_S
from engines.media import MAX_IMAGE_PIXELS
from engines.object_detection import (
    DEFAULT_MAX_BOXES,
    DEFAULT_THRESHOLD,
    ENDPOINTS,
    EXAMPLES,
    LIVE_SIDE,
    MAX_SIDE,
    TASK,
    detect_frame,
)
from engines.runtime import ModelRuntime
from models.detection import MAX_DETECTIONS, SCORE_FLOOR

RUN_BUTTON = "detection_run"  # the catalog key of the button that runs it
RESULT = "#object-detection-output tbody td"  # where its result shows (a CSS selector): a row of boxes
TABLE_HEADERS = ["object", "score", "x0", "y0", "x1", "y1"]
FRAME_EVERY_S = 0.1  # the page sends the camera's newest frame this often, once the last one is answered


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("detection_intro", megapixels=MAX_IMAGE_PIXELS // 1_000_000,
                        megabytes=runtime.settings.max_upload_mb, max_side=MAX_SIDE))
    with gr.Row():
        with gr.Column():
            with gr.Tabs():
                with gr.Tab(ui_text("detection_mode_photo")) as photo_mode:
                    image = gr.Image(label=ui_text("detection_photo"), type="filepath",
                                     sources=["upload", "clipboard", "webcam"], height=320)
                    run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
                with gr.Tab(ui_text("detection_mode_live"), elem_id="detection-live-mode") as live_mode:
                    gr.Markdown(ui_text("detection_live_intro", side=LIVE_SIDE, minutes=LIVE_LIMIT_S // 60))
                    camera = gr.Image(label=ui_text("detection_live_camera"), sources=["webcam"], streaming=True,
                                      type="filepath", height=320, elem_id="detection-live-camera")
            model, custom_model = model_picker(runtime, TASK)
            with gr.Row():
                threshold = gr.Slider(SCORE_FLOOR, 1.0, value=DEFAULT_THRESHOLD, step=0.05, min_width=220,
                                      label=ui_text("detection_threshold"))  # side by side, stacked on a phone
                max_boxes = gr.Slider(1, MAX_DETECTIONS, value=DEFAULT_MAX_BOXES, step=1, min_width=220,
                                      label=ui_text("detection_max_boxes"))
        with gr.Column():
            boxed = gr.Image(label=ui_text("detection_picture"), type="pil", format="jpeg", interactive=False)
            live_boxed = gr.HTML("", elem_id="detection-live-output", elem_classes=["live-frame"], visible=False)
            table = gr.Dataframe(headers=TABLE_HEADERS, label=ui_text("detection_table"), interactive=False,
                                 elem_id="object-detection-output")
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[image], label=ui_text("examples_label"))

    serve(ENDPOINTS[0], runtime, run.click, [image, model, custom_model, threshold, max_boxes], [boxed, table],
          message)
    for mode, shows_live in ((photo_mode, False), (live_mode, True)):  # one picture: the photo's or the camera's
        mode.select(lambda live=shows_live: (gr.Image(visible=not live), gr.HTML(visible=live)), None,
                    [boxed, live_boxed], queue=False, api_visibility="private")
    live = gr.State(None)
    camera.stream(page_handler(live_frame_handler(runtime), 3), [camera, live, model, custom_model, threshold,
                                                                 max_boxes], [live_boxed, table, live, message],
                  **live_options("live-detection", FRAME_EVERY_S))


def live_frame_handler(runtime: ModelRuntime):
    streams = live_streams(runtime)

    def live_frame(frame, live, model, custom_model, threshold, max_boxes, request: gr.Request = None):
        """A webcam frame: the picture with its boxes, and the table of them."""
        stream = streams.chunk(live, request)
        model, custom_model, threshold, max_boxes = checked(ENDPOINTS[0], model=model, custom_model=custom_model,
                                                            threshold=threshold, max_boxes=max_boxes)
        picture, rows = detect_frame(runtime, frame, model, custom_model, threshold, max_boxes)
        return inline_picture(picture, ", ".join(row[0] for row in rows)), rows, stream

    return live_frame


def inline_picture(picture, description: str) -> str:
    """The picture in the page itself (a JPEG data URL): a frame a tenth of a second old is neither written to
    the server's disk nor fetched again."""
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/jpeg;base64,{data}" alt="{html.escape(description)}" '
            'style="max-width:100%; max-height:480px">')
