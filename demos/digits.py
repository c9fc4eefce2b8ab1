"""Handwritten digits: a digit drawn with the mouse or a finger (or a picture of one) -> which of 0-9 it is."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos.common import model_dropdown, refuse
from demos.endpoints import BATCHED, Endpoint, message_area, serve
from demos.i18n import ui_text
from demos.media import MAX_IMAGE_PIXELS, drawing_file, open_image, upload_path
from demos.params import PICKED_MODEL, Upload
from models.digit_network import BOX, DIGITS, FIELD, ink_of, mnist_field
from models.runtime import ModelRuntime
from tasks import task

TASK = "digits"
RUN_BUTTON = "digits_run"  # the catalog key of the button that runs it
RESULT = "#digits-output"  # where its result shows (a CSS selector)
EXAMPLES = [str(path) for path in task(TASK).example_files()]
PAD_SIDE = 280  # ten times MNIST's field: room to draw, and a stroke of the brush is a pen's width there
# A picture is reduced to this before its ink is read: a digit needs no more, and it bounds the work.
MAX_SIDE = 1024
SHOWN_SIDE = 140  # the field as the page shows it, five times its size


def field_of(upload) -> np.ndarray:
    """The 28x28 field the network reads, made from the picture as MNIST made its digits; refuses a blank one."""
    picture = open_image(upload, decode_at_least=MAX_SIDE // 2)  # a large JPEG is decoded at a fraction
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    field = mnist_field(ink_of(picture))
    if field is None:
        raise refuse("refuse_no_digit")
    return field


def read_digits(network, fields: list[np.ndarray]) -> list[dict[str, float]]:
    """One forward pass over fields -> each one's {digit: probability} for the ten digits."""
    batch = torch.from_numpy(np.stack(fields))[:, None].to(device=network.device, dtype=network.dtype)
    with torch.inference_mode():
        probabilities = network(batch).float().softmax(dim=-1).cpu()
    return [{digit: round(p, 4) for digit, p in zip(DIGITS, row)} for row in probabilities.tolist()]


def field_picture(field: np.ndarray) -> Image.Image:
    return Image.fromarray((field * 255).astype(np.uint8)).resize((SHOWN_SIDE, SHOWN_SIDE), Image.Resampling.NEAREST)


def recognize(runtime: ModelRuntime, upload, model=None, progress=None) -> tuple[dict[str, float], Image.Image]:
    """The ten digits' probabilities and the field the network saw. Requests waiting together share one forward."""
    if upload is None:
        raise refuse("refuse_no_digit")
    spec = runtime.spec(TASK, model)
    backend = runtime.remote(TASK)
    if backend is not None:
        # The field is made here too: a blank drawing is refused before any request, and the page shows the field.
        # The engine gets the picture as sent and makes the same field from it (a PNG of the field would round it).
        field = field_of(upload)
        drawing = upload_path(upload).read_bytes()
        return backend.call(lambda client: digit_scores(client.image_classification(drawing, top_k=len(DIGITS))),
                            progress), field_picture(field)

    def answer():
        field = field_of(upload)
        return digits_here(runtime, spec, field, progress), field_picture(field)

    return runtime.remembered(spec, ("recognize", upload_path(upload)), answer)


def digits_here(runtime: ModelRuntime, spec, field: np.ndarray, progress=None) -> dict[str, float]:
    """The ten digits' probabilities for a field, from the network in this process (with the requests that wait
    with it)."""
    network = runtime.load(spec, progress)
    return runtime.run_batched(spec, field, lambda fields: read_digits(network, fields))


def digit_scores(answer) -> dict[str, float]:
    """The contract's [{label, score}] as {digit: probability}, in the digits' order."""
    scores = {str(item.label): float(item.score) for item in answer}
    return {digit: scores[digit] for digit in DIGITS}


def recognize_digit(runtime: ModelRuntime, image: dict, model: str | None = None, progress=None):
    """Read one handwritten digit (0-9); returns the ten digits' probabilities and the 28x28 field the network
    saw.

    Args:
        image: the drawing as the Sketchpad sends it: {"background": null, "layers": [], "composite": file}; the
            file may be any picture of one digit, dark on light or light on dark (at most 40 megapixels).
        model: a listed model, e.g. assets:digits-cnn.
    """
    return recognize(runtime, drawing_file(image), model, progress)


ENDPOINTS = (Endpoint("recognize_digit", recognize_digit, TASK,
                      {"image": Upload("param_drawing"), "model": PICKED_MODEL},
                      run=BATCHED,
                      sample=lambda model: ({"background": None, "layers": [], "composite": Path(EXAMPLES[0])},
                                            model)),)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("digits_intro", field=FIELD, box=BOX, megapixels=MAX_IMAGE_PIXELS // 1_000_000))
    with gr.Row():
        with gr.Column():
            pad = gr.Sketchpad(
                label=ui_text("digits_pad"), canvas_size=(PAD_SIDE, PAD_SIDE), fixed_canvas=True, layers=False,
                transforms=(), sources=("upload",), format="png", elem_id="digits-pad",
                brush=gr.Brush(colors=["#000000"], default_color="#000000", default_size=10, color_mode="fixed"),
            )
            model = model_dropdown(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            digits = gr.Label(label=ui_text("digits_probabilities"), num_top_classes=len(DIGITS),
                              elem_id="digits-output")
            field = gr.Image(label=ui_text("digits_field", field=FIELD), type="pil", format="png",
                             height=SHOWN_SIDE + 60, interactive=False)
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[pad])

    serve(ENDPOINTS[0], runtime, run.click, [pad, model], [digits, field], message)
