"""Loaders for Hugging Face transformers models. transformers is imported here only, on first load."""
from __future__ import annotations

from pathlib import Path

import torch


def load_token_classification(model_dir: Path, device: str, dtype: torch.dtype):
    """A token-classification pipeline that groups word pieces into whole entities."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir, dtype=dtype, trust_remote_code=False)
    # Some tokenizers declare no length limit; the position table is the real one, and striding needs it.
    max_positions = getattr(model.config, "max_position_embeddings", None)
    if max_positions and tokenizer.model_max_length > max_positions:
        tokenizer.model_max_length = max_positions
    return pipeline(
        "token-classification",
        model=model.eval(),
        tokenizer=tokenizer,
        aggregation_strategy="simple",
        device=device,
    )
