"""Loaders of the two generators (models/gan_networks.py); torch is imported on first load."""
from __future__ import annotations

import json
from pathlib import Path


def _read_config(path: Path) -> dict:
    config_file = path / "config.json"
    return json.loads(config_file.read_text()) if config_file.exists() else {}


def load_network(cls, path: Path, device: str, dtype):
    """One of our networks (a generator, the digit CNN) from a local directory: the weights (safetensors, or
    pytorch_model.bin read with weights_only for sources trusted with pickle weights, such as the huggan
    checkpoints) and the sizes in config.json as PyTorchModelHubMixin writes it, else read from the weights'
    shapes. Not through the mixin's from_pretrained, which prints a bare line on every local load."""
    import torch

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

    return load_network(DCGANGenerator, model_dir, device, dtype)


def load_pix2pix(spec, model_dir: Path, device: str, dtype):
    from models.gan_networks import Pix2PixUNet

    return load_network(Pix2PixUNet, model_dir, device, dtype)
