"""The hub's side of remote backends (--backend): the command line, what the tabs send, and every failure of an
engine said in plain words, fast and bounded, while the other tabs keep working. The engine here is scripted
(tests/scripted_engine.py) to play faults; real models answer in tests/test_serve.py and test_llama_cpp.py."""
import base64
import gzip
import json
import logging
import time
from types import MappingProxyType

import pytest
from huggingface_hub import constants
from huggingface_hub.utils import get_session
from scripted_engine import Answer, closed_port_url, scripted_engine

from command_line import parse_args, settings_from_args
from demos.models_panel import backend_rows
from engines.context import Context
from engines.ner import ner
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from engines.text_generation import chat_reply, complete_text
from models import backends
from models.backends import RemoteError
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


def test_all_puts_each_task_on_the_path_and_keeps_the_query():
    settings = settings_from_args(parse_args(["--backend", "all=http://serve:8000/?api_key=K"]))
    assert settings.backends["digits"] == "http://serve:8000/digits?api_key=K"


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
    assert sent["headers"]["accept-encoding"] == "identity"  # so that the size cap bounds what memory holds
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
        highlighted, _ = ner(on_engine(engine.url), TEXT,
                             context=Context.starting(10.0, progress=lambda fraction, message: said.append(message)))
    assert highlighted["entities"] and len(engine.requests) == 2
    assert said == [f"The engine at {engine.url} is loading its model (about 2 s more)…"]


@pytest.mark.parametrize("answer, key, words", [
    (Answer(401, {"error": "Invalid credentials"}), "remote_refused_token", "ENGINE_TOKEN"),
    (Answer(422, {"error": "inputs must be shorter"}), "remote_refused", "inputs must be shorter"),
    (Answer(500, {"error": "CUDA out of memory"}), "remote_failed", "HTTP 500"),
    (Answer(503, {"error": "overloaded"}), "remote_loading", "still loading"),
    (Answer(200, b"<html>not json</html>"), "remote_bad_answer", "cannot read"),
    (Answer(200, {"unexpected": "shape"}), "remote_bad_answer", "cannot read"),
    (Answer(200, gzip.compress(json.dumps(ALICE).encode()), headers={"content-encoding": "gzip"}),
     "remote_bad_answer", "cannot read"),  # compressed though asked for none: its size would be unknown
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


def chunk(text, finish_reason=None):
    return {"id": "1", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish_reason}]}


@pytest.mark.parametrize("reason, said", [("length", "stopped at its 8 new tokens"), ("stop", None)])
def test_a_remote_reply_cut_at_the_token_limit_says_so(reason, said):
    warnings = []
    listing = Answer(body={"object": "list", "data": [{"id": "tiny-qwen"}]})
    stream = Answer(events=[chunk("Hel"), chunk("lo", reason)])
    with scripted_engine(listing, stream) as engine:
        replies, _ = chat_until_done(on_engine(engine.url + "/v1", "text_generation"), warn=warnings.append)
    assert replies[-1] == "Hello"
    assert [said in warning for warning in warnings] == ([True] if said else [])


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


PASSWORD, KEY = "S3cretPW-of-alice", "SeCrEtKey42"
LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "huggingface_hub", "urllib3", "demo_hub")


def done(text=""):
    return {**chunk(text), "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]}


def test_an_engines_login_key_and_token_never_reach_the_log_at_any_level(caplog):
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:  # whatever level other code left them at
        caplog.set_level(logging.DEBUG, logger=name)
    listing = Answer(body={"object": "list", "data": [{"id": "tiny-qwen"}]})
    with scripted_engine(Answer(body={}), Answer(body=ALICE)) as ner_engine, \
            scripted_engine(listing, listing, Answer(events=[chunk("Hi"), done()])) as chat_engine:
        ner_url = ner_engine.url.replace("//", f"//alice:{PASSWORD}@") + f"/ner?api_key={KEY}"
        runtime = ModelRuntime(Settings(backends=MappingProxyType({
            "ner": ner_url, "text_generation": f"{chat_engine.url}/v1?api_key={KEY}"}),
            backend_token_env="ENGINE_TOKEN"))
        rows = backend_rows(runtime)
        assert [row[2] for row in rows] == ["answering", "answering"]
        assert ner(runtime, TEXT)[0]["entities"]
        assert list(chat_reply(runtime, "Hello", max_new_tokens=4)) == ["Hi"]
    try:  # a library's exception that names the URL, logged with its traceback
        raise ValueError(f"cannot read {ner_url}")
    except ValueError:
        logging.getLogger("some.library").exception("failed")
    said = [record.getMessage() for record in caplog.records] + [caplog.text]
    assert any("HTTP Request" in text for text in said)  # the lines that carry the URLs were there to check
    assert not [text for text in said for secret in (PASSWORD, KEY, TOKEN) if secret in text]
    # ... and the engines still got them, each route on the URL's path with its query kept after it
    basic = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert [(sent["path"], sent["headers"]["authorization"]) for sent in ner_engine.requests] == [
        (f"/ner/health?api_key={KEY}", basic), (f"/ner?api_key={KEY}", basic)]
    assert [(sent["path"], sent["headers"]["authorization"]) for sent in chat_engine.requests] == [
        (f"/v1/models?api_key={KEY}", f"Bearer {TOKEN}")] * 2 + [
        (f"/v1/chat/completions?api_key={KEY}", f"Bearer {TOKEN}")]


def chat_until_done(runtime, give_up_s=10.0, warn=None) -> tuple[list[str], float]:
    """The chat's replies and how long it took; given up on after give_up_s (an endless chat would never end).
    `warn` hears the chat's warnings."""
    started, replies = time.monotonic(), []
    context = Context.starting(runtime.settings.request_timeout_s, warn=warn)
    for text in chat_reply(runtime, "Hi", max_new_tokens=8, context=context):
        replies.append(text)
        if time.monotonic() - started > give_up_s:
            break
    return replies, time.monotonic() - started


@pytest.mark.parametrize("stream", [
    Answer(events=[chunk("la ")], endless=True, every_s=0.01),  # a token every 10 ms, forever
    Answer(events=[chunk("la ")], then_wait_s=30),  # one token, then silence
], ids=["endless", "stalled"])
def test_a_chat_stream_stops_at_the_time_limit_keeps_its_reply_and_says_so(stream):
    warnings = []
    listing = Answer(body={"object": "list", "data": [{"id": "tiny-qwen"}]})
    with scripted_engine(listing, stream) as engine:
        replies, took = chat_until_done(on_engine(engine.url + "/v1", "text_generation", timeout_s=2),
                                        warn=warnings.append)
        assert 2 <= took < 3.5
        assert replies and replies[-1].startswith("la ")
        assert warnings == ["The reply stopped at the server's 2 s limit on a request's model time."]
        if stream.endless:
            assert engine.hung_up.wait(2)  # the stream was closed: the engine stops


@pytest.mark.parametrize("answer", [Answer(body=b"[" + b"0," * (1 << 20) + b"0]"), Answer(stream_bytes=100 << 20)],
                         ids=["declared", "streamed"])
def test_an_answer_over_the_size_cap_is_refused_in_plain_words(answer, monkeypatch):
    monkeypatch.setattr(backends, "MAX_ANSWER_BYTES", 1 << 20)
    with scripted_engine(answer) as engine:
        runtime = on_engine(engine.url)
        started = time.monotonic()
        error = failure(lambda: ner(runtime, TEXT))
        assert error.key == "remote_too_large" and "larger than 1 MB" in str(error)
        assert time.monotonic() - started < 5
        assert engine.sent_bytes < 32 << 20  # read as it came and given up at the cap: never held whole
        assert backend_rows(runtime)[0][2] == "sent an answer over the size limit, refused"


def test_a_redirect_is_not_followed_and_said_plainly_while_the_hub_downloads_still_follow_them():
    with scripted_engine(Answer(302, b"", headers={"location": "/moved"})) as engine:
        runtime = on_engine(f"{engine.url}/ner")
        error = failure(lambda: ner(runtime, TEXT))
        assert error.key == "remote_redirect" and "redirect" in str(error) and "--backend" in str(error)
        assert backend_rows(runtime)[0][2].startswith("redirects")
        assert [sent["path"] for sent in engine.requests] == ["/ner", "/ner/health"]  # never /moved
    with scripted_engine(Answer(302, b"", headers={"location": "/moved"}), Answer(body={})) as hub:
        assert get_session().get(f"{hub.url}/file").status_code == 200
        assert [sent["path"] for sent in hub.requests] == ["/file", "/moved"]


def test_a_model_named_by_its_server_path_shows_as_its_file_name():
    listing = Answer(body={"object": "list", "data": [{"id": "/srv/private/models/smollm2-135m.Q4_1.gguf"}]})
    with scripted_engine(listing) as engine:
        rows = backend_rows(on_engine(engine.url + "/v1", "text_generation"))
    assert rows[0][2] == "answering" and rows[0][3] == "smollm2-135m.Q4_1.gguf" and "/srv" not in str(rows)
