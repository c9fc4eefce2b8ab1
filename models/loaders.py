"""Where a model's files are: fetched first where allowed. (Each task's loader, which builds the model from them,
is in its record: tasks.py.)"""
from __future__ import annotations

from pathlib import Path

from models import vision
from models.hub_files import bundled_dir, resolve_model_dir
from models.registry import TORCHVISION, ModelSpec


def locate(spec: ModelSpec, *, offline: bool, allow_pickle: bool, max_download_bytes: int | None = None) -> Path:
    """The model's files on this machine, fetched first where allowed: torchvision's own weights, or a
    Hugging Face repository or local directory, or the weights this project ships. A typed-in id's download
    may be at most `max_download_bytes`."""
    from huggingface_hub import constants

    offline = offline or constants.HF_HUB_OFFLINE
    if spec.bundled:
        return bundled_dir(spec)
    if spec.source.startswith(TORCHVISION):
        return vision.locate_torchvision_weights(spec, offline)
    return resolve_model_dir(spec, offline=offline, allow_pickle=allow_pickle, max_download_bytes=max_download_bytes)
