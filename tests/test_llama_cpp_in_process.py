"""A GGUF chat model in the hub's own process, on llama.cpp (models/llama_cpp_models.py). Its binding,
llama-cpp-python, is an optional extra that builds llama.cpp from source (about 5 minutes on 2 cores), and the
tiny GGUF is made by llama.cpp's own converter: without them the tests that need them are skipped with the reason
shown (tests/llama_cpp_engine.py says how to get both). Without the binding, a GGUF model is refused in plain
words, which is tested everywhere."""
import importlib.util
import sys

import pytest
from llama_cpp_engine import CONVERTER, make_gguf

from engines import text_generation as tg
from engines.context import Context
from engines.runtime import ModelRuntime
from models.errors import ModelLoadError
from models.llama_cpp_models import LlamaCppModel
from models.settings import Settings

MISSING = [what for what, missing in (
    ("llama-cpp-python in this environment (pip install llama-cpp-python)", importlib.util.find_spec("llama_cpp") is None),
    ("llama.cpp's converter (LLAMA_CPP_CONVERTER, see tests/llama_cpp_engine.py)", not CONVERTER)) if missing]
needs_llama_cpp = pytest.mark.skipif(bool(MISSING), reason="missing: " + "; ".join(MISSING))


@pytest.fixture(scope="module")
def gguf_dir(tmp_path_factory):
    from tiny_models import make_qwen2_chat_model

    model = make_qwen2_chat_model(tmp_path_factory.mktemp("qwen2-for-gguf"))
    return make_gguf(model, tmp_path_factory.mktemp("qwen2-gguf")).parent


def test_a_gguf_model_without_llama_cpp_is_refused_in_plain_words(tmp_path, monkeypatch):
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as where it is not installed
    runtime = ModelRuntime(Settings(model_overrides={"text_generation": str(tmp_path)}))
    with pytest.raises(ModelLoadError, match="pip install llama-cpp-python"):
        list(tg.chat(runtime, "Hello", [], max_new_tokens=4))


@needs_llama_cpp
def test_a_gguf_chat_streams_repeats_its_seed_and_stops(gguf_dir):
    runtime = ModelRuntime(Settings(model_overrides={"text_generation": str(gguf_dir)}))
    parts = list(tg.chat(runtime, "Hello", [{"role": "user", "content": "Hi"},
                                            {"role": "assistant", "content": "Hello."}], max_new_tokens=12,
                         temperature=0))
    lm = runtime.load(runtime.default("text_generation"))
    assert isinstance(lm, LlamaCppModel) and lm.precision == "GGUF · llama.cpp" and lm.is_chat
    assert parts and all(later.startswith(earlier) for earlier, later in zip(parts, parts[1:]))
    assert 1 <= lm.tokens_generated <= 12

    def sampled(seed):
        return list(tg.chat(runtime, "Once", [], max_new_tokens=16, temperature=1.0, seed=seed))[-1]

    assert sampled(5) == sampled(5)  # llama.cpp seeds each generation, as PyTorch does
    before = lm.tokens_generated
    stream = tg.chat(runtime, "Go on", [], max_new_tokens=1000, temperature=1.0)
    next(stream)
    stream.close()
    assert lm.tokens_generated - before < 1000, "the model went on after Stop"
    warnings = []
    list(tg.complete_text(runtime, "Once upon a time", max_new_tokens=1000,
                          context=Context.starting(0, warn=warnings.append)))  # out of time from its first token
    assert any("time" in warning for warning in warnings), warnings
