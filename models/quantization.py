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


def quantize_int8_in_parts(model, deadline: float) -> None:
    """quantize_int8, a layer's parent at a time, deepest first, checking `deadline` (a time.monotonic() time)
    between them, OutOfTime (models/measure.py) once it has passed: the optimisation lab's runs have a time
    limit, and one call takes a second on DistilBERT. Each call finds the deeper layers already int8, so it
    converts the parent's own linear layers only; the result is quantize_int8's."""
    from torch import nn

    from models.measure import in_time

    parents = [module for module in model.modules() if any(type(child) is nn.Linear for child in module.children())]
    for parent in reversed(parents):  # modules() lists a parent before its descendants
        in_time(deadline)
        quantize_int8(parent)
