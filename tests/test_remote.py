"""The hub's side of remote backends (--backend): the command line, what the tabs send, and every failure of an
engine said in plain words, fast and bounded, while the other tabs keep working. The engine here is scripted
(tests/scripted_engine.py) to play faults; real models answer in tests/test_serve.py and test_llama_cpp.py."""
import json
import time
from types import MappingProxyType

import pytest
from huggingface_hub import constants
from scripted_engine import Answer, closed_port_url, scripted_engine

from command_line import parse_args, settings_from_args
from demos.common import Refusal
from demos.models_panel import backend_rows
from demos.ner import ner
from demos.text_generation import chat_reply, complete_text
from models.backends import RemoteError
from models.runtime import ModelRuntime
from models.settings import Settings
from tasks import TASK_KEYS

TOKEN = "hf_test_secret_token_123"
TEXT = "Alice works for Acme in Paris ."
ALICE = [{"entity_group": "PER", "score": 0.99, "word": "Alice", "start": 0, "end": 5}]


@pytest.fixture(autouse=True)
def engines_reachable(monkeypatch):
    """The tests run offline (conftest), which stops huggingface_hub's every call; these engines are local."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("ENGINE_TOKEN", TOKEN)


def on_engine(url: str, task: str = "ner", timeout_s: float = 10.0) -> ModelRuntime:
    return ModelRuntime(Settings(backends=MappingProxyType({task: url}), backend_token_env="ENGINE_TOKEN",
                                 request_timeout_s=timeout_s))


def failure(call) -> RemoteError:
    with pytest.raises(RemoteError) as raised:
        call()
    assert TOKEN not in str(raised.value)
    return raised.value


def test_backends_from_the_command_line_and_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_HUB_BACKENDS", "all=http://serve:8000 ner=http://old:1")
    settings = settings_from_args(parse_args(["--backend", "ner=https://ner.example/x",
                                              "--backend", "text_generation=http://127.0.0.1:8080/v1"]))
    assert settings.backends["ner"] == "https://ner.example/x"  # the command line wins over the environment
    assert settings.backends["text_generation"] == "http://127.0.0.1:8080/v1"
    assert settings.backends["digits"] == "http://serve:8000/digits"
    assert set(settings.backends) == set(TASK_KEYS)


@pytest.mark.parametrize("argv, words", [
    (["--backend", "nope=http://x:1"], "expected TASK=URL"),
    (["--backend", "ner=ftp://x"], "http:// or https://"),
    (["--backend", "ner"], "expected TASK=URL"),
    (["--backend", "ner=http://x:1", "--offline"], "--offline stops every call"),
])
def test_a_mistyped_backend_is_a_usage_error(argv, words, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse_args(argv)
    assert stopped.value.code == 2 and words in capsys.readouterr().err


def test_a_remote_task_sends_the_contract_and_the_token_and_shows_the_engine_alone():
    with scripted_engine(Answer(body=ALICE)) as engine:
        runtime = on_engine(f"{engine.url}/ner?key=k")
        [spec] = runtime.choices("ner")
        highlighted, rows = ner(runtime, TEXT, spec.name)
    assert spec.label == f"{engine.url}/ner · remote"  # no query: it can hold a key
    sent = engine.requests[0]
    assert sent["path"] == "/ner?key=k"
    assert json.loads(sent["body"]) == {"inputs": TEXT, "parameters": {"aggregation_strategy": "simple"}}
    assert sent["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert highlighted["entities"] == [{"entity": "PER", "start": 0, "end": 5}] and rows[0][:2] == ["Alice", "PER"]
    assert runtime.loaded() == []  # nothing was loaded here


def test_a_login_in_the_url_is_never_shown():
    runtime = on_engine("http://user:password@127.0.0.1:9/ner")
    [spec] = runtime.choices("ner")
    error = failure(lambda: ner(runtime, TEXT))
    assert all("password" not in text for text in (spec.label, spec.name, str(error), *backend_rows(runtime)[0]))


def test_an_engine_that_is_down_is_said_so_at_once():
    runtime = on_engine(closed_port_url())
    started = time.monotonic()
    error = failure(lambda: ner(runtime, TEXT))
    assert error.key == "remote_unreachable" and "cannot be reached" in str(error)
    assert time.monotonic() - started < 5
    assert backend_rows(runtime)[0][2] == "cannot be reached"


def test_a_loading_model_is_waited_for_with_its_estimated_time_as_progress():
    said = []
    with scripted_engine(Answer(503, {"error": "Model is loading", "estimated_time": 1.5}), Answer(body=ALICE)) \
            as engine:
        highlighted, _ = ner(on_engine(engine.url), TEXT, progress=lambda fraction, message: said.append(message))
    assert highlighted["entities"] and len(engine.requests) == 2
    assert said == [f"The engine at {engine.url} is loading its model (about 2 s more)…"]


@pytest.mark.parametrize("answer, key, words", [
    (Answer(401, {"error": "Invalid credentials"}), "remote_refused_token", "ENGINE_TOKEN"),
    (Answer(422, {"error": "inputs must be shorter"}), "remote_refused", "inputs must be shorter"),
    (Answer(500, {"error": "CUDA out of memory"}), "remote_failed", "HTTP 500"),
    (Answer(503, {"error": "overloaded"}), "remote_loading", "still loading"),
    (Answer(200, b"<html>not json</html>"), "remote_bad_answer", "cannot read"),
    (Answer(200, {"unexpected": "shape"}), "remote_bad_answer", "cannot read"),
])
def test_each_failure_of_an_engine_has_its_plain_words(answer, key, words):
    with scripted_engine(answer) as engine:
        error = failure(lambda: ner(on_engine(engine.url), TEXT))
    assert error.key == key and words in str(error)
    assert "Traceback" not in str(error)


def test_an_engine_that_does_not_answer_in_time_is_given_up_on():
    with scripted_engine(Answer(body=ALICE, delay_s=5)) as engine:
        started = time.monotonic()
        error = failure(lambda: ner(on_engine(engine.url, timeout_s=1), TEXT))
    assert error.key == "remote_timeout" and time.monotonic() - started < 4


def chunk(text):
    return {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def test_a_chat_stream_cut_short_ends_in_plain_words_after_what_came():
    listing = Answer(body={"object": "list", "data": [{"id": "tiny-qwen"}]})
    with scripted_engine(listing, Answer(events=[chunk("Hel"), chunk("lo")])) as engine:
        replies = []
        with pytest.raises(RemoteError) as raised:
            for text in chat_reply(on_engine(engine.url + "/v1", "text_generation"), "Hi", max_new_tokens=8):
                replies.append(text)
    assert replies == ["Hel", "Hello"]
    assert raised.value.key == "remote_cut_off"
    sent = engine.requests[1]
    assert sent["path"] == "/v1/chat/completions"
    assert json.loads(sent["body"]) | {"messages": None} == {
        "model": "tiny-qwen", "messages": None, "stream": True, "max_tokens": 8, "temperature": 0.7, "top_p": 0.9,
        "seed": 0}


def test_a_remote_tab_takes_no_typed_in_model_and_no_text_to_continue():
    runtime = on_engine("http://127.0.0.1:9/v1", "text_generation")
    with pytest.raises(RemoteError, match="typed-in model ids are not available"):
        next(chat_reply(runtime, "Hi", custom_model="owner/model"))
    with pytest.raises(Refusal, match="serves chat"):
        next(complete_text(runtime, "Once upon a time"))


def test_a_model_named_after_the_url_is_asked_for_without_listing_the_engine():
    done = {"index": 0, "delta": {}, "finish_reason": "stop"}
    with scripted_engine(Answer(events=[chunk("Hi"), {**chunk(""), "choices": [done]}])) as engine:
        runtime = on_engine(f"{engine.url}/v1#Qwen/Qwen2.5-7B-Instruct", "text_generation")
        assert list(chat_reply(runtime, "Hello", max_new_tokens=4)) == ["Hi"]
    [sent] = engine.requests
    assert sent["path"] == "/v1/chat/completions" and json.loads(sent["body"])["model"] == "Qwen/Qwen2.5-7B-Instruct"
