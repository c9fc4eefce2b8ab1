"""Loader kind -> the function that builds a ready model from a local directory."""
from __future__ import annotations

from models import hf

LOADERS = {
    "token_classification": hf.load_token_classification,
    "seq2seq": hf.load_seq2seq,
    "causal_lm": hf.load_causal_lm,
}
