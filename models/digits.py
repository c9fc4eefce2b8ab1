"""Loader of the handwritten-digit tab's CNN (models/digit_network.py); torch is imported on first load."""
from __future__ import annotations

from pathlib import Path


def load_digit_classifier(spec, model_dir: Path, device: str, dtype):
    """The CNN from a directory holding config.json and model.safetensors (the project's own weights)."""
    from models.digit_network import DigitCNN
    from models.gan import load_network

    return load_network(DigitCNN, model_dir, device, dtype)
