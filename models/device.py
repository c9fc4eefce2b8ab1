"""The one device and precision policy that every loader follows."""
from __future__ import annotations

import ctypes
import gc
import sys

import torch

from models.settings import DEVICE_CHOICES  # with the settings: the command line reads them without torch


def _mps_available() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def pick_device(
    requested: str = "auto",
    *,
    cuda_available: bool | None = None,
    mps_available: bool | None = None,
) -> str:
    """cuda > mps > cpu for "auto"; an explicit request must be available or it is an error."""
    if requested not in DEVICE_CHOICES:
        raise ValueError(f"Unknown device {requested!r}; choose one of {', '.join(DEVICE_CHOICES)}.")
    cuda = torch.cuda.is_available() if cuda_available is None else cuda_available
    mps = _mps_available() if mps_available is None else mps_available
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested == "cuda" and not cuda:
        raise ValueError("--device cuda was asked for, but PyTorch sees no CUDA GPU here.")
    if requested == "mps" and not mps:
        raise ValueError("--device mps was asked for, but PyTorch sees no Apple MPS device here.")
    return requested


def pick_dtype(device: str, *, bf16_supported: bool | None = None) -> torch.dtype:
    """Half precision only on an accelerator: bf16 where the GPU has it (no fp16 overflow), else fp16."""
    if device == "cuda":
        bf16 = torch.cuda.is_bf16_supported() if bf16_supported is None else bf16_supported
        return torch.bfloat16 if bf16 else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def free_memory() -> None:
    """Return freed model memory to the system: Python objects, the CUDA/MPS caches, and glibc's heap."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if _mps_available():
        torch.mps.empty_cache()
    if sys.platform.startswith("linux"):
        # Without this, freed tensor memory stays in the process's heap and RSS does not drop.
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass


def module_bytes(obj: object) -> int:
    """Approximate memory of a loaded model: its parameters and buffers (0 for non-torch objects).
    Takes a module, a diffusers pipeline (its `components`), a wrapper holding a module as `.model`, or one that
    knows its `memory_bytes` (another engine's model)."""
    if isinstance(getattr(obj, "memory_bytes", None), int):
        return obj.memory_bytes
    if isinstance(obj, torch.nn.Module):
        return sum(t.numel() * t.element_size() for t in weight_tensors(obj))
    components = getattr(obj, "components", None)
    if isinstance(components, dict):
        return sum(module_bytes(c) for c in components.values() if isinstance(c, torch.nn.Module))
    inner = getattr(obj, "model", None)
    return module_bytes(inner) if inner is not None else 0


def weight_tensors(module: torch.nn.Module) -> list[torch.Tensor]:
    """A module's parameters and buffers, and the weights and biases its int8 layers (models/quantization.py) keep
    packed, which are neither: the layers whose `weight` and `bias` are methods. (A weight-normed convolution's
    `parametrizations` has a callable `weight` too, but computed from parameters already counted, and no bias.)"""
    packed = [tensor for layer in module.modules()
              if callable(getattr(layer, "weight", None)) and callable(getattr(layer, "bias", None))
              for tensor in (layer.weight(), layer.bias()) if tensor is not None]
    return [*module.parameters(), *module.buffers(), *packed]
