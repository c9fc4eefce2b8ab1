"""Image classifiers from torchvision (weights from download.pytorch.org) or Hugging Face, behind one interface."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import ModelLoadError, unavailable
from models.registry import TORCHVISION, ModelSpec

if TYPE_CHECKING:
    import torch

# A local torchvision model: config.json {"torchvision_architecture": ..., "torchvision_weights": ...}
# beside model.safetensors (random or fine-tuned weights; preprocessing and labels come from the weights enum).
ARCHITECTURE_KEY, WEIGHTS_KEY = "torchvision_architecture", "torchvision_weights"


@dataclass
class ImageClassifier:
    model: Any
    preprocess: Callable[[list], torch.Tensor]  # PIL RGB images -> a batch the model takes
    labels: list[str]
    # The shorter side preprocessing scales a picture to (None: not known), so that a large JPEG can be
    # decoded at a fraction of its size (engines.media.open_image).
    input_side: int | None = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype


def weights_enum(architecture: str, weights: str):
    from torchvision import models

    try:
        return models.get_model_weights(architecture)[weights]
    except (KeyError, ValueError) as error:
        raise ModelLoadError("load_no_torchvision_weights", architecture=architecture, weights=weights) from error


def weights_url(source: str) -> str:
    """Where download.pytorch.org serves the weights of a source "torchvision:<architecture>:<weights>"."""
    _, architecture, weights = source.split(":")
    return weights_enum(architecture, weights).url


def locate_torchvision_weights(spec: ModelSpec, offline: bool) -> Path:
    """The checkpoint in torch's hub cache; downloaded (with a progress bar) when allowed and missing."""
    from torch.hub import download_url_to_file, get_dir

    url = weights_url(spec.source)
    path = Path(get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
    if path.exists():
        return path
    if offline:
        raise unavailable(spec.task, spec.name, spec.default)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        download_url_to_file(url, str(path), progress=True)
    except OSError as error:
        raise unavailable(spec.task, spec.name, spec.default) from error
    return path


def _torchvision_classifier(architecture: str, weights: str, state_dict: dict, device: str, dtype) -> ImageClassifier:
    import torch
    from torchvision import models

    enum = weights_enum(architecture, weights)
    model = models.get_model(architecture, weights=None, num_classes=len(enum.meta["categories"]))
    model.load_state_dict(state_dict, strict=True)
    transform = enum.transforms()
    # Channels-last: oneDNN's (and cuDNN's) faster convolution layout, for ResNets and MobileNets alike.
    model = model.to(device=device, dtype=dtype, memory_format=torch.channels_last).eval()
    return ImageClassifier(model, _batch_preprocess(transform),
                           list(enum.meta["categories"]), input_side=max(transform.resize_size))


def _batch_preprocess(transform) -> Callable[[list], torch.Tensor]:
    """The weights' own preprocessing (resize, centre crop, scale to [0, 1], normalise) for a list of PIL RGB
    images, done on uint8 tensors: torch's antialiased uint8 resize is much faster than PIL's, and scaling and
    normalising is one op writing straight into the batch. It matches `transform` to one 8-bit step."""
    import numpy as np
    import torch
    from torchvision.transforms.v2 import functional as F

    crop_height, crop_width = transform.crop_size * (3 - len(transform.crop_size))  # [224] means 224 x 224
    std = torch.tensor(transform.std).view(3, 1, 1)
    scale, shift = 1 / (255 * std), -torch.tensor(transform.mean).view(3, 1, 1) / std

    def preprocess(images: list) -> torch.Tensor:
        batch = torch.empty(len(images), 3, crop_height, crop_width, memory_format=torch.channels_last)
        for image, slot in zip(images, batch):
            pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1)
            resized = F.resize(pixels, transform.resize_size, transform.interpolation, antialias=transform.antialias)
            torch.addcmul(shift, F.center_crop(resized, transform.crop_size), scale, out=slot)
        return batch

    return preprocess


def processor_input_side(processor) -> int | None:
    size = getattr(processor, "size", None) or {}
    return size.get("shortest_edge") or max(size.get("height") or 0, size.get("width") or 0) or None


def torchvision_state(spec: ModelSpec, path: Path) -> tuple[str, str, dict] | None:
    """(architecture, weights, state dict) of a torchvision model: a checkpoint from torch's hub cache, or a
    local directory in our torchvision format; None for a Hugging Face model."""
    import torch

    if spec.source.startswith(TORCHVISION):
        _, architecture, weights = spec.source.split(":")
        return architecture, weights, torch.load(path, map_location="cpu", weights_only=True)  # no code runs
    config = json.loads((path / "config.json").read_text())
    if ARCHITECTURE_KEY not in config:
        return None
    from safetensors.torch import load_file

    return config[ARCHITECTURE_KEY], config[WEIGHTS_KEY], load_file(path / "model.safetensors")


def load_image_classifier(spec: ModelSpec, model_dir: Path, device: str, dtype: torch.dtype) -> ImageClassifier:
    torchvision_model = torchvision_state(spec, model_dir)
    if torchvision_model is not None:
        return _torchvision_classifier(*torchvision_model, device, dtype)

    from transformers import AutoImageProcessor, AutoModelForImageClassification

    processor = AutoImageProcessor.from_pretrained(model_dir)
    model = AutoModelForImageClassification.from_pretrained(model_dir, dtype=dtype, trust_remote_code=False)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return ImageClassifier(
        model.to(device).eval(), lambda images: processor(images=images, return_tensors="pt")["pixel_values"], labels,
        input_side=processor_input_side(processor),
    )
