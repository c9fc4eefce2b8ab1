"""Editing a photo by instruction with InstructPix2Pix (diffusers; a GPU recommended)."""
from __future__ import annotations

import json

import torch
from PIL import Image

from engines import contract
from engines.context import Context
from engines.endpoint import Endpoint
from engines.kinds import LOCAL, REMOTE, Engine
from engines.media import client_file, open_image
from engines.outcome import picture_only
from engines.params import PICKED_MODEL, TYPED_MODEL, Real, Text, Upload, Whole
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from tasks import EXAMPLES_DIR, MAX_SEED, task

TASK = "image_editing"
MAX_STEPS = 100
MAX_INSTRUCTION_CHARS = 500
EDIT_SIDE = 512  # Stable Diffusion 1.5's native resolution: larger inputs are scaled down to it
EXAMPLES = [[str(EXAMPLES_DIR / photo), instruction]
            for photo, instruction in json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]]


def edit_size(width: int, height: int) -> tuple[int, int]:
    """At most EDIT_SIDE on the long side, both sides multiples of 8 (the VAE works on 8x8 blocks)."""
    scale = min(1.0, EDIT_SIDE / max(width, height))
    return max(64, round(width * scale / 8) * 8), max(64, round(height * scale / 8) * 8)


def prepared(image) -> Image.Image:
    """The photo at the size it is edited at (edit_size)."""
    picture = open_image(image)
    return picture.resize(edit_size(*picture.size), Image.Resampling.LANCZOS)


class ImageEditingHere(Engine):
    kind = LOCAL

    def edited(self, picture: Image.Image, instruction: str, steps: int, image_guidance: float,
               text_guidance: float, seed: int, context: Context) -> Image.Image:
        """The prepared picture edited by the pipeline, within the request's time."""
        editor = self.runtime.load(self.spec, context)

        def report_step(pipeline, step, timestep, tensors):
            if step + 1 < steps and context.out_of_time():  # stops the pipeline: its picture is half made
                raise refuse("refuse_out_of_time_steps", seconds=context.timeout_s, done=step + 1, total=steps)
            context.report((step + 1) / steps, "progress_step", step=step + 1, steps=steps)
            return tensors

        with torch.inference_mode():
            result = editor(
                instruction, image=picture, num_inference_steps=steps, image_guidance_scale=image_guidance,
                guidance_scale=text_guidance, generator=torch.Generator("cpu").manual_seed(seed),
                callback_on_step_end=report_step,
            )
        return result.images[0]


class ImageEditingRemote(Engine):
    kind = REMOTE

    def edited(self, picture: Image.Image, instruction: str, steps: int, image_guidance: float,
               text_guidance: float, seed: int, context: Context) -> Image.Image:
        """Sent at the size it is edited at (a PNG, lossless): read there as here."""
        sent = contract.png_bytes(picture)
        return self.backend.call(lambda client: contract.loaded(client.image_to_image(
            sent, prompt=instruction, num_inference_steps=steps, guidance_scale=text_guidance,
            image_guidance_scale=image_guidance, seed=seed)), context.progress, context.deadline)


KINDS = {LOCAL: ImageEditingHere, REMOTE: ImageEditingRemote}


def edit(runtime: ModelRuntime, image, instruction, model=None, custom_model=None, steps=20, image_guidance=1.5,
         text_guidance=7.5, seed=0, context: Context | None = None) -> Image.Image:
    """The photo changed as the instruction says (InstructPix2Pix)."""
    picture = prepared(image)
    return runtime.engine(TASK, model, custom_model).edited(picture, instruction, steps, image_guidance,
                                                            text_guidance, seed, runtime.context(context))


def edit_image(runtime: ModelRuntime, image: dict, instruction: str, model: str | None = None,
               custom_model: str | None = None, steps: int = 20, image_guidance: float = 1.5,
               text_guidance: float = 7.5, seed: int = 0, context: Context | None = None) -> Image.Image:
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
                seed, context)


# The photo first, as the page asks for it first: an empty form hears of the photo.
ENDPOINTS = (Endpoint("edit_image", edit_image, TASK,
                      {"image": Upload("param_image", required=True),
                       "instruction": Text("param_instruction", MAX_INSTRUCTION_CHARS), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL, "steps": Whole("param_step_count", 1, MAX_STEPS),
                       "image_guidance": Real("param_image_guidance", 1.0, 5.0),
                       "text_guidance": Real("param_text_guidance", 1.0, 20.0),
                       "seed": Whole("param_seed", 0, MAX_SEED)},
                      track_tqdm=False, reads=picture_only),)

MEDIA_INPUTS = True


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's image-to-image with a prompt: the photo edited as `prompt` says (PNG, at most 512 pixels on its
    long side). Parameters as the tab's: `num_inference_steps` (1-100, default 20), `guidance_scale` (the text's,
    1-20, default 7.5), `image_guidance_scale` (1-5, default 1.5), `seed` (default 0)."""
    instruction, steps, image_guidance, text_guidance, seed = contract.checked(ENDPOINTS[0], request.parameters, {
        "instruction": "prompt", "steps": "num_inference_steps", "image_guidance": "image_guidance_scale",
        "text_guidance": "guidance_scale", "seed": "seed"})
    with contract.media_file(request.inputs) as path:
        picture = prepared(path)
    return contract.png_reply(runtime.torch_threads.run(runtime.engine(TASK).edited, picture, instruction, steps,
                                                        image_guidance, text_guidance, seed, context))
