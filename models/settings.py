"""What the operator chose on the command line; app.main() fills it, tests build it directly. Free of torch,
like everything the command line needs before it serves (--help, --list-models, a mistyped flag)."""
from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
# A request's model work stops after this long, whatever it asked for (--request-timeout-s; a worker's args).
REQUEST_TIMEOUT_S = 120.0


def zero_gpu():
    """The `spaces` package when this runs on a ZeroGPU Space (a GPU lent per call), else None."""
    if os.environ.get("SPACES_ZERO_GPU", "").lower() not in ("1", "true"):
        return None
    try:
        return importlib.import_module("spaces")
    except ImportError:
        return None


@dataclass(frozen=True)
class Settings:
    device: str = "auto"
    # task -> hub id or local directory, from --model TASK=SOURCE
    model_overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    offline: bool = False
    custom_models: bool = True  # the "custom model id" field in each tab
    allow_pickle: bool = False  # .bin weights for typed-in model ids
    max_custom_model_gb: float = 5.0  # the largest download a typed-in model id may cause
    max_loaded_models: int = 3
    memory_budget_gb: float | None = None
    max_upload_mb: int = 50
    # How many model requests run at once on the device; the rest wait in the queue (GPU memory stays bounded).
    device_concurrency: int = 1
    # Image classification and NER run the requests that wait together as one batch of up to this many (1: off).
    max_batch_size: int = 8
    request_timeout_s: float = REQUEST_TIMEOUT_S
    # Served to strangers: --share, a Hugging Face Space, or bound to an address beyond this machine.
    public: bool = False
    behind_proxy: bool = False  # the share tunnel or the Spaces front end: it reports each visitor's address
    login_required: bool = False  # --auth: only the operator's login gets in
    quantize: str = "none"  # "int8": the transformer tabs' weights on a CPU (models/quantization.py)
    ctranslate2: bool = True  # chat and translation checkpoints converted to CTranslate2 (models/ctranslate2_models.py)
    # Answers kept for repeated requests (models/result_cache.py); None: the default, which depends on `public`.
    result_cache_mb: float | None = None
    # task -> the URL of the remote engine that runs its model (--backend; models/backends.py)
    backends: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    backend_token_env: str = "HF_TOKEN"  # the environment variable whose value is sent to the engines as a token

    @property
    def result_cache_bytes(self) -> int:
        """64 MB by default; off by default in public, where a fast answer would tell a visitor that someone
        sent the same input before."""
        megabytes = self.result_cache_mb if self.result_cache_mb is not None else (0 if self.public else 64)
        return int(megabytes * 2**20)

    @property
    def operator_controls(self) -> bool:
        """Whether actions meant for the operator (unloading models) are offered: locally, whoever reaches the
        app is the operator; in public only behind a login."""
        return not self.public or self.login_required
