"""pix2pix: a U-Net turns a line drawing (or one kind of photo) into a picture."""
from __future__ import annotations

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos.common import model_picker, refuse
from demos.digits import pad_helper, sends_the_shown_example
from demos.endpoints import Endpoint, message_area, serve
from demos.gan import generate, loaded, png_bytes
from demos.i18n import ui_text
from demos.media import MAX_IMAGE_PIXELS, drawing_file, open_image
from demos.params import PICKED_MODEL, TYPED_MODEL, Upload
from models.gan_networks import Pix2PixUNet, to_images
from models.runtime import ModelRuntime
from tasks import task

TASK = "pix2pix"
RUN_BUTTON = "pix2pix_run"  # the catalog key of the button that runs it
RESULT = "#pix2pix-output"  # where its result shows (a CSS selector)
SKETCHES = [str(path) for path in task(TASK).example_files()]


def picture_from(drawing) -> Image.Image:
    """The picture of a drawing or upload (transparent parts white)."""
    if not drawing:
        raise refuse("refuse_nothing_drawn")
    picture = open_image(drawing)
    pixels = np.asarray(picture.convert("L"))
    if int(pixels.max()) - int(pixels.min()) < 16:
        raise refuse("refuse_empty_drawing")
    return picture


def unet_picture(picture: Image.Image) -> Image.Image:
    """The picture as the U-Net reads it: 256x256 bicubic, RGB."""
    side = Pix2PixUNet.SIDE
    return picture.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)


def to_unet_input(picture: Image.Image) -> torch.Tensor:
    """As the huggan pix2pix checkpoints were trained: 256x256 bicubic, RGB in [-1, 1], shape (1, 3, 256, 256)."""
    pixels = np.asarray(unet_picture(picture), dtype=np.float32)
    return torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0) / 127.5 - 1


def translate_image(runtime: ModelRuntime, value, model=None, custom_model=None, progress=None) -> Image.Image:
    """The pix2pix U-Net's picture for a drawing or photo (256x256)."""
    picture = unet_picture(picture_from(value))
    spec = runtime.spec(TASK, model, custom_model)
    backend = runtime.remote(TASK)
    if backend is not None:  # sent as the U-Net reads it (a PNG, lossless): small, and read there as here
        sent = png_bytes(picture)
        return backend.call(lambda client: loaded(client.image_to_image(sent)), progress)
    return pix2pix_here(runtime, spec, picture, progress)


def pix2pix_here(runtime: ModelRuntime, spec, picture: Image.Image, progress=None) -> Image.Image:
    """The U-Net's picture for a picture, from the model in this process."""
    generator = runtime.load(spec, progress)
    return to_images(generate(generator, to_unet_input(picture)))[0]


def pix2pix(runtime: ModelRuntime, drawing: dict, model: str | None = None, custom_model: str | None = None,
            progress=None) -> Image.Image:
    """Turn a line drawing (black on white) or a photo into a picture with a pix2pix U-Net (256x256).

    Args:
        drawing: the sketchpad's value ({"background", "layers", "composite"}); its composite is used.
        model: a listed pix2pix model, e.g. huggan/pix2pix-edge2shoes or assets:pix2pix-scenes (works offline).
        custom_model: optional Hugging Face id of another pix2pix U-Net generator (safetensors).
    """
    return translate_image(runtime, drawing_file(drawing), model, custom_model, progress)


ENDPOINTS = (Endpoint("pix2pix", pix2pix, TASK,
                      {"drawing": Upload("param_drawing"), "model": PICKED_MODEL, "custom_model": TYPED_MODEL},
                      track_tqdm=False),)


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
