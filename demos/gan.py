"""GAN sampling: digits from a DCGAN, and a walk between two seeds' latent vectors."""
from __future__ import annotations

import base64
import io
import json

import gradio as gr
import numpy as np
import torch
from PIL import Image

from demos.common import model_picker
from demos.endpoints import Endpoint, message_area, serve
from demos.i18n import ui_text
from demos.params import PICKED_MODEL, TYPED_MODEL, Whole
from models.gan_networks import image_grid
from models.runtime import ModelRuntime
from tasks import MAX_SEED

TASK = "gan"
RUN_BUTTON = "gan_generate"  # the catalog key of the button that runs it
RESULT = "#gan-output"  # where its result shows (a CSS selector)
MAX_IMAGES = 64
MAX_FRAMES = 16


def latents(seed: int, count: int, dim: int) -> torch.Tensor:
    """`count` latent vectors (count, dim, 1, 1) drawn from N(0, 1) by their own generator: same seed, same images."""
    return torch.randn(count, dim, 1, 1, generator=torch.Generator().manual_seed(seed))


def slerp(a: torch.Tensor, b: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    """Points on the great circle from a to b: Gaussian latents keep their typical length along the way,
    where a straight line would pass through unlikely, too-short vectors in the middle."""
    a_flat, b_flat = a.flatten(), b.flatten()
    cos = torch.dot(a_flat, b_flat) / (a_flat.norm() * b_flat.norm())
    angle = torch.arccos(cos.clamp(-1.0, 1.0))
    if angle.abs() < 1e-4:  # (nearly) the same direction: a straight line is the same path
        weights_a, weights_b = 1 - fractions, fractions
    else:
        weights_a = torch.sin((1 - fractions) * angle) / torch.sin(angle)
        weights_b = torch.sin(fractions * angle) / torch.sin(angle)
    return weights_a.view(-1, 1, 1, 1) * a + weights_b.view(-1, 1, 1, 1) * b


def generate(generator, noise: torch.Tensor) -> torch.Tensor:
    """The generator's output for `noise`, moved to where the generator runs."""
    with torch.inference_mode():
        return generator(noise.to(device=generator.device, dtype=generator.dtype))


def generate_gan(runtime: ModelRuntime, model: str | None = None, custom_model: str | None = None, seed: int = 0,
                 count: int = 16, progress=None) -> Image.Image:
    """Sample images from a DCGAN generator; returns them as one grid picture.

    Args:
        model: a listed GAN, e.g. huggan/dcgan-mnist or assets:dcgan-digits (bundled, works offline).
        custom_model: optional Hugging Face id of another DCGAN generator (safetensors).
        seed: 0 to 2147483647; the same seed gives the same images.
        count: how many images, 1 to 64.
    """
    spec = runtime.spec(TASK, model, custom_model)
    columns = min(count, 8)
    backend = runtime.remote(TASK)
    if backend is not None:
        return image_grid(batch_remote(runtime, backend, {"seed": seed, "count": count}, progress), columns=columns)
    return runtime.remembered(spec, ("generate", seed, count),
                              lambda: image_grid(samples_here(runtime, spec, seed, count, progress), columns=columns))


def samples_here(runtime: ModelRuntime, spec, seed: int, count: int, progress=None) -> torch.Tensor:
    """The generator's `count` images for `seed` (N, C, H, W) in [-1, 1], from the model in this process."""
    generator = runtime.load(spec, progress)
    return generate(generator, latents(seed, count, generator.latent_dim))


def interpolate_gan(runtime: ModelRuntime, model: str | None = None, custom_model: str | None = None,
                    seed_a: int = 1, seed_b: int = 2, frames: int = 8, progress=None) -> Image.Image:
    """Walk from one seed's latent vector to another's; returns the frames in one row.

    Args:
        model: a listed GAN, e.g. huggan/dcgan-mnist or assets:dcgan-digits.
        custom_model: optional Hugging Face id of another DCGAN generator.
        seed_a: the first seed.
        seed_b: the last seed.
        frames: how many images along the way, 2 to 16.
    """
    spec = runtime.spec(TASK, model, custom_model)
    backend = runtime.remote(TASK)
    if backend is not None:
        walk = {"seed_a": seed_a, "seed_b": seed_b, "frames": frames}
        return image_grid(batch_remote(runtime, backend, walk, progress), columns=frames)
    return runtime.remembered(spec, ("interpolate", seed_a, seed_b, frames),
                              lambda: image_grid(frames_here(runtime, spec, seed_a, seed_b, frames, progress),
                                                 columns=frames))


def frames_here(runtime: ModelRuntime, spec, seed_a: int, seed_b: int, frames: int, progress=None) -> torch.Tensor:
    """The generator's images along the walk from seed_a's latent vector to seed_b's, from the model in this
    process."""
    generator = runtime.load(spec, progress)
    dim = generator.latent_dim
    path = slerp(latents(seed_a, 1, dim), latents(seed_b, 1, dim), torch.linspace(0, 1, frames))
    return generate(generator, path)


def batch_remote(runtime: ModelRuntime, backend, inputs: dict, progress=None) -> torch.Tensor:
    """The engine's images for `inputs` (our workers' own contract, serve/media_answers.py: {"inputs": {"seed",
    "count"}} or {"inputs": {"seed_a", "seed_b", "frames"}} -> {"images": [base64 PNG, ...]}) as the generator's
    output: the grid is then made as for the model here."""
    def ask(client):
        answer = json.loads(backend.post_json({"inputs": inputs}, timeout=runtime.settings.request_timeout_s))
        return as_batch([Image.open(io.BytesIO(base64.b64decode(image, validate=True))) for image in answer["images"]])

    return backend.call(ask, progress)


def as_batch(images: list[Image.Image]) -> torch.Tensor:
    """Pictures (all grayscale or all RGB, of one size) as a generator's output, (N, C, H, W) in [-1, 1], from which
    to_images gives back the very same pixels."""
    pixels = torch.from_numpy(np.stack([np.asarray(image) for image in images])).float()
    pixels = pixels[:, None] if pixels.dim() == 3 else pixels.permute(0, 3, 1, 2)
    return pixels / 127.5 - 1


def png_bytes(picture: Image.Image) -> bytes:
    """A picture as PNG (lossless): how pictures travel to and from a remote engine."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def loaded(picture: Image.Image) -> Image.Image:
    """A remote engine's picture, decoded now (a damaged answer fails within the call, in plain words)."""
    picture.load()
    return picture


ENDPOINTS = (
    Endpoint("generate_gan", generate_gan, TASK,
             {"model": PICKED_MODEL, "custom_model": TYPED_MODEL, "seed": Whole("param_seed", 0, MAX_SEED),
              "count": Whole("param_image_count", 1, MAX_IMAGES)},
             sample=lambda model: (model, "", 0, 4), track_tqdm=False),
    Endpoint("interpolate_gan", interpolate_gan, TASK,
             {"model": PICKED_MODEL, "custom_model": TYPED_MODEL, "seed_a": Whole("param_first_seed", 0, MAX_SEED),
              "seed_b": Whole("param_second_seed", 0, MAX_SEED), "frames": Whole("param_frame_count", 2, MAX_FRAMES)},
             sample=lambda model: (model, "", 1, 2, 4), track_tqdm=False),
)


# Gradio 6.31 floats an image's label over its top left corner, and its buttons over the top right: over the first
# and last samples of a grid as wide as its box. The pictures start below them.
PICTURE_STYLE = """
#gan-style { display: none; }
#gan-output .image-container, #gan-interpolation-output .image-container { padding-top: 30px; }
"""


def seed_field(label_key: str, value: int) -> gr.Number:
    return gr.Number(value=value, precision=0, minimum=0, maximum=MAX_SEED, label=ui_text(label_key))


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("gan_intro", max_images=MAX_IMAGES, max_frames=MAX_FRAMES))
    gr.HTML(f"<style>{PICTURE_STYLE}</style>", js_on_load=None, elem_id="gan-style")
    with gr.Row():
        with gr.Column():
            model, custom_model = model_picker(runtime, TASK)
            seed = seed_field("gan_seed", 0)
            count = gr.Slider(1, MAX_IMAGES, value=16, step=1, label=ui_text("gan_count"))
            sample = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            grid = gr.Image(label=ui_text("gan_samples"), type="pil", format="png", elem_id="gan-output")
    with gr.Row():
        with gr.Column():
            with gr.Row():
                seed_a = seed_field("gan_seed_a", 1)
                seed_b = seed_field("gan_seed_b", 2)
            frames = gr.Slider(2, MAX_FRAMES, value=8, step=1, label=ui_text("gan_frames"))
            interpolate = gr.Button(ui_text("gan_interpolate"))
        with gr.Column():
            strip = gr.Image(label=ui_text("gan_strip"), type="pil", format="png", elem_id="gan-interpolation-output")
    message = message_area()
    serve(ENDPOINTS[0], runtime, sample.click, [model, custom_model, seed, count], [grid], message)
    serve(ENDPOINTS[1], runtime, interpolate.click, [model, custom_model, seed_a, seed_b, frames], [strip], message)
