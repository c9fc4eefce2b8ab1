"""Loaders of the two generators (models/gan_networks.py); torch is imported on first load."""
from __future__ import annotations

import json
from pathlib import Path


def _read_config(path: Path) -> dict:
    config_file = path / "config.json"
    return json.loads(config_file.read_text()) if config_file.exists() else {}


def load_generator(cls, path: Path, device: str, dtype):
    """A generator from a local directory: config.json + model.safetensors through the mixin; otherwise the
    weights alone (safetensors, or pytorch_model.bin read with weights_only for sources trusted with pickle
    weights, such as the huggan checkpoints), the layer sizes read from the weights' shapes."""
    import torch

    if (path / "model.safetensors").exists() and (path / "config.json").exists():
        model = cls.from_pretrained(path, strict=True)
    else:
        if (path / "model.safetensors").exists():
            from safetensors.torch import load_file

            state_dict = load_file(path / "model.safetensors")
        else:
            state_dict = torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
        model = cls(**(_read_config(path) or cls.arguments_for(state_dict)))
        model.load_state_dict(state_dict, strict=True)
    return model.to(device=device, dtype=dtype).eval()


def load_dcgan(spec, model_dir: Path, device: str, dtype):
    from models.gan_networks import DCGANGenerator

    return load_generator(DCGANGenerator, model_dir, device, dtype)


def load_pix2pix(spec, model_dir: Path, device: str, dtype):
    from models.gan_networks import Pix2PixUNet

    return load_generator(Pix2PixUNet, model_dir, device, dtype)
