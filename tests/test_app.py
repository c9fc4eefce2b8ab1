import json
import subprocess
import sys
import time
import urllib.request

import pytest
from gradio_client.exceptions import AppError

import app as hub_app
import demos
from conftest import ROOT
from engines.runtime import ModelRuntime
from models.settings import Settings
from raw_api import serve_here

ENDPOINTS = demos.ENDPOINTS


@pytest.mark.slow
def test_building_the_app_loads_nothing_heavy():
    code = (
        "import sys, app; a = app.build_app(); "
        "print(sorted(m for m in ('transformers', 'diffusers', 'torchvision', 'librosa') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_ner_through_the_api(runtime, connect):
    client = connect(hub_app.build_app(runtime))
    assert runtime.cache.load_count == 0
    assert "/ner" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    text = "Angela works for Airbus in Paris."
    model = runtime.default("ner").name
    highlighted, table = client.predict(text, model, "", api_name="/ner")
    assert isinstance(highlighted, list) and "".join(part["token"] for part in highlighted) == text
    assert table["headers"] == ["entity", "type", "score", "start", "end"]
    for word, kind, _score, start, end in table["data"]:
        assert text[start:end] == word and kind in {"PER", "ORG", "LOC", "MISC"}
    client.predict("Bob lives in London.", model, "", api_name="/ner")
    assert runtime.cache.load_count == 1


def test_offline_uncached_model_gives_guidance_and_the_app_keeps_serving(runtime, connect, hf_cache):
    client = connect(hub_app.build_app(runtime))
    started = time.perf_counter()
    with pytest.raises(AppError) as raised:
        client.predict("Alice is in Paris.", runtime.default("ner").name, "someone/uncached-ner-model", api_name="/ner")
    assert time.perf_counter() - started < 10
    message = str(raised.value)
    assert "python app.py --download someone/uncached-ner-model" in message
    assert "Traceback" not in message
    highlighted, _ = client.predict("Alice is in Paris.", runtime.default("ner").name, "", api_name="/ner")
    assert highlighted


def test_bad_inputs_through_the_api_are_plain_errors(runtime, connect):
    client = connect(hub_app.build_app(runtime))
    model = runtime.default("ner").name
    for text, words in [("", "enter some text"), ("x" * 10_001, "at most 10,000")]:
        with pytest.raises(AppError, match=words):
            client.predict(text, model, "", api_name="/ner")
    with pytest.raises(AppError, match="not a Hugging Face model id"):
        client.predict("Alice", model, "../../etc/passwd", api_name="/ner")


def test_models_panel_lists_and_unloads(runtime):
    from demos import models_panel
    from engines.ner import ner

    ner(runtime, "Alice in Paris")
    summary, rows, _, _ = models_panel.refresh(runtime)
    assert runtime.device in summary and "float32" in summary
    assert len(rows) == 1 and rows[0][0] == runtime.default("ner").name and rows[0][2] > 0  # MB
    _, rows, _, _ = models_panel.unload(runtime, models_panel.ALL)
    assert rows == [] and runtime.loaded() == []


def test_cli_parses_every_flag(monkeypatch, tmp_path):
    monkeypatch.setenv(hub_app.AUTH_ENV, "ada:secret")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    args = hub_app.parse_args(["--model", f"ner={tmp_path}", "--device", "cpu", "--offline", "--no-custom-models"])
    assert args.auth == ("ada", "secret") and args.port == 7999
    settings = hub_app.settings_from_args(args)
    assert settings.model_overrides == {"ner": str(tmp_path)}
    assert settings.device == "cpu" and settings.offline and not settings.custom_models
    assert hub_app.parse_args(["--download"]).download == []
    assert hub_app.parse_args(["--download", "ner"]).download == ["ner"]
    assert hub_app.parse_args(["--download", "Davlan/bert-base-multilingual-cased-ner-hrl"]).download
    assert hub_app.parse_args(["--device-concurrency", "2"]).device_concurrency == 2
    for bad in (["--download", "../x"], ["--model", "nosuchtask=x"], ["--model", "ner"], ["--auth", "nopassword"], ["--device", "tpu"]):
        with pytest.raises(SystemExit):
            hub_app.parse_args(bad)


def test_custom_id_field_is_hidden_when_turned_off(tiny_ner_dir):
    app = hub_app.build_app(ModelRuntime(Settings(custom_models=False, model_overrides={"ner": str(tiny_ner_dir)})))
    config = app.get_config_file()
    custom = [c for c in config["components"] if "custom_model" in str(c.get("props", {}).get("label"))]
    assert custom and all(c["props"]["visible"] is False for c in custom)


def test_python_app_py_serves_http_200(tiny_ner_dir):
    from benchmarks.serving import free_port, serve, stop

    port = free_port()
    server, _ = serve([sys.executable, "app.py", "--offline", "--port", str(port), "--model", f"ner={tiny_ner_dir}"],
                      port, timeout=90)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5) as response:
            assert json.load(response)["title"] == hub_app.TITLE
    finally:
        stop(server)


def test_every_tab_endpoint_is_listed(runtime, connect):
    client = connect(hub_app.build_app(runtime))
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {f"/{endpoint.api_name}" for endpoint in ENDPOINTS} <= set(endpoints)


def test_translate_through_the_api(runtime, connect):
    client = connect(hub_app.build_app(runtime))
    marian = runtime.default("translation").name
    out = client.predict("The cat sleeps.\n\nGood morning.", "en", "zh", marian, "", api_name="/translate")
    assert isinstance(out, str) and len(out.split("\n")) == 3
    with pytest.raises(AppError, match="pick M2M100"):
        client.predict("Guten Tag", "de", "fr", "opus-mt", "", api_name="/translate")


def _wait_for(condition, seconds=20.0):
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_chat_streams_through_the_api_and_cancel_stops_the_model(runtime, connect):
    client = connect(hub_app.build_app(runtime))
    model = runtime.default("text_generation").name
    job = client.submit("Tell me a story", model, "", 40, 0.7, 0.9, 1, api_name="/chat")
    parts = list(job)
    assert len(parts) >= 2 and parts[-1].startswith(parts[0]) and len(parts[-1]) > len(parts[0])
    lm = runtime.load(runtime.default("text_generation"))
    before = lm.tokens_generated
    job = client.submit("Go on", model, "", 1024, 0.7, 0.9, 2, api_name="/chat")
    _wait_for(lambda: len(job.outputs()) >= 2)
    job.cancel()
    _wait_for(lambda: lm.tokens_generated > before)  # the worker has finished
    assert lm.tokens_generated - before < 1024
    assert client.predict("Hi", model, "", 5, 0, 0.9, 0, api_name="/chat") is not None


def test_a_stream_reaches_the_page_paced_and_always_with_its_first_words_and_its_end():
    from demos.endpoints import paced

    assert list(paced(iter(range(100)), every_s=60)) == [0, 1, 99]  # the echo, the first words, the whole answer
    assert list(paced(iter(range(2)), every_s=60)) == [0, 1]

    def slow():
        for part in range(4):
            time.sleep(0.03)
            yield part

    assert list(paced(slow(), every_s=0.01)) == [0, 1, 2, 3]


def test_complete_streams_through_the_api(runtime, connect):
    client = connect(hub_app.build_app(runtime))
    model = runtime.default("text_generation").name
    job = client.submit("Once upon a time", model, "", 20, 0.7, 0.9, 3, api_name="/complete")
    parts = list(job)
    assert len(parts) >= 2 and all(p.startswith("Once upon a time") for p in parts)
    with pytest.raises(AppError, match="temperature must be between 0 and 2"):
        client.predict("Once", model, "", 20, 5, 0.9, 3, api_name="/complete")


def test_classify_image_through_the_api(runtime, connect, tmp_path):
    from gradio_client import handle_file

    from demos.image_classification import EXAMPLES

    client = connect(hub_app.build_app(runtime))
    model = runtime.default("image_classification").name
    result = client.predict(handle_file(EXAMPLES[0]), model, "", api_name="/classify_image")
    assert len(result["confidences"]) == 5 and result["label"] == result["confidences"][0]["label"]
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not a png at all")
    with pytest.raises(AppError, match="not an image"):
        client.predict(handle_file(str(fake)), model, "", api_name="/classify_image")
    with pytest.raises(AppError, match="upload a file"):
        client.predict(None, model, "", api_name="/classify_image")


def test_transcribe_through_the_api(runtime, connect, tmp_path):
    from gradio_client import handle_file

    from demos.speech_to_text import EXAMPLES

    client = connect(hub_app.build_app(runtime))
    model = runtime.default("speech_to_text").name
    text, segments = client.predict(handle_file(EXAMPLES[0]), model, "", "en", "transcribe", api_name="/transcribe")
    assert isinstance(text, str) and segments["headers"] == ["start (s)", "end (s)", "text"]
    fake = tmp_path / "speech.wav"
    fake.write_bytes(b"RIFF but not really")
    with pytest.raises(AppError, match="not audio"):
        client.predict(handle_file(str(fake)), model, "", "en", "transcribe", api_name="/transcribe")


def test_share_turns_custom_model_ids_off_unless_allowed():
    def settings(*flags):
        return hub_app.settings_from_args(hub_app.parse_args(list(flags)))

    assert settings().custom_models
    assert not settings("--share").custom_models
    assert settings("--share", "--allow-custom-models").custom_models
    assert not settings("--no-custom-models").custom_models


def test_on_spaces_the_app_binds_all_interfaces_and_never_shares(monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/demo-hub")
    args = hub_app.parse_args(["--share"])
    assert args.host == "0.0.0.0" and args.share is False


def test_zero_gpu_wraps_model_handlers_and_preloads_on_cuda(monkeypatch):
    import types

    from demos.endpoints import model_handler

    wrapped = []
    fake_spaces = types.ModuleType("spaces")
    fake_spaces.GPU = lambda fn: wrapped.append(fn) or fn
    monkeypatch.setitem(sys.modules, "spaces", fake_spaces)

    def handler(text):
        return text

    assert model_handler(handler)("x") == "x" and wrapped == []  # no ZeroGPU: nothing changes
    assert hub_app.parse_args([]).device == "auto"
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert model_handler(handler)("x") == "x" and len(wrapped) == 1
    args = hub_app.parse_args([])
    assert args.device == "cuda" and args.preload


def test_mcp_server_lists_every_tab_as_a_tool(runtime):
    import httpx

    app = hub_app.build_app(runtime)
    serve_here(app, mcp_server=True)
    try:
        schema = httpx.get(app.local_url + "gradio_api/mcp/schema", timeout=30).json()
        tools = {tool["name"] for tool in schema}
        # tools are named after the endpoints' functions, described by their docstrings
        assert tools == {endpoint.fn.__name__ for endpoint in ENDPOINTS}
        assert tools >= {"ner", "translate_text", "chat_reply", "complete_text", "classify_image", "transcribe_audio",
                         "generate_gan", "interpolate_gan", "pix2pix", "edit_image", "detect_objects",
                         "classify_sentiment", "recognize_digit", "measure_optimisations"}, \
            "MCP clients know them by name: a tool may be added, none renamed or removed"
        described = {tool["name"]: tool["description"] for tool in schema}
        assert "named entities" in described["ner"]
    finally:
        app.close()


def test_errors_speak_the_browsers_language(runtime, connect):
    from gradio_client import Client

    english = connect(hub_app.build_app(runtime))
    chinese = Client(english.src, verbose=False, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    with pytest.raises(AppError, match="Please enter some text first"):
        english.predict("", api_name="/ner")
    with pytest.raises(AppError, match="请先输入文本"):
        chinese.predict("", api_name="/ner")
    with pytest.raises(AppError, match="不是 Hugging Face 模型 ID"):
        chinese.predict("Alice", runtime.default("ner").name, "../x", api_name="/ner")
