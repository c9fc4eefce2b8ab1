"""Int8 weights for the transformer tabs on a CPU (`--quantize int8`).

Which engine: torchao's `quantize_` is PyTorch's current API, but its int8 configs reach their int8 kernels
through torch.compile; run eagerly, as the hub runs, they made a BERT-base forward slower than fp32 (README,
Benchmarks). PyTorch's dynamic quantisation runs fbgemm's int8 matrix products eagerly, so the hub uses it,
deprecated as it is (the pinned torch has it), until torchao is fast without a compiler. ENGINE names it
wherever the precision is shown.
"""
from __future__ import annotations

import warnings

QUANTIZED_TASKS = ("ner", "sentiment", "translation", "speech_to_text", "text_generation")
ENGINE = "torch.ao dynamic int8 (fbgemm)"


def quantize_int8(model) -> None:
    """Every nn.Linear of `model` with int8 weights, activations quantised per batch as they come; in place."""
    import torch
    from torch import nn

    with warnings.catch_warnings():  # its deprecation notice, once per load: the docstring above says why
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)
