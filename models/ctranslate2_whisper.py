"""Whisper on CTranslate2, through faster-whisper: the speech tab's engine for the `Systran/faster-whisper-*`
models (and any directory in CTranslate2's format), int8 on a CPU, where it reads speech several times faster than
PyTorch's Whisper on the same weights (README, How fast)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.ctranslate2_models import CTRANSLATE2_WEIGHTS, import_ctranslate2, open_on_device


@dataclass
class FasterWhisper:
    model: Any  # faster_whisper.WhisperModel
    memory_bytes: int  # its weights file's size: an upper bound, as int8 halves float16 weights
    precision: str  # as the Models tab shows it


def load_faster_whisper(model_dir: Path, device: str) -> FasterWhisper:
    import_ctranslate2()  # before faster_whisper imports it
    from faster_whisper import WhisperModel

    model, precision = open_on_device(
        lambda path, on, compute, threads: WhisperModel(path, device=on, compute_type=compute, cpu_threads=threads),
        model_dir, device)
    return FasterWhisper(model, (model_dir / CTRANSLATE2_WEIGHTS).stat().st_size, precision)
