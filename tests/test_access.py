"""A hostile user of a public link, at the door: --auth over MCP, login throttling, public deployments, typed-in
model downloads, uploads, the disk and the queue (what a request carries: test_security.py)."""
import base64
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio.utils import get_upload_folder
from PIL import Image

import app as hub_app
from raw_api import call, launch, png_bytes, upload
from test_mcp import calls, text_of

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
        [answer] = calls(mcp, [("ner", {"text": "Alice lives in Paris.", "model": runtime.default("ner").name})],
                         basic("ada", "secret-pw"))
        assert not answer.isError and "Alice" in text_of(answer), "a tool call with the login runs (as the operator)"
    finally:
        app.close()


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
    monkeypatch.delenv("SPACE_ID")
    caplog.clear()
    with caplog.at_level("WARNING"):  # --share without a network: no link was made, nobody else reaches it
        hub_app.warn_if_open_to_strangers(hub_app.parse_args(["--share"]), settings("--share"), share_url=None)
    assert "without --auth" not in caplog.text
    with caplog.at_level("WARNING"):
        hub_app.warn_if_open_to_strangers(hub_app.parse_args(["--share"]), settings("--share"),
                                          share_url="https://abc.gradio.live")
    assert "https://abc.gradio.live" in caplog.text and "without --auth" in caplog.text


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


@pytest.mark.parametrize("public", [True, False])
def test_in_public_an_upload_is_served_back_to_its_visitor_only(tiny_overrides, tmp_path, public):
    app, runtime, base = launch(tiny_overrides, public=public, behind_proxy=True)
    try:
        photo = tmp_path / "mine.bin"
        photo.write_bytes(uuid.uuid4().bytes)
        visitor, stranger = {"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "203.0.113.9"}
        path = upload(base, str(photo), headers=visitor)["path"]
        url = f"{base}/gradio_api/file={path}"
        assert httpx.get(url, headers=visitor, timeout=30).content == photo.read_bytes()
        assert httpx.get(url, headers=stranger, timeout=30).status_code == (404 if public else 200)
        again = upload(base, str(photo), headers=stranger)["path"]  # the same content, so the same path
        assert again == path and httpx.get(url, headers=stranger, timeout=30).status_code == 200
        answer = call(base, "ner", ["Alice is in Paris.", runtime.default("ner").name, ""], headers=visitor)[1]
        assert "event: complete" in answer, "the other routes are untouched"
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
    from web.http_guard import GuardLimits, HttpGuard

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


