"""Every route Gradio registers is covered by a guard (gradio_routes.py), and two visitors of a public app cannot
reach each other's uploads by any of them: not by a file route, not as an input. One public app, behind our proxy
so that each test names its visitors with X-Forwarded-For."""
import json
import shutil
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from gradio.utils import get_upload_folder
from PIL import Image
from starlette.routing import Mount
from test_generated_inputs import accepted

import demos
import messages
from benchmarks.serving import map_files
from engines.live_speech import CHUNK_S, LIVE_LIMIT_S
from engines.params import Upload
from raw_api import launch, png_bytes, upload
from web.gradio_routes import API, BLOBS, CLOSED, EVENT, FILE, ROUTES, route_of
from web.http_guard import GuardLimits
from web.upload_owners import UploadOwners

A, B = {"X-Forwarded-For": "198.51.100.7"}, {"X-Forwarded-For": "203.0.113.9"}
JSON = {"Content-Type": "application/json"}
NOT_AN_UPLOAD = messages.say("refuse_not_an_upload")


@pytest.fixture(scope="module")
def served(tiny_overrides):
    app, runtime, base = launch(tiny_overrides, {"mcp_server": True}, public=True, behind_proxy=True)
    yield app, base, {task: runtime.default(task).name for task in tiny_overrides}
    app.close()


def registered_routes(routes, prefix=""):
    """(methods, path) of every route of the app's router, mounted apps as their mount point."""
    for route in routes:
        if isinstance(route, Mount):
            yield "MOUNT", prefix + route.path
        elif type(route).__name__ == "_IncludedRouter":  # FastAPI's record of an included router
            yield from registered_routes(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            yield " ".join(sorted(route.methods)), prefix + route.path


def test_every_route_gradio_registers_is_in_the_guards_table(served):
    app, _, _ = served
    registered = set(registered_routes(app.server_app.routes))
    assert registered - {("MOUNT", f"{API}/mcp")} == set(ROUTES), (
        "a route was added or removed (a Gradio upgrade?): say in gradio_routes.ROUTES what guards it")


def a_fresh_upload(base: str, visitor: dict, tmp_path: Path, source: str) -> dict:
    """An upload of `source`'s bytes under a name of its own (so not on an example's path)."""
    copy = tmp_path / f"{uuid.uuid4().hex}{Path(source).suffix}"
    shutil.copy(source, copy)
    return upload(base, str(copy), headers=visitor)


@pytest.mark.parametrize("route", [template for (_, template), kind in ROUTES.items() if kind == FILE])
def test_no_file_route_serves_another_visitors_upload(served, tmp_path, route):
    _, base, _ = served
    photo = tmp_path / "mine.bin"
    photo.write_bytes(uuid.uuid4().bytes)
    path = upload(base, str(photo), headers=A)["path"]
    prefix = route.split("{")[0]
    for requested in (path, path.replace("/", "%2F"), path.replace("/", "%252F")):
        url = base + prefix + requested
        assert httpx.get(url, headers=B, timeout=30).status_code == 404, url
    assert httpx.get(base + prefix + path, headers=A, timeout=30).content == photo.read_bytes()


FILE_ENDPOINTS = [endpoint for endpoint in demos.ENDPOINTS
                  if any(isinstance(param, Upload) for param in endpoint.params.values())]


def typical_request(endpoint, model: str) -> list:
    """The endpoint's sample request, or one made from its declared inputs (a drawing: the digit example)."""
    if endpoint.sample is not None:
        return list(endpoint.sample(model))
    drawing = {"background": None, "layers": [], "composite": Path(demos.digits.EXAMPLES[0])}
    return [drawing if isinstance(param, Upload) else model if name == "model" else accepted(param)
            for name, param in endpoint.params.items()]


@pytest.mark.parametrize("endpoint", FILE_ENDPOINTS, ids=lambda endpoint: endpoint.api_name)
def test_another_visitors_upload_is_refused_as_an_input_as_a_missing_file_is(served, tmp_path, endpoint):
    _, base, models = served
    uploads = {}

    def owned_by_a(path: Path) -> dict:
        uploads[path] = a_fresh_upload(base, A, tmp_path, str(path))
        return uploads[path]

    data = map_files(typical_request(endpoint, models.get(endpoint.task)), owned_by_a)
    url = f"{base}{API}/call/{endpoint.api_name}"
    refused = httpx.post(url, content=json.dumps({"data": data}), headers={**JSON, **B}, timeout=30)
    assert refused.status_code == 422 and refused.json()["detail"] == NOT_AN_UPLOAD, refused.text
    missing = map_files(typical_request(endpoint, models.get(endpoint.task)), lambda path: {
        "path": str(Path(get_upload_folder()) / uuid.uuid4().hex / path.name), "meta": {"_type": "gradio.FileData"}})
    answer = httpx.post(url, content=json.dumps({"data": missing}), headers={**JSON, **B}, timeout=30)
    assert answer.status_code == 422 and answer.json()["detail"] == NOT_AN_UPLOAD, "the same words, whoever's it is"
    admitted = httpx.post(url, content=json.dumps({"data": data}), headers={**JSON, **A}, timeout=30)
    assert admitted.status_code == 200, "its owner may send it"


def test_an_example_uploaded_again_stays_everyones(served, tmp_path):
    app, base, models = served
    name = Path(demos.image_classification.EXAMPLES[0]).name
    example = next(path for block in app.blocks.values() for path in getattr(block, "temp_files", ())
                   if Path(path).name == name)
    copy = tmp_path / Path(example).name
    shutil.copy(example, copy)
    assert upload(base, str(copy), headers=A)["path"] == example, "the same bytes and name land on the example"
    assert httpx.get(f"{base}{API}/file={example}", headers=B, timeout=30).status_code == 200


@pytest.mark.parametrize("methods, template", [key for key, kind in ROUTES.items() if kind == CLOSED])
def test_routes_the_hub_does_not_need_are_closed(served, methods, template):
    _, base, _ = served
    path = template.replace("{url_path:path}", "https://example.hf.space/x").replace(":path", "")
    for name in ("event_id", "session_hash", "run", "component_id", "segment_id", "ext", "id", "environment",
                 "type", "file_name", "endpoint", "record_id", "asset_id"):
        path = path.replace("{" + name + "}", "1")
    method = methods.split()[0]
    assert route_of(method, path).template == template
    answer = httpx.request(method, base + path, content=b"{}", headers=JSON, timeout=30)
    assert answer.status_code == 404
    assert method == "HEAD" or answer.json()["detail"] == messages.say("http_closed_route")


def blob(base: str, pad_id: int, visitor: dict, blob_id: str, index: str, size: int = 64) -> httpx.Response:
    picture = png_bytes(Image.new("RGB", (size, size), (10, 200, 30)))
    return httpx.post(f"{base}{API}/component_server", files={"file": ("layer.png", picture)}, headers=visitor,
                      data={"id": blob_id, "type": "layer", "index": index, "component_id": str(pad_id),
                            "session_hash": "s", "fn_name": "accept_blobs"}, timeout=60)


def test_a_pads_blobs_are_bounded(served):
    app, base, _ = served
    pad = next(block for block in app.blocks.values() if type(block).__name__ == "Sketchpad")
    before = psutil.Process().memory_info().rss
    for _ in range(3):
        answer = blob(base, pad._id, A, uuid.uuid4().hex, "100000000")
        assert answer.status_code == 422 and "0 to 15" in answer.json()["detail"]
    assert psutil.Process().memory_info().rss - before < 100 * 2**20
    drawings = [uuid.uuid4().hex for _ in range(12)]
    for drawing in drawings:
        assert blob(base, pad._id, A, drawing, "0").status_code == 200
    kept = [drawing for drawing in drawings if drawing in pad.blob_storage]
    assert kept == drawings[-8:], "a visitor's oldest unread drawings go first"
    assert blob(base, pad._id, B, "theirs", "0").status_code == 200 and "theirs" in pad.blob_storage
    assert set(drawings[-8:]) <= set(pad.blob_storage), "another visitor's drawing takes none of the first's places"


# --- Every route that starts an event checks the request's shape -----------------------------------------------

def shape_cases(ner: int, classify: int, ner_model: str, path: str):
    """(route, body) of requests Gradio answered with a null error or a plain-text 500."""
    deep = "[" * 100_000 + "]" * 100_000
    text_file = {"path": path, "meta": {"_type": "gradio.FileData"}}
    return [
        ("call/v2/classify_image", json.dumps({"image": path})),
        ("call/v2/ner/", json.dumps({"text": "Alice", "nonsense": 1})),
        ("run/ner", json.dumps({"data": ["x"], "fn_index": ner})),
        ("api/ner", json.dumps({"data": ["x"], "fn_index": ner})),
        ("run/ner", json.dumps({"data": ["Alice", ner_model, ""], "fn_index": classify})),  # fn_index wins
        ("queue/join", json.dumps({"data": ["x"], "fn_index": str(ner), "session_hash": "s"})),
        ("queue/join", json.dumps({"data": ["x"], "fn_index": float(ner), "session_hash": "s"})),
        ("queue/join", '{"data": NaN, "fn_index": "first", "session_hash": "s"}'),
        *[(route, '{"data": ' + deep + "}") for route in ("call/ner", "run/ner", "api/ner", "queue/join")],
        *[(route, json.dumps({"data": [text_file, ner_model, ""], "fn_index": ner, "session_hash": "s"}))
          for route in ("call/ner", "call/ner/", "run/ner", "run/ner/", "api/ner", "api/ner/", "queue/join",
                        "stream/an-event-id")],  # a live stream's next chunk is checked as its first was
    ]


def test_every_event_route_refuses_a_misshapen_request_in_plain_words(served, tmp_path):
    app, base, models = served
    index = {event.api_name: event_id for event_id, event in app.fns.items()}
    path = a_fresh_upload(base, A, tmp_path, demos.image_classification.EXAMPLES[0])["path"]
    cases = shape_cases(index["ner"], index["classify_image"], models["ner"], path)
    assert {route_of("POST", f"{API}/{route}").template for route, _ in cases} == \
        {template for (_, template), kind in ROUTES.items() if kind == EVENT}
    for route, body in cases:
        answer = httpx.post(f"{base}{API}/{route}", content=body, headers={**JSON, **A}, timeout=30)
        assert answer.status_code == 422, (route, body[:80], answer.status_code, answer.text[:300])
        detail = answer.json()["detail"]
        assert isinstance(detail, str) and len(detail) > 20, (route, answer.text)
    good = httpx.post(f"{base}{API}/call/v2/ner", json={"text": "Alice is in Paris.", "model": models["ner"]},
                      headers=A, timeout=30)
    assert good.status_code == 200 and "event_id" in good.json(), "named inputs still work"


# --- Each visitor's share: uploads, streams, multipart bodies --------------------------------------------------

def test_a_whole_live_stream_fits_in_a_visitors_count_of_new_files():
    """The page's microphone uploads each chunk as a file of its own."""
    assert GuardLimits.max_new_files_per_hour >= LIVE_LIMIT_S / CHUNK_S


def test_many_small_uploads_meet_the_visitors_count_of_new_files(served, monkeypatch):
    app, base, _ = served
    # The launched app's own book, at a count that takes seconds to reach (the default's takes minutes).
    book, = (middleware.kwargs["book"] for middleware in app.server_app.user_middleware
             if middleware.kwargs.get("book") is not None and middleware.cls is UploadOwners)
    monkeypatch.setattr(book, "max_new_per_hour", 200)
    visitor = httpx.Client(headers={"X-Forwarded-For": "198.51.100.77"}, timeout=30)

    def sent(name: str) -> int:
        return visitor.post(f"{base}{API}/upload", files=[("files", (name, b"x"))]).status_code

    # The page sends a pad's drawing again with every event, to the same path: no new file, no count (had these
    # counted, the count below would end 60 files early).
    assert {sent("layer_0.png") for _ in range(60)} == {200}
    count = book.max_new_per_hour
    statuses = [sent(f"{i}.bin") for i in range(count)]
    assert statuses[:count - 1] == [200] * (count - 1) and statuses[count - 1] == 429, statuses[-3:]
    refused = visitor.post(f"{base}{API}/upload", files=[("files", ("late.bin", b"x"))])
    assert refused.json()["detail"] == messages.say("http_upload_count", count=count)
    other = httpx.post(f"{base}{API}/upload", files=[("files", ("o.bin", b"y"))], headers=B, timeout=30)
    assert other.status_code == 200


def test_mcp_inline_files_count_in_the_visitors_upload_quota(tiny_overrides):
    app, _, base = launch(tiny_overrides, {"mcp_server": True}, public=True, behind_proxy=True, max_upload_mb=1)
    try:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": "classify_image", "arguments": {"image": "data:image/png;base64,"
                                                                                        + "A" * 1_300_000}}})
        statuses = [httpx.post(f"{base}{API}/mcp/", content=body, headers={**JSON, **A}, timeout=60).status_code
                    for _ in range(9)]
        assert 429 in statuses and statuses.index(429) <= 8, statuses
        assert httpx.post(f"{base}{API}/upload", files=[("files", ("f.bin", b"x" * 950_000))], headers=A,
                          timeout=30).status_code == 429, "the same quota as uploads"
    finally:
        app.close()


def test_a_multipart_body_of_many_parts_or_huge_part_headers_is_refused_cheaply(served):
    _, base, _ = served
    parts = b"".join(b"--b\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nx\r\n" % i for i in range(5000))
    header = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"" + b"a" * 2**20 + b"\"\r\n\r\nx\r\n"
    for route in ("upload", "component_server"):
        for body in (parts + b"--b--\r\n", header + b"--b--\r\n"):
            started = time.monotonic()
            answer = httpx.post(f"{base}{API}/{route}", content=body, timeout=60,
                                headers={**A, "Content-Type": "multipart/form-data; boundary=b"})
            assert 400 <= answer.status_code < 500 and answer.text, (route, answer.status_code, answer.text[:200])
            assert time.monotonic() - started < 10
    assert httpx.get(f"{base}/config", timeout=30).status_code == 200


def test_abandoned_streams_are_bounded_per_visitor(served):
    _, base, _ = served
    visitor, opened = {"X-Forwarded-For": "198.51.100.99"}, []
    client = httpx.Client(timeout=30)
    try:
        for n in range(40):
            response = client.send(client.build_request("GET", f"{base}{API}/heartbeat/abandoned{n}",
                                                        headers=visitor), stream=True)
            opened.append(response)
        statuses = [response.status_code for response in opened]
        assert statuses[:32] == [200] * 32 and set(statuses[32:]) == {429}, statuses
        with httpx.stream("GET", f"{base}{API}/heartbeat/other", headers=B, timeout=30) as other:
            assert other.status_code == 200, "another visitor still gets streams"
    finally:
        for response in opened:
            response.close()
        client.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the server notices the closed connections at its next heartbeat
        with httpx.stream("GET", f"{base}{API}/heartbeat/again", headers=visitor, timeout=30) as again:
            if again.status_code == 200:
                return
        time.sleep(1)
    pytest.fail("closed streams were not given back")


def test_blobs_are_the_only_component_server_use(served):
    """component_server calls any method marked as a server function on any component: the hub's only ones are
    the pads' accept_blobs (bounded above)."""
    app, _, _ = served
    functions = {(type(block).__name__, function.__name__) for block in app.blocks.values()
                 for function in getattr(block, "server_fns", None) or []}
    assert functions <= {("Sketchpad", "accept_blobs"), ("ImageEditor", "accept_blobs")}, functions
    assert [kind for (_, template), kind in ROUTES.items() if "component_server" in template] == [BLOBS, BLOBS]
