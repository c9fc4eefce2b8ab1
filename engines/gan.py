"""GAN sampling: digits from a DCGAN, and a walk between two seeds' latent vectors."""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import torch
from PIL import Image

from engines import contract
from engines.context import Context
from engines.endpoint import Endpoint
from engines.kinds import LOCAL, REMOTE, Engine
from engines.outcome import picture_only
from engines.params import PICKED_MODEL, TYPED_MODEL, Whole
from engines.runtime import ModelRuntime
from models.gan_networks import image_grid, to_images
from tasks import MAX_SEED

TASK = "gan"
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


class GanHere(Engine):
    kind = LOCAL

    def samples(self, seed: int, count: int, context: Context) -> torch.Tensor:
        """The generator's `count` images for `seed` (N, C, H, W) in [-1, 1]."""
        generator = self.runtime.load(self.spec, context)
        return generate(generator, latents(seed, count, generator.latent_dim))

    def frames(self, seed_a: int, seed_b: int, frames: int, context: Context) -> torch.Tensor:
        """The generator's images along the walk from seed_a's latent vector to seed_b's."""
        generator = self.runtime.load(self.spec, context)
        dim = generator.latent_dim
        path = slerp(latents(seed_a, 1, dim), latents(seed_b, 1, dim), torch.linspace(0, 1, frames))
        return generate(generator, path)


class GanRemote(Engine):
    kind = REMOTE

    def samples(self, seed: int, count: int, context: Context) -> torch.Tensor:
        return self.batch({"seed": seed, "count": count}, context)

    def frames(self, seed_a: int, seed_b: int, frames: int, context: Context) -> torch.Tensor:
        return self.batch({"seed_a": seed_a, "seed_b": seed_b, "frames": frames}, context)

    def batch(self, inputs: dict, context: Context) -> torch.Tensor:
        """The engine's images for `inputs` (our workers' own contract, `answer` below: {"inputs": {"seed",
        "count"}} or {"inputs": {"seed_a", "seed_b", "frames"}} -> {"images": [base64 PNG, ...]}) as the
        generator's output: the grid is then made as for the model here."""
        def ask(client):
            answer = json.loads(self.backend.post_json({"inputs": inputs}, timeout=max(1.0, context.left())))
            return as_batch([Image.open(io.BytesIO(base64.b64decode(image, validate=True)))
                             for image in answer["images"]])

        return self.backend.call(ask, context.progress, context.deadline)


KINDS = {LOCAL: GanHere, REMOTE: GanRemote}


def as_batch(images: list[Image.Image]) -> torch.Tensor:
    """Pictures (all grayscale or all RGB, of one size) as a generator's output, (N, C, H, W) in [-1, 1], from which
    to_images gives back the very same pixels."""
    pixels = torch.from_numpy(np.stack([np.asarray(image) for image in images])).float()
    pixels = pixels[:, None] if pixels.dim() == 3 else pixels.permute(0, 3, 1, 2)
    return pixels / 127.5 - 1


def generate_gan(runtime: ModelRuntime, model: str | None = None, custom_model: str | None = None, seed: int = 0,
                 count: int = 16, context: Context | None = None) -> Image.Image:
    """Sample images from a DCGAN generator; returns them as one grid picture.

    Args:
        model: a listed GAN, e.g. huggan/dcgan-mnist or assets:dcgan-digits (bundled, works offline).
        custom_model: optional Hugging Face id of another DCGAN generator (safetensors).
        seed: 0 to 2147483647; the same seed gives the same images.
        count: how many images, 1 to 64.
    """
    engine = runtime.engine(TASK, model, custom_model)
    return runtime.remembered(engine.spec, ("generate", seed, count),
                              lambda: image_grid(engine.samples(seed, count, runtime.context(context)),
                                                 columns=min(count, 8)))


def interpolate_gan(runtime: ModelRuntime, model: str | None = None, custom_model: str | None = None,
                    seed_a: int = 1, seed_b: int = 2, frames: int = 8, context: Context | None = None) -> Image.Image:
    """Walk from one seed's latent vector to another's; returns the frames in one row.

    Args:
        model: a listed GAN, e.g. huggan/dcgan-mnist or assets:dcgan-digits.
        custom_model: optional Hugging Face id of another DCGAN generator.
        seed_a: the first seed.
        seed_b: the last seed.
        frames: how many images along the way, 2 to 16.
    """
    engine = runtime.engine(TASK, model, custom_model)
    return runtime.remembered(engine.spec, ("interpolate", seed_a, seed_b, frames),
                              lambda: image_grid(engine.frames(seed_a, seed_b, frames, runtime.context(context)),
                                                 columns=frames))


ENDPOINTS = (
    Endpoint("generate_gan", generate_gan, TASK,
             {"model": PICKED_MODEL, "custom_model": TYPED_MODEL, "seed": Whole("param_seed", 0, MAX_SEED),
              "count": Whole("param_image_count", 1, MAX_IMAGES)},
             sample=lambda model: (model, "", 0, 4), track_tqdm=False, reads=picture_only),
    Endpoint("interpolate_gan", interpolate_gan, TASK,
             {"model": PICKED_MODEL, "custom_model": TYPED_MODEL, "seed_a": Whole("param_first_seed", 0, MAX_SEED),
              "seed_b": Whole("param_second_seed", 0, MAX_SEED), "frames": Whole("param_frame_count", 2, MAX_FRAMES)},
             sample=lambda model: (model, "", 1, 2, 4), track_tqdm=False, reads=picture_only),
)

MEDIA_INPUTS = False


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Our own contract (the Inference API has no GAN sampling): `{"inputs": {"seed", "count"}}` samples `count`
    images (1-64) for `seed`; `{"inputs": {"seed_a", "seed_b", "frames"}}` walks from one seed's latent vector to
    the other's in `frames` images (2-16); absent ones take the tab's defaults. Answers `{"images": [base64 PNG,
    ...]}`, one picture per image (the hub lays them out)."""
    inputs = request.inputs
    if not isinstance(inputs, dict):
        raise contract.BadRequest('"inputs" must be an object: {"seed", "count"} or {"seed_a", "seed_b", "frames"}')
    engine = runtime.engine(TASK)
    if {"seed_a", "seed_b", "frames"} & inputs.keys():
        walk = contract.checked(ENDPOINTS[1], inputs, {"seed_a": "seed_a", "seed_b": "seed_b", "frames": "frames"})
        batch = runtime.torch_threads.run(engine.frames, *walk, context)
    else:
        sampling = contract.checked(ENDPOINTS[0], inputs, {"seed": "seed", "count": "count"})
        batch = runtime.torch_threads.run(engine.samples, *sampling, context)
    return {"images": [base64.b64encode(contract.png_bytes(image)).decode("ascii") for image in to_images(batch)]}
