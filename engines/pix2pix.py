"""pix2pix: a U-Net turns a line drawing (or one kind of photo) into a picture."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from engines import contract
from engines.context import Context
from engines.endpoint import Endpoint
from engines.gan import generate
from engines.kinds import LOCAL, REMOTE, Engine
from engines.media import drawing_file, open_image
from engines.outcome import picture_only
from engines.params import PICKED_MODEL, TYPED_MODEL, Upload
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from models.gan_networks import Pix2PixUNet, to_images
from tasks import task

TASK = "pix2pix"
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


class Pix2PixHere(Engine):
    kind = LOCAL

    def translated(self, picture: Image.Image, context: Context) -> Image.Image:
        """The U-Net's picture for a picture (as the U-Net reads it: unet_picture)."""
        generator = self.runtime.load(self.spec, context)
        return to_images(generate(generator, to_unet_input(picture)))[0]


class Pix2PixRemote(Engine):
    kind = REMOTE

    def translated(self, picture: Image.Image, context: Context) -> Image.Image:
        """Sent as the U-Net reads it (a PNG, lossless): small, and read there as here."""
        sent = contract.png_bytes(picture)
        return self.backend.call(lambda client: contract.loaded(client.image_to_image(sent)), context.progress,
                                 context.deadline)


KINDS = {LOCAL: Pix2PixHere, REMOTE: Pix2PixRemote}


def translate_image(runtime: ModelRuntime, value, model=None, custom_model=None,
                    context: Context | None = None) -> Image.Image:
    """The pix2pix U-Net's picture for a drawing or photo (256x256)."""
    picture = unet_picture(picture_from(value))
    return runtime.engine(TASK, model, custom_model).translated(picture, runtime.context(context))


def pix2pix(runtime: ModelRuntime, drawing: dict, model: str | None = None, custom_model: str | None = None,
            context: Context | None = None) -> Image.Image:
    """Turn a line drawing (black on white) or a photo into a picture with a pix2pix U-Net (256x256).

    Args:
        drawing: the sketchpad's value ({"background", "layers", "composite"}); its composite is used.
        model: a listed pix2pix model, e.g. huggan/pix2pix-edge2shoes or assets:pix2pix-scenes (works offline).
        custom_model: optional Hugging Face id of another pix2pix U-Net generator (safetensors).
    """
    return translate_image(runtime, drawing_file(drawing), model, custom_model, context)


ENDPOINTS = (Endpoint("pix2pix", pix2pix, TASK,
                      {"drawing": Upload("param_drawing"), "model": PICKED_MODEL, "custom_model": TYPED_MODEL},
                      track_tqdm=False, reads=picture_only),)

MEDIA_INPUTS = True


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's image-to-image: the U-Net's 256x256 picture (PNG) for a drawing or photo."""
    with contract.media_file(request.inputs) as path:
        picture = unet_picture(picture_from(path))
    return contract.png_reply(runtime.torch_threads.run(runtime.engine(TASK).translated, picture, context))
