"""The chat tab on an engine nobody here wrote: llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on
a GGUF made from the tiny Qwen2 by llama.cpp's own converter. Opt-in: building the server from PyPI's sdist takes
about 11 minutes on 2 cores, which CI's time does not allow; tests/llama_cpp_engine.py says how to get it, and
without it these tests are skipped with that reason shown."""
import pytest
from huggingface_hub import constants
from llama_cpp_engine import engine_missing, llama_server, make_gguf

from demos.endpoints import bound
from demos.models_panel import backend_rows
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from engines.text_generation import ENDPOINTS, chat_reply
from models.backends import RemoteError
from models.settings import Settings

CTX = 2048
MISSING = engine_missing()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory):
    from tiny_models import make_qwen2_chat_model

    model = make_qwen2_chat_model(tmp_path_factory.mktemp("qwen2"))
    gguf = make_gguf(model, tmp_path_factory.mktemp("gguf"))
    with llama_server(gguf, ctx=CTX, extra_args=("--model_alias", "tiny-qwen2")) as url:
        yield url


@pytest.fixture
def on_llama(engine_url, monkeypatch) -> ModelRuntime:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest's offline stops every call; this is local
    return ModelRuntime(Settings(backends={"text_generation": engine_url}, request_timeout_s=60))


def test_the_chat_streams_from_llama_cpp_and_the_models_tab_names_its_model(on_llama):
    replies = list(chat_reply(on_llama, "Hello!", max_new_tokens=16, temperature=0.0))
    assert len(replies) >= 1 and all(later.startswith(earlier) for earlier, later in zip(replies, replies[1:]))
    [row] = backend_rows(on_llama)
    assert row[2:] == ["answering", "tiny-qwen2"]


def test_stop_closes_the_stream_and_the_engine_takes_the_next_request(on_llama):
    stream = chat_reply(on_llama, "Tell me a long story", max_new_tokens=1000, temperature=0.7)
    next(stream)
    stream.close()  # what Stop does: the HTTP stream is closed, and llama.cpp stops generating
    assert list(chat_reply(on_llama, "Hi", max_new_tokens=4, temperature=0.0))


def test_bad_input_is_refused_here_and_what_the_engine_refuses_is_said_plainly(on_llama):
    handler = bound(ENDPOINTS[0], on_llama)
    with pytest.raises(Refusal, match="max new tokens"):
        list(handler("Hi", max_new_tokens=0))
    # A prompt longer than the engine's context: llama-cpp-python 0.3.36 answers 200 and an empty stream, without
    # a word of why (an engine that says why gets its words shown: test_remote.py), and then resets the next
    # connection (seen here); both are said in plain words.
    for _ in range(2):
        with pytest.raises(RemoteError) as raised:
            list(chat_reply(on_llama, "deep learning " * 3000, max_new_tokens=8))
        assert raised.value.key in ("remote_cut_off", "remote_unreachable") and "Traceback" not in str(raised.value)
