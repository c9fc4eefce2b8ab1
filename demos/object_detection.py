"""Object detection: the COCO objects in a photo, boxed and labelled, with their scores."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
from PIL import Image, ImageDraw, ImageFont

from demos.common import model_picker
from demos.endpoints import BATCHED, Endpoint, message_area, serve
from demos.gan import png_bytes
from demos.i18n import ui_text
from demos.media import MAX_IMAGE_PIXELS, client_file, open_image, upload_path
from demos.params import PICKED_MODEL, TYPED_MODEL, Real, Upload, Whole
from models.detection import MAX_DETECTIONS, SCORE_FLOOR, Detection
from models.runtime import ModelRuntime
from tasks import task

TASK = "object_detection"
RUN_BUTTON = "detection_run"  # the catalog key of the button that runs it
RESULT = "#object-detection-output tbody td"  # where its result shows (a CSS selector): a row of boxes
EXAMPLES = [str(path) for path in task(TASK).example_files()]
TABLE_HEADERS = ["object", "score", "x0", "y0", "x1", "y1"]
# The picture is reduced to this long side before detection: every detector here reads at most 1,333 pixels,
# and the answer's picture (with its boxes drawn) stays a few hundred kilobytes.
MAX_SIDE = 1333
DEFAULT_THRESHOLD, DEFAULT_MAX_BOXES = 0.5, 20
# One colour per class, picked by the label's letters: the same class has the same colour in every picture.
_PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#800000",
            "#469990", "#000075", "#808000"]


def _colour(label: str) -> str:
    return _PALETTE[sum(label.encode()) % len(_PALETTE)]


def draw_boxes(picture: Image.Image, detections: list[Detection]) -> Image.Image:
    """The picture with each detection's box and "label score" drawn on it."""
    drawn = picture.copy()
    draw = ImageDraw.Draw(drawn)
    width = max(2, round(max(picture.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(picture.size) / 45)))
    caption_height = font.getbbox("Ag0.9")[3] + 2 * width  # one line of any caption
    for detection in reversed(detections):  # the likeliest drawn last, on top
        colour = _colour(detection.label)
        x0, y0, x1, y1 = detection.box
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        caption = f"{detection.label} {detection.score:.2f}"
        top = y0 - caption_height if y0 >= caption_height else y0  # above the box, or inside it at the top edge
        draw.rectangle((x0, top, x0 + draw.textlength(caption, font=font) + 2 * width, top + caption_height),
                       fill=colour)
        draw.text((x0 + width, top + width), caption, fill="white", font=font)
    return drawn


def detect(runtime: ModelRuntime, image, model=None, custom_model=None, threshold=DEFAULT_THRESHOLD,
           max_boxes=DEFAULT_MAX_BOXES, progress=None) -> tuple[Image.Image, list[list]]:
    """The picture with its boxes drawn, and one table row per object. Requests waiting together share one
    forward pass; each keeps the boxes that reach its own threshold."""
    image = upload_path(image)  # no photo is refused before any load
    spec = runtime.spec(TASK, model, custom_model)
    backend = runtime.remote(TASK)
    if backend is not None:
        # Decoded in full (the engine's detector, which a large JPEG's reduced decoding depends on, is not known
        # here), reduced as for a detector here, and sent losslessly: the engine detects on this very picture.
        picture = open_image(image)
        picture.thumbnail((MAX_SIDE, MAX_SIDE))
        sent = png_bytes(picture)
        found = backend.call(lambda client: detections_of(client.object_detection(sent, threshold=threshold)),
                             progress)
        return shown(picture, found, threshold, max_boxes)
    return runtime.remembered(spec, ("detect", image, threshold, max_boxes),
                              lambda: shown(*detections_here(runtime, spec, image, progress), threshold, max_boxes))


def detections_here(runtime: ModelRuntime, spec, image, progress=None) -> tuple[Image.Image, list[Detection]]:
    """The picture as the detector read it (at most MAX_SIDE) and its detections, likeliest first, from the model in
    this process (with the requests that wait with it)."""
    detector = runtime.load(spec, progress)
    picture = open_image(image, decode_at_least=detector.input_side)
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    return picture, runtime.run_batched(spec, picture, detector.detect)


def detections_of(answer) -> list[Detection]:
    """The contract's [{label, score, box: {xmin, ymin, xmax, ymax}}] as detections, in the engine's order."""
    return [Detection(str(item.label), float(item.score),
                      (int(item.box.xmin), int(item.box.ymin), int(item.box.xmax), int(item.box.ymax)))
            for item in answer]


def shown(picture: Image.Image, found: list[Detection], threshold: float, max_boxes: int):
    """The picture with the boxes that reach the threshold drawn (at most max_boxes), and their table rows."""
    kept = [d for d in found if d.score >= threshold][:max_boxes]
    return draw_boxes(picture, kept), [[d.label, d.score, *d.box] for d in kept]


def detect_objects(runtime: ModelRuntime, image: dict, model: str | None = None, custom_model: str | None = None,
                   threshold: float = DEFAULT_THRESHOLD, max_boxes: int = DEFAULT_MAX_BOXES, progress=None):
    """Find the objects of the 80 COCO classes (people, vehicles, animals, furniture...) in a photo; returns the
    photo with labelled boxes and a table of them (label, score, box corners in the returned photo's pixels).

    Args:
        image: the photo (PNG, JPEG, WebP...; at most 40 megapixels); it is reduced to 1,333 pixels on its long side.
        model: a listed model, e.g. torchvision:ssdlite320_mobilenet_v3_large:COCO_V1 or PekingU/rtdetr_r18vd.
        custom_model: optional Hugging Face id of another object-detection model.
        threshold: the lowest score a box is shown with, from 0.05 to 1.
        max_boxes: at most this many boxes, the likeliest first, from 1 to 100.
    """
    return detect(runtime, client_file(image), model, custom_model, threshold, max_boxes, progress)


ENDPOINTS = (Endpoint("detect_objects", detect_objects, TASK,
                      {"image": Upload("param_image", required=True), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL,
                       "threshold": Real("param_score_threshold", SCORE_FLOOR, 1.0),
                       "max_boxes": Whole("param_max_boxes", 1, MAX_DETECTIONS)}, run=BATCHED,
                      sample=lambda model: (Path(EXAMPLES[0]), model, "", DEFAULT_THRESHOLD, DEFAULT_MAX_BOXES)),)


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
