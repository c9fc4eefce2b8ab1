"""A hostile user of a public link, through the raw HTTP API: server files, memory bombs, poisoned batches,
history and body bombs, server paths and the operator's controls (logins, uploads and the queue: test_access.py)."""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio.utils import get_upload_folder
from PIL import Image

from conftest import ROOT
from demos import image_classification, speech_to_text
from models.result_cache import ResultCache
from raw_api import call, launch, png_bytes, upload

SERVER_IMAGE = str(Path(image_classification.EXAMPLES[0]).resolve())  # files on the server, never uploaded
SERVER_AUDIO = str(Path(speech_to_text.EXAMPLES[0]).resolve())


@pytest.fixture(scope="module")
def served(tiny_overrides):
    app, runtime, base = launch(tiny_overrides)
    yield runtime, base, {task: runtime.default(task).name for task in tiny_overrides}
    app.close()


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
    for file in ({"path": str(folder / "cat.jpg")}, {"path": str(folder / "cat.jpg"), "meta": {"_type": "gradio.FileData"}}):
        status, answer = call(base, "classify_image", [file, models["image_classification"], ""])
        assert "not an upload" in answer and (status == 422 or "event: error" in answer)


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

def test_a_poisoned_request_among_batched_ones_fails_alone(served, tmp_path, monkeypatch):
    runtime, base, models = served
    # the good requests are one request sent seven times: the result cache would answer some, unbatched
    monkeypatch.setattr(runtime, "results", ResultCache(0))
    run_batched = runtime.run_batched

    def run_batched_slowly(spec, item, forward):
        def forward_slowly(items):  # on a busy CPU a tiny model's batch may end before the next request comes
            time.sleep(0.3)
            return forward(items)
        return run_batched(spec, item, forward_slowly)

    monkeypatch.setattr(runtime, "run_batched", run_batched_slowly)
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
                        (["Alice", "\udfff-model", ""], "The model contains invalid characters"),
                        (["Alice", models["ner"], "a/\ud800"], "The custom model id contains invalid characters")]:
        status, answer = call(base, "ner", data)
        assert "event: error" in answer and words in answer, answer[-300:]
    assert call(base, "ner", ["Alice is in Paris.", models["ner"], ""])[1].count("event: complete") == 1


# --- 4. History and body bombs ---------------------------------------------------------------------------------

def test_a_huge_chat_history_is_cut_before_any_tokenizer_sees_it():
    from engines import text_generation as tg
    from engines.context import Context
    from engines.params import Conversation

    history = [{"role": "user" if i % 2 else "assistant", "content": f"turn {i} " + "x" * 5_000} for i in range(1_000)]
    kept = tg.recent_turns(history, Context.starting(60))
    assert len(kept) <= tg.MAX_HISTORY_MESSAGES
    assert sum(len(turn["content"]) for turn in kept) <= tg.MAX_HISTORY_CHARS
    assert kept[-1]["content"].startswith("turn 999 "), "the latest turns are the ones kept"
    assert tg.recent_turns(history[-4:], Context.starting(60)) == [{"role": t["role"], "content": t["content"]} for t in history[-4:]]
    with pytest.raises(Exception, match="must be a list of messages"):
        Conversation("param_history").check({"role": "user", "content": "hi"})


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


# --- 8. The operator's controls and server paths -----------------------------------------------------------------

def test_no_server_path_reaches_a_client(served, tiny_overrides):
    runtime, base, models = served
    for page in ("/config", "/gradio_api/info"):
        text = httpx.get(base + page, timeout=30).text
        assert "local:" in text
        for path in [str(ROOT)] + [source for source in tiny_overrides.values() if source.startswith("/")]:
            assert path not in text, (page, path)


def test_unloading_is_the_operators_and_is_checked_on_the_server(tiny_overrides):
    from engines.ner import ner

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
