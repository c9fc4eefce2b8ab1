"""A hostile user of a public link, through the raw HTTP API and MCP: server files, memory bombs, poisoned
batches, history and body bombs, logins, uploads, the queue and the operator's controls."""
import asyncio
import base64
import io
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio.utils import get_upload_folder
from PIL import Image

import app as hub_app
from conftest import ROOT
from demos import image_classification, speech_to_text
from models.runtime import ModelRuntime
from models.settings import Settings

SERVER_IMAGE = str(Path(image_classification.EXAMPLES[0]).resolve())  # files on the server, never uploaded
SERVER_AUDIO = str(Path(speech_to_text.EXAMPLES[0]).resolve())


@pytest.fixture(scope="module")
def tiny_overrides(tiny_ner_dir, tiny_marian_dir, tiny_chat_lm_dir, tiny_resnet_dir, tiny_ctc_dir,
                   tiny_instruct_pix2pix_dir):
    paths = {"ner": tiny_ner_dir, "translation": tiny_marian_dir, "text_generation": tiny_chat_lm_dir,
             "image_classification": tiny_resnet_dir, "speech_to_text": tiny_ctc_dir,
             "gan": "assets:dcgan-digits", "pix2pix": "assets:pix2pix-scenes", "image_editing": tiny_instruct_pix2pix_dir}
    return {task: str(path) for task, path in paths.items()}


def launch(overrides, launch_options=None, **settings):
    """An app on tiny models with these settings; returns (app, runtime, base URL)."""
    runtime = ModelRuntime(Settings(model_overrides=overrides, **settings))
    app = hub_app.build_app(runtime)
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **(launch_options or {}))
    return app, runtime, app.local_url.rstrip("/")


@pytest.fixture(scope="module")
def served(tiny_overrides):
    app, runtime, base = launch(tiny_overrides)
    yield runtime, base, {task: runtime.default(task).name for task in tiny_overrides}
    app.close()


def call(base: str, endpoint: str, data: list, headers: dict | None = None) -> tuple[int, str]:
    """(HTTP status, the event stream or the refusal) of a raw API call. The JSON is ASCII, with \\u escapes, so
    that it can carry what UTF-8 cannot (lone surrogates), as a browser's JSON.stringify does."""
    posted = httpx.post(f"{base}/gradio_api/call/{endpoint}", content=json.dumps({"data": data}),
                        headers={"Content-Type": "application/json", **(headers or {})}, timeout=30)
    if posted.status_code != 200:
        return posted.status_code, posted.text
    return 200, httpx.get(f"{base}/gradio_api/call/{endpoint}/{posted.json()['event_id']}", timeout=120).text


def upload(base: str, path: str, headers: dict | None = None) -> dict:
    with open(path, "rb") as file:
        answer = httpx.post(f"{base}/gradio_api/upload", files=[("files", (Path(path).name, file))], headers=headers,
                            timeout=30)
    answer.raise_for_status()
    return {"path": answer.json()[0], "meta": {"_type": "gradio.FileData"}}


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# --- 1. No request reads a server file ------------------------------------------------------------------------

FILE_SHAPES = {
    "with meta": lambda path: {"path": path, "meta": {"_type": "gradio.FileData"}},
    "without meta": lambda path: {"path": path},
    "wrong meta": lambda path: {"path": path, "meta": {"_type": "something.else"}},
    "plain path": lambda path: path,
}
FILE_ENDPOINTS = {
    "classify_image": (SERVER_IMAGE, lambda file, m: [file, m["image_classification"], ""]),
    "transcribe": (SERVER_AUDIO, lambda file, m: [file, m["speech_to_text"], "", "en", "transcribe"]),
    "pix2pix": (SERVER_IMAGE, lambda file, m: [{"background": None, "layers": [], "composite": file}, m["pix2pix"], ""]),
    "edit_image": (SERVER_IMAGE, lambda file, m: [file, "make it red", m["image_editing"], "", 2, 1.5, 7.5, 0]),
}


@pytest.mark.parametrize("shape", FILE_SHAPES)
@pytest.mark.parametrize("endpoint", FILE_ENDPOINTS)
def test_no_endpoint_reads_a_server_file_in_any_shape(served, endpoint, shape):
    runtime, base, models = served
    server_file, arguments = FILE_ENDPOINTS[endpoint]
    status, answer = call(base, endpoint, arguments(FILE_SHAPES[shape](server_file), models))
    assert "event: complete" not in answer, answer[:500]
    assert status != 200 or "event: error" in answer
    assert call(base, "ner", ["Alice is in Paris.", models["ner"], ""])[1].count("event: complete") == 1


def test_a_link_in_the_upload_folder_to_a_server_file_is_refused(served):
    runtime, base, models = served
    folder = Path(get_upload_folder()) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    (folder / "cat.jpg").symlink_to(SERVER_IMAGE)
    status, answer = call(base, "classify_image", [{"path": str(folder / "cat.jpg")}, models["image_classification"], ""])
    assert "event: error" in answer and "not an upload" in answer


def test_the_same_file_uploaded_is_classified(served):
    runtime, base, models = served
    status, answer = call(base, "classify_image", [upload(base, SERVER_IMAGE), models["image_classification"], ""])
    assert "event: complete" in answer and "confidences" in answer


# --- 2. Image memory bombs -------------------------------------------------------------------------------------

def test_a_strip_of_pixels_is_refused_before_it_is_resized(served, tmp_path):
    runtime, base, models = served
    strip = tmp_path / "strip.png"
    strip.write_bytes(png_bytes(Image.new("RGB", (100_000, 1), (90, 20, 200))))  # 300 KB; 19.7 GB at 256 px
    for endpoint, data in [("classify_image", [upload(base, str(strip)), models["image_classification"], ""]),
                           ("pix2pix", [{"background": None, "layers": [], "composite": upload(base, str(strip))},
                                        models["pix2pix"], ""])]:
        status, answer = call(base, endpoint, data)
        assert "event: error" in answer and "a strip, not a picture" in answer


# --- 3. A bad request fails alone, whatever shares its batch ---------------------------------------------------

def test_a_poisoned_request_among_batched_ones_fails_alone(served, tmp_path):
    runtime, base, models = served
    strip = tmp_path / "strip.png"
    strip.write_bytes(png_bytes(Image.new("RGB", (10_000, 1))))
    photo, bad_picture = upload(base, SERVER_IMAGE), upload(base, str(strip))
    for endpoint, good, bad, words in [
        ("ner", "Alice met Bob in Paris.", "Alice \ud800 Paris", "unpaired UTF-16 surrogates"),
        ("classify_image", photo, bad_picture, "a strip, not a picture"),
    ]:
        model = models["ner" if endpoint == "ner" else "image_classification"]
        sizes_before = len(runtime.batcher.batch_sizes)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda value: call(base, endpoint, [value, model, ""])[1], [good] * 3 + [bad] + [good] * 4))
        assert "event: error" in answers[3] and words in answers[3]
        assert all("event: complete" in answer for i, answer in enumerate(answers) if i != 3), answers
        assert max(runtime.batcher.batch_sizes[sizes_before:]) > 1, "the good requests were batched"


def test_a_lone_surrogate_in_any_field_gets_plain_words(served):
    runtime, base, models = served
    for data, words in [(["Alice \ud800", models["ner"], ""], "unpaired UTF-16 surrogates"),
                        (["Alice", "\udfff-model", ""], "Unknown model"),
                        (["Alice", models["ner"], "a/\ud800"], "not a Hugging Face model id")]:
        status, answer = call(base, "ner", data)
        assert "event: error" in answer and words in answer, answer[-300:]
    assert call(base, "ner", ["Alice is in Paris.", models["ner"], ""])[1].count("event: complete") == 1


# --- 4. History and body bombs ---------------------------------------------------------------------------------

def test_a_huge_chat_history_is_cut_before_any_tokenizer_sees_it():
    from demos import text_generation as tg

    history = [{"role": "user" if i % 2 else "assistant", "content": f"turn {i} " + "x" * 5_000} for i in range(1_000)]
    kept = tg.recent_turns(history)
    assert len(kept) <= tg.MAX_HISTORY_MESSAGES
    assert sum(len(turn["content"]) for turn in kept) <= tg.MAX_HISTORY_CHARS
    assert kept[-1]["content"].startswith("turn 999 "), "the latest turns are the ones kept"
    assert tg.recent_turns(history[-4:]) == [{"role": t["role"], "content": t["content"]} for t in history[-4:]]
    with pytest.raises(Exception, match="must be a list of messages"):
        tg.recent_turns({"role": "user", "content": "hi"})


def test_request_bodies_are_bounded(served):
    runtime, base, models = served
    history = [{"role": "user", "content": "x" * 5_000}] * 1_000  # 5 MB
    status, answer = call(base, "chat", ["Hi", history, models["text_generation"], "", 8, 0.7, 0.9, 0])
    assert status == 413 and "at most 2 MB" in answer
    body = json.dumps({"data": ["x" * 20 * 2**20], "fn_index": 0, "session_hash": "s"})
    posted = httpx.post(f"{base}/gradio_api/queue/join", content=body, headers={"Content-Type": "application/json"},
                        timeout=30)
    assert posted.status_code == 413 and "at most 2 MB" in posted.json()["detail"]
    assert call(base, "ner", ["Alice is in Paris.", models["ner"], ""])[1].count("event: complete") == 1


# --- 5. --auth covers MCP; logins are throttled ----------------------------------------------------------------

MCP_INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-03-26", "capabilities": {},
                             "clientInfo": {"name": "test", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def uploads_on_disk() -> int:
    return sum(1 for path in Path(get_upload_folder()).rglob("*") if path.is_file())


def test_with_auth_mcp_needs_the_login_and_nothing_is_written_before(tiny_overrides, tiny_ner_dir):
    app, runtime, base = launch(tiny_overrides, login_required=True,
                                launch_options={"auth": ("ada", "secret-pw"), "mcp_server": True})
    try:
        mcp = f"{base}/gradio_api/mcp/"
        assert httpx.post(mcp, json=MCP_INITIALIZE, headers=MCP_HEADERS, timeout=30).status_code == 401
        assert httpx.get(f"{base}/gradio_api/mcp/schema", timeout=30).status_code == 401
        picture = "data:image/png;base64," + base64.b64encode(png_bytes(Image.new("RGB", (64, 64)))).decode()
        call_tool = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                     "params": {"name": "classify_image", "arguments": {"image": picture}}}
        before = uploads_on_disk()
        for _ in range(3):
            assert httpx.post(mcp, json=call_tool, headers=MCP_HEADERS, timeout=30).status_code == 401
        assert uploads_on_disk() == before
        assert httpx.post(mcp, json=MCP_INITIALIZE, headers={**MCP_HEADERS, **basic("ada", "wrong")},
                          timeout=30).status_code == 401
        assert httpx.post(mcp, json=MCP_INITIALIZE, headers={**MCP_HEADERS, **basic("ada", "secret-pw")},
                          timeout=30).status_code == 200
        schema = httpx.get(f"{base}/gradio_api/mcp/schema", headers=basic("ada", "secret-pw"), timeout=30)
        assert schema.status_code == 200 and "classify_image" in schema.text
        assert str(tiny_ner_dir) not in schema.text and "local:" in schema.text
        entities = asyncio.run(mcp_tool_call(mcp, basic("ada", "secret-pw"), "ner",
                                             {"text": "Alice lives in Paris.", "model": runtime.default("ner").name}))
        assert "Alice" in entities, "a tool call with the login runs (as the operator)"
    finally:
        app.close()


async def mcp_tool_call(url: str, headers: dict, tool: str, arguments: dict) -> str:
    """The text of a tool's answer, through a real MCP client session (streamable HTTP)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx.AsyncClient(headers=headers, timeout=60) as http, \
            streamable_http_client(url, http_client=http) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool(tool, arguments)
    assert not result.isError, result.content
    return " ".join(getattr(part, "text", "") for part in result.content)


def test_failed_logins_are_throttled(tiny_overrides):
    app, runtime, base = launch(tiny_overrides, login_required=True, behind_proxy=True,
                                launch_options={"auth": ("ada", "secret-pw")})
    try:
        def login(password, address="198.51.100.1"):  # as the share tunnel reports its visitors
            return httpx.post(f"{base}/login", data={"username": "ada", "password": password},
                              headers={"X-Forwarded-For": address}, timeout=30)

        assert login("secret-pw").status_code == 200
        statuses = [login(f"guess-{i}").status_code for i in range(12)]
        assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]
        refused = login("secret-pw")
        assert refused.status_code == 429 and "Too many failed logins" in refused.json()["detail"]
        assert login("secret-pw", "203.0.113.9").status_code == 200, "another address is not locked out"
        with ThreadPoolExecutor(16) as pool:  # guesses sent at once are counted as they arrive
            burst = list(pool.map(lambda i: login(f"burst-{i}", "192.0.2.44").status_code, range(40)))
        assert burst.count(400) <= 10 and burst.count(429) >= 30, burst
    finally:
        app.close()


# --- 6. Public deployments ---------------------------------------------------------------------------------------

def test_every_public_deployment_turns_custom_ids_off_and_warns_without_auth(monkeypatch, caplog):
    def settings(*flags):
        return hub_app.settings_from_args(hub_app.parse_args(list(flags)))

    local = settings()
    assert not local.public and local.custom_models and local.operator_controls
    for flags in (["--share"], ["--host", "0.0.0.0"], ["--host", "192.168.1.20"]):
        public = settings(*flags)
        assert public.public and not public.custom_models and not public.operator_controls, flags
    assert settings("--host", "0.0.0.0", "--allow-custom-models").custom_models
    assert settings("--host", "0.0.0.0", "--auth", "ada:pw").operator_controls
    monkeypatch.setenv("SPACE_ID", "someone/demo-hub")
    on_spaces = settings()
    assert on_spaces.public and not on_spaces.custom_models
    with caplog.at_level("WARNING"):
        hub_app.warn_if_open_to_strangers(hub_app.parse_args([]), on_spaces)
    assert "without --auth" in caplog.text


def test_a_typed_in_model_is_sized_before_download_and_fetched_at_the_sized_commit(hf_cache, monkeypatch):
    from types import SimpleNamespace

    import huggingface_hub

    from models.errors import ModelLoadError
    from models.hub_files import resolve_model_dir
    from tasks import custom_spec

    files = [SimpleNamespace(rfilename="config.json", size=700), SimpleNamespace(rfilename="model.safetensors", size=12 * 2**30),
             SimpleNamespace(rfilename="model.fp16.safetensors", size=6 * 2**30)]  # never fetched, not counted
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info",
                        lambda self, *a, **k: SimpleNamespace(siblings=files, sha="c0ffee"))
    fetched = []

    def snapshot_download(*args, **kwargs):  # the Hub is not reachable from here: nothing is in the cache
        fetched.append((kwargs["local_files_only"], kwargs["revision"]))
        raise huggingface_hub.errors.LocalEntryNotFoundError("not cached")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    spec = custom_spec("ner", "someone/huge-ner")
    with pytest.raises(ModelLoadError, match="12.0 GB download; typed-in models may be at most 5 GB"):
        resolve_model_dir(spec, offline=False, allow_pickle=False, max_download_bytes=5 * 2**30)
    assert fetched == [(True, None)], "only the local cache was looked at"
    fetched.clear()
    with pytest.raises(ModelLoadError):
        resolve_model_dir(spec, offline=False, allow_pickle=False, max_download_bytes=20 * 2**30)
    assert fetched == [(True, None), (False, "c0ffee")], "fetched at the commit that was sized"


# --- 7. Disk and queue -------------------------------------------------------------------------------------------

def multipart(count: int, size: int) -> list:
    return [("files", (f"f{i}.bin", b"x" * size)) for i in range(count)]


def test_uploads_are_bounded_per_request_and_per_client(tiny_overrides):
    app, runtime, base = launch(tiny_overrides, max_upload_mb=1, public=True, behind_proxy=True)
    try:
        url = f"{base}/gradio_api/upload"
        too_big = httpx.post(url, files=multipart(3, 600_000), timeout=30)  # each file under 1 MB, all of them over
        assert too_big.status_code == 413 and "at most 1 MB" in too_big.json()["detail"]
        too_many = httpx.post(url, files=multipart(1_000, 10), timeout=30)
        assert too_many.status_code == 400 and "Too many files" in too_many.text
        assert httpx.post(url, files=multipart(1, 10), timeout=30).status_code == 200
        statuses = [httpx.post(url, files=multipart(1, 900_000), timeout=30).status_code for _ in range(12)]
        assert statuses[:10] == [200] * 10 and statuses[-1] == 429, statuses
        other = httpx.post(url, files=multipart(1, 900_000), headers={"X-Forwarded-For": "203.0.113.5"}, timeout=30)
        assert other.status_code == 200, "another visitor still has its own quota"
    finally:
        app.close()


def test_old_uploads_are_deleted(tiny_overrides, monkeypatch, tmp_path):
    monkeypatch.setattr(hub_app, "CACHE_CLEANING", (1, 1))
    app, runtime, base = launch(tiny_overrides)
    try:
        fresh = tmp_path / "fresh.bin"
        fresh.write_bytes(uuid.uuid4().bytes)  # not an example: Gradio keeps those
        path = Path(upload(base, str(fresh))["path"])
        assert path.exists()
        deadline = time.time() + 20
        while path.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert not path.exists()
    finally:
        app.close()


def test_one_client_cannot_fill_the_queue(tiny_overrides):
    app, runtime, base = launch(tiny_overrides, public=True, behind_proxy=True)
    try:
        model = runtime.default("text_generation").name
        body = {"data": ["Once upon a time", model, "", 400, 0.7, 0.9, 0]}

        def post(address="198.51.100.7"):
            return httpx.post(f"{base}/gradio_api/call/complete", json=body, headers={"X-Forwarded-For": address},
                              timeout=30)

        with ThreadPoolExecutor(16) as pool:  # sent at once: each is counted from the moment it arrives
            statuses = [answer.status_code for answer in pool.map(lambda _: post(), range(30))]
        assert statuses.count(200) <= 1 + 8 + 1 and statuses.count(429) >= 20, statuses  # running, waiting
        refused = post()
        assert refused.status_code == 429 and "requests waiting" in refused.json()["detail"]
        assert post("203.0.113.7").status_code == 200, "another visitor still gets a place"
    finally:
        app.close()


def test_a_client_cannot_choose_its_address_unless_our_proxy_reports_it():
    from http_guard import GuardLimits, HttpGuard

    def address(behind_proxy, peer, forwarded):
        scope = {"client": (peer, 5000), "headers": [(b"x-forwarded-for", forwarded.encode())]}
        return HttpGuard(None, GuardLimits(behind_proxy=behind_proxy)).client_address(scope)

    assert address(False, "127.0.0.1", "203.0.113.1") == "127.0.0.1"  # --host 0.0.0.0: no proxy of ours
    assert address(False, "10.0.0.8", "203.0.113.1") == "10.0.0.8"
    assert address(True, "127.0.0.1", "6.6.6.6, 203.0.113.1") == "203.0.113.1", "what the tunnel appended"
    assert address(True, "8.8.8.8", "203.0.113.1") == "8.8.8.8", "a stranger on the internet is no proxy"


def test_upload_limits_hold_under_a_root_path_and_an_odd_boundary(tiny_overrides):
    app, runtime, base = launch(tiny_overrides, max_upload_mb=1, launch_options={"root_path": "/hub"})
    try:
        for url in (f"{base}/gradio_api/upload", f"{base}/hub/gradio_api/upload"):  # proxy strips /hub, or not
            answer = httpx.post(url, files=multipart(3, 600_000), timeout=30)
            assert answer.status_code == 413, (url, answer.status_code)
        boundary = "realboundary"
        body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"f{i}.bin\"\r\n"
                        f"Content-Type: application/octet-stream\r\n\r\nx\r\n".encode() for i in range(50))
        body += f"--{boundary}--\r\n".encode()
        tricky = httpx.post(f"{base}/gradio_api/upload", content=body, timeout=30,
                            headers={"Content-Type": f"multipart/form-data; xboundary=decoy; boundary={boundary}"})
        assert tricky.status_code == 400 and "Too many files" in tricky.text
    finally:
        app.close()


# --- 8. The operator's controls and server paths -----------------------------------------------------------------

def test_no_server_path_reaches_a_client(served, tiny_overrides):
    runtime, base, models = served
    for page in ("/config", "/gradio_api/info"):
        text = httpx.get(base + page, timeout=30).text
        assert "local:" in text
        for path in [str(ROOT)] + [source for source in tiny_overrides.values() if source.startswith("/")]:
            assert path not in text, (page, path)


def test_unloading_is_the_operators_and_is_checked_on_the_server(tiny_overrides):
    from demos.ner import ner

    public_app, public_runtime, public_base = launch(tiny_overrides, public=True)
    local_app, local_runtime, local_base = launch(tiny_overrides)
    try:
        for runtime in (public_runtime, local_runtime):
            ner(runtime, "Alice in Paris")
        status, answer = call(public_base, "unload_models", ["All loaded models"])
        assert "event: error" in answer and "for the operator" in answer
        assert len(public_runtime.loaded()) == 1
        config = httpx.get(public_base + "/config", timeout=30).json()
        (unload_button,) = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "unload-models"]
        assert unload_button["props"]["visible"] is False
        status, answer = call(local_base, "unload_models", ["All loaded models"])
        assert "event: complete" in answer and local_runtime.loaded() == []
    finally:
        public_app.close()
        local_app.close()
