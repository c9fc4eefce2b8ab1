"""Where a model's files are: fetched first where allowed. (Each task's loader, which builds the model from them,
is in its record: tasks.py.)"""
from __future__ import annotations

import json
from pathlib import Path

from models import vision
from models.errors import ModelLoadError
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


def refuse_other_kinds(spec: ModelSpec, model_dir: Path, kinds: tuple[str, ...]) -> None:
    """A model whose config.json names its architectures, none of them ending in one of `kinds`, is of another
    kind (a NER model typed into the editing tab): said so before any of its weights load."""
    config = model_dir / "config.json"
    if not kinds or not config.is_file():
        return
    try:
        architectures = json.loads(config.read_text("utf-8")).get("architectures") or []
    except (ValueError, OSError, AttributeError):
        return  # the loader says what is wrong with it
    if all(isinstance(a, str) for a in architectures) and architectures and \
            not any(a.endswith(kinds) for a in architectures):
        raise ModelLoadError("load_other_kind", name=spec.name, architectures=", ".join(architectures)[:200],
                             kinds=", ".join(kinds))
