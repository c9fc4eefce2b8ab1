"""Diffusers pipelines. diffusers is imported inside the loader, so only the first use of its tab pays for it."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.registry import ModelSpec

if TYPE_CHECKING:
    import torch

# Headroom over the weights for activations and the VAE decode at 512x512, as a share of the weights.
_ACTIVATION_HEADROOM = 0.5


def needs_offload(weights_bytes: int, free_accelerator_bytes: int) -> bool:
    """Offload to the CPU only when the pipeline would not fit on the accelerator with its working memory."""
    return weights_bytes * (1 + _ACTIVATION_HEADROOM) > free_accelerator_bytes


def _place(pipeline: Any, device: str) -> None:
    """One placement per pipeline: whole on its device, or (an accelerator short of memory) CPU offload,
    which moves each sub-model to the GPU only while it runs. Never both."""
    if device == "cuda":
        import torch

        from models.device import module_bytes

        weights = module_bytes(pipeline)
        free, _ = torch.cuda.mem_get_info()
        if needs_offload(weights, free):
            pipeline.enable_model_cpu_offload()
            return
    pipeline.to(device)


def load_instruct_pix2pix(spec: ModelSpec, model_dir: Path, device: str, dtype: torch.dtype) -> Any:
    from diffusers import StableDiffusionInstructPix2PixPipeline

    pipeline = StableDiffusionInstructPix2PixPipeline.from_pretrained(
        model_dir, dtype=dtype, use_safetensors=True, safety_checker=None, requires_safety_checker=False
    )
    pipeline.set_progress_bar_config(disable=True)  # the tab reports steps through its own progress bar
    _place(pipeline, device)
    return pipeline
