"""Whisper on CTranslate2, through faster-whisper: the speech tab's engine for the `Systran/faster-whisper-*`
models (and any directory in CTranslate2's format), int8 on a CPU, where it reads speech several times faster than
PyTorch's Whisper on the same weights (README, How fast)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# CTranslate2 keeps a model's weights in one file of its own flat tensor format: read by its C++ loader, not a
# pickle, so nothing in it runs. PyTorch's pickles are named pytorch_model.bin, never this.
CTRANSLATE2_WEIGHTS = "model.bin"

log = logging.getLogger(__name__)


@dataclass
class FasterWhisper:
    model: Any  # faster_whisper.WhisperModel
    memory_bytes: int  # its weights file's size: an upper bound, as int8 halves float16 weights
    precision: str  # as the Models tab shows it


def is_ctranslate2_dir(directory: Path) -> bool:
    return (directory / CTRANSLATE2_WEIGHTS).is_file()


def load_faster_whisper(model_dir: Path, device: str) -> FasterWhisper:
    """float16 on a CUDA GPU that CTranslate2 can use; else int8 on the CPU, on as many threads as torch's."""
    import ctranslate2
    import torch
    from faster_whisper import WhisperModel

    size = (model_dir / CTRANSLATE2_WEIGHTS).stat().st_size
    if device.startswith("cuda") and ctranslate2.get_cuda_device_count() > 0:
        try:
            model = WhisperModel(str(model_dir), device="cuda", compute_type="float16")
            return FasterWhisper(model, size, "float16 · CTranslate2")
        except (RuntimeError, ValueError) as error:  # e.g. the CUDA libraries it was built for are missing
            log.warning("CTranslate2 cannot use the GPU (%s); its Whisper runs on the CPU", error)
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=torch.get_num_threads())
    return FasterWhisper(model, size, "int8 · CTranslate2")
