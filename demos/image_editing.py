"""Editing a photo by instruction with InstructPix2Pix (diffusers; a GPU recommended)."""
from __future__ import annotations

import json
import time

import gradio as gr
import torch
from PIL import Image

from demos.common import model_picker, refuse
from demos.endpoints import Endpoint, message_area, serve
from demos.gan import loaded, png_bytes, seed_field
from demos.i18n import ui_text
from demos.media import client_file, open_image
from demos.params import PICKED_MODEL, TYPED_MODEL, Real, Text, Upload, Whole
from messages import current_language, say
from models.runtime import ModelRuntime
from tasks import EXAMPLES_DIR, MAX_SEED, task

TASK = "image_editing"
RUN_BUTTON = "editing_run"  # the catalog key of the button that runs it
RESULT = "#image-editing-output"  # where its result shows (a CSS selector)
MAX_STEPS = 100
MAX_INSTRUCTION_CHARS = 500
EDIT_SIDE = 512  # Stable Diffusion 1.5's native resolution: larger inputs are scaled down to it
EXAMPLES = [[str(EXAMPLES_DIR / photo), instruction]
            for photo, instruction in json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]]


def edit_size(width: int, height: int) -> tuple[int, int]:
    """At most EDIT_SIDE on the long side, both sides multiples of 8 (the VAE works on 8x8 blocks)."""
    scale = min(1.0, EDIT_SIDE / max(width, height))
    return max(64, round(width * scale / 8) * 8), max(64, round(height * scale / 8) * 8)


def edit(runtime: ModelRuntime, image, instruction, model=None, custom_model=None, steps=20, image_guidance=1.5,
         text_guidance=7.5, seed=0, progress=None) -> Image.Image:
    """The photo changed as the instruction says (InstructPix2Pix)."""
    picture = prepared(image)
    spec = runtime.spec(TASK, model, custom_model)
    backend = runtime.remote(TASK)
    if backend is not None:  # sent at the size it is edited at (a PNG, lossless): read there as here
        sent = png_bytes(picture)
        return backend.call(lambda client: loaded(client.image_to_image(
            sent, prompt=instruction, num_inference_steps=steps, guidance_scale=text_guidance,
            image_guidance_scale=image_guidance, seed=seed)), progress)
    return edited_here(runtime, spec, picture, instruction, steps, image_guidance, text_guidance, seed, progress)


def prepared(image) -> Image.Image:
    """The photo at the size it is edited at (edit_size)."""
    picture = open_image(image)
    return picture.resize(edit_size(*picture.size), Image.Resampling.LANCZOS)


def edited_here(runtime: ModelRuntime, spec, picture: Image.Image, instruction: str, steps: int, image_guidance: float,
                text_guidance: float, seed: int, progress=None) -> Image.Image:
    """The prepared picture edited by the pipeline in this process, within the request's time."""
    editor = runtime.load(spec, progress)
    timeout = runtime.settings.request_timeout_s
    deadline = time.monotonic() + timeout

    def report_step(pipeline, step, timestep, tensors):
        if step + 1 < steps and time.monotonic() > deadline:  # stops the pipeline: its picture is half made
            raise refuse("refuse_out_of_time_steps", seconds=timeout, done=step + 1, total=steps)
        if progress is not None:
            progress((step + 1) / steps, say("progress_step", current_language(), step=step + 1, steps=steps))
        return tensors

    with torch.inference_mode():
        result = editor(
            instruction, image=picture, num_inference_steps=steps, image_guidance_scale=image_guidance,
            guidance_scale=text_guidance, generator=torch.Generator("cpu").manual_seed(seed),
            callback_on_step_end=report_step,
        )
    return result.images[0]


def edit_image(runtime: ModelRuntime, image: dict, instruction: str, model: str | None = None,
               custom_model: str | None = None, steps: int = 20, image_guidance: float = 1.5,
               text_guidance: float = 7.5, seed: int = 0, progress=None) -> Image.Image:
    """Edit a photo as an instruction says, with InstructPix2Pix (diffusers; slow without a GPU).

    Args:
        image: the photo (at most 40 megapixels; scaled to at most 512 pixels on its long side).
        instruction: what to change, e.g. "make it winter" (at most 500 characters).
        model: a listed model, e.g. timbrooks/instruct-pix2pix.
        custom_model: optional Hugging Face id of another InstructPix2Pix pipeline (safetensors).
        steps: denoising steps, 1 to 100.
        image_guidance: 1 to 5; higher stays closer to the photo.
        text_guidance: 1 to 20; higher follows the instruction more.
        seed: 0 to 2147483647.
    """
    return edit(runtime, client_file(image), instruction, model, custom_model, steps, image_guidance, text_guidance,
                seed, progress)


# The photo first, as the page asks for it first: an empty form hears of the photo.
ENDPOINTS = (Endpoint("edit_image", edit_image, TASK,
                      {"image": Upload("param_image", required=True),
                       "instruction": Text("param_instruction", MAX_INSTRUCTION_CHARS), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL, "steps": Whole("param_step_count", 1, MAX_STEPS),
                       "image_guidance": Real("param_image_guidance", 1.0, 5.0),
                       "text_guidance": Real("param_text_guidance", 1.0, 20.0),
                       "seed": Whole("param_seed", 0, MAX_SEED)},
                      track_tqdm=False),)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("editing_intro", edit_side=EDIT_SIDE, max_instruction_chars=MAX_INSTRUCTION_CHARS,
                        max_steps=MAX_STEPS))
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=ui_text("editing_image"), type="filepath",
                             sources=["upload", "clipboard", "webcam"], height=320)
            instruction = gr.Textbox(label=ui_text("editing_instruction"), placeholder=ui_text("editing_hint"),
                                     max_lines=3)
            model, custom_model = model_picker(runtime, TASK)
            with gr.Accordion(ui_text("editing_settings"), open=False):
                steps = gr.Slider(1, MAX_STEPS, value=20, step=1, label=ui_text("editing_steps"))
                image_guidance = gr.Slider(1.0, 5.0, value=1.5, step=0.1, label=ui_text("editing_image_guidance"))
                text_guidance = gr.Slider(1.0, 20.0, value=7.5, step=0.5, label=ui_text("editing_text_guidance"))
                seed = seed_field("editing_seed", 0)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            output = gr.Image(label=ui_text("editing_output"), type="pil", format="png",
                              elem_id="image-editing-output")
            message = message_area()
    examples = gr.Examples(examples=EXAMPLES, inputs=[image, instruction], label=ui_text("examples_label"))
    examples.dataset.headers = []  # Gradio 6.31 shows translated headers raw; a photo and its words need none
    serve(ENDPOINTS[0], runtime, run.click,
          [image, instruction, model, custom_model, steps, image_guidance, text_guidance, seed], [output], message)
