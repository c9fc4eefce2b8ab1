"""The workers' contract (serve/contract.py) for every task, in process: no Ray, no app, no gradio_client.

For each task with a contract, the body a remote engine sends (a media task's file as its raw bytes, and as JSON
with base64 inputs and parameters) gets a 200 reply of the contract's shape whose content is the hub's own
endpoint's answer on the same tiny model, and bad bodies get 400 or 422 in plain words; text generation's OpenAI
side (chat_request, chat_stream) likewise. Then both directions at once: the contract served on 127.0.0.1 by a small
HTTP server routed as serve/workers.py routes it, and a runtime whose every task is REMOTE on it answers each
endpoint as the runtime that runs the models here does. Ray Serve itself is tests/test_serve.py's."""
import base64
import importlib
import io
import json
import shutil
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType

import pytest
from huggingface_hub import constants
from PIL import Image

from benchmarks.serving import map_files
from engines import (
    digits,
    gan,
    image_classification,
    ner,
    object_detection,
    pix2pix,
    sentiment,
    speech_to_text,
    text_generation,
)
from engines.context import Context
from engines.endpoint import STREAM, TORCH_THREAD
from engines.generation import DEFAULT_SAMPLING
from engines.kinds import LOCAL, REMOTE
from engines.media import SAMPLE_RATE, read_audio
from engines.params import Upload
from engines.refusal import SOMETHING_WENT_WRONG, Refusal
from engines.runtime import ModelRuntime
from messages import say
from models.detection import MAX_DETECTIONS, SCORE_FLOOR
from models.gan_networks import image_grid
from models.settings import Settings
from serve import contract
from tasks import TASK_KEYS

JSON = contract.JSON
TEXT_GENERATION = contract.TEXT_GENERATION
PHOTO = Path(image_classification.EXAMPLES[0])
AUDIO = Path(speech_to_text.EXAMPLES[0])
DRAWING = Path(digits.EXAMPLES[0])
SKETCH = Path(pix2pix.SKETCHES[0])
ENDPOINTS = {endpoint.api_name: endpoint for task in TASK_KEYS
             for endpoint in importlib.import_module(f"engines.{task}").ENDPOINTS}
NO_SAMPLE = {  # the endpoints whose record has no sample request
    "pix2pix": lambda model: ({"background": None, "layers": [], "composite": SKETCH}, model, ""),
    "edit_image": lambda model: (PHOTO, "make it blue", model, "", 2, 1.5, 7.5, 0),
}
WORKER_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def here(tiny_model, tiny_ctc_dir):
    """Every task on its tiny model (speech on the CTC one, which reads the same audio the same way twice), run in
    this process: the hub's LOCAL engines, and the worker's side of the contract. No answer is remembered."""
    models = {task: str(tiny_ctc_dir) if task == "speech_to_text" else tiny_model(task) for task in TASK_KEYS}
    return ModelRuntime(Settings(model_overrides=MappingProxyType(models), result_cache_mb=0,
                                 max_loaded_models=len(TASK_KEYS), request_timeout_s=WORKER_TIMEOUT_S))


@pytest.fixture(scope="module")
def upload(tmp_path_factory):
    """A function that puts the files of an endpoint's inputs (Paths, at any depth) in Gradio's upload folder, as
    the API's uploads are, and gives the inputs as a client sends them."""
    folder = tmp_path_factory.mktemp("uploads")

    def uploaded(path: Path) -> dict:
        copy = folder / uuid.uuid4().hex / path.name
        copy.parent.mkdir()
        shutil.copyfile(path, copy)
        return {"path": str(copy), "meta": {"_type": "gradio.FileData"}}

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(folder))
        yield lambda inputs: map_files(inputs, uploaded)


def answered(runtime: ModelRuntime, api_name: str, *inputs):
    """The endpoint's answer as the hub's API gives it (demos/endpoints.py's bound(), without Gradio): each input
    checked by its param, the work on the thread the record says; a stream's last value."""
    endpoint = ENDPOINTS[api_name]
    checked = [param.check(value) for param, value in zip(endpoint.params.values(), inputs, strict=True)]
    context = Context.starting(runtime.settings.request_timeout_s)
    if endpoint.run == STREAM:
        *_, last = endpoint.fn(runtime, *checked, context=context)
        return last
    if endpoint.run == TORCH_THREAD and runtime.kind(endpoint.task) == LOCAL:
        return runtime.torch_threads.run(endpoint.fn, runtime, *checked, context=context)
    return endpoint.fn(runtime, *checked, context=context)


def comparable(value):
    """An answer as it can be compared: pictures as their mode, size and pixels; tuples as lists."""
    if isinstance(value, Image.Image):
        return value.mode, value.size, value.tobytes()
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [comparable(item) for item in value]
    return value


def json_body(inputs, **parameters) -> bytes:
    return json.dumps({"inputs": inputs, "parameters": parameters}).encode()


def base64_body(path: Path, **parameters) -> bytes:
    """A media file as JSON: its bytes in base64, with parameters (as InferenceClient sends one with parameters)."""
    return json_body(base64.b64encode(path.read_bytes()).decode("ascii"), **parameters)


def replied(runtime: ModelRuntime, task: str, body: bytes, media_type: str = JSON):
    """The contract's reply to the body, which must be a 200: its JSON, or the picture it holds."""
    reply = contract.answer(runtime, task, body, media_type)
    assert reply.status == 200, reply.body[:500]
    if reply.media_type == "image/png":
        return Image.open(io.BytesIO(reply.body))
    assert reply.media_type == JSON
    return json.loads(reply.body)


def png_of(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def test_every_task_but_text_generation_has_a_contract():
    """A task's contract takes a file's bytes where its endpoints take an upload."""
    assert set(contract.CONTRACT_TASKS) == set(TASK_KEYS) - {TEXT_GENERATION}
    for task in contract.CONTRACT_TASKS:
        engine = importlib.import_module(f"engines.{task}")
        takes_files = any(isinstance(param, Upload) for endpoint in engine.ENDPOINTS for param in endpoint.params.values())
        assert engine.MEDIA_INPUTS == takes_files, task


# --- each task's reply is its endpoint's answer ---

def test_image_classification(here, upload):
    scores = answered(here, "classify_image", *upload((PHOTO, "", "")))
    ranked = [{"label": label, "score": score} for label, score in scores.items()]
    assert len(ranked) == image_classification.TOP_K
    assert replied(here, "image_classification", PHOTO.read_bytes(), "image/jpeg") == ranked
    assert replied(here, "image_classification", base64_body(PHOTO, top_k=2)) == ranked[:2]


def test_object_detection(here, upload):
    def expected(threshold):
        _, rows = answered(here, "detect_objects", *upload((PHOTO, "", "", threshold, MAX_DETECTIONS)))
        return [{"label": label, "score": score, "box": dict(zip(("xmin", "ymin", "xmax", "ymax"), box))}
                for label, score, *box in rows]

    assert replied(here, "object_detection", PHOTO.read_bytes(), "image/jpeg") == expected(
        object_detection.DEFAULT_THRESHOLD)
    found = replied(here, "object_detection", base64_body(PHOTO, threshold=SCORE_FLOOR))
    assert found and found == expected(SCORE_FLOOR)  # (the photo is under 1,333 pixels: boxes in its own pixels)


def test_digits(here, upload):
    scores, _ = answered(here, "recognize_digit",
                         *upload(({"background": None, "layers": [], "composite": DRAWING}, "")))
    ranked = [{"label": digit, "score": score} for digit, score in sorted(scores.items(), key=lambda item: -item[1])]
    assert len(ranked) == len(scores) == 10
    assert replied(here, "digits", DRAWING.read_bytes(), "image/png") == ranked
    assert replied(here, "digits", base64_body(DRAWING, top_k=3)) == ranked[:3]


def test_ner(here):
    text = ner.EXAMPLES[0]
    entities = replied(here, "ner", json_body(text))
    assert entities and all({"entity_group", "score", "word", "start", "end"} <= set(entity) for entity in entities)
    assert comparable(ner.to_outputs(text, entities)) == comparable(answered(here, "ner", text, "", ""))


def test_sentiment(here):
    line = sentiment.EXAMPLES[0]
    overall, [row] = answered(here, "classify_sentiment", line, "", "")
    [ranking] = replied(here, "sentiment", json_body(line, top_k=sentiment.MAX_CLASSES))
    assert {item["label"]: item["score"] for item in ranking} == overall
    assert [item["score"] for item in ranking] == sorted(overall.values(), reverse=True)
    assert replied(here, "sentiment", json_body(line)) == [[{"label": row[1], "score": row[2]}]]  # top_k 1


def test_translation(here):
    text, source, target, *_ = ENDPOINTS["translate"].sample("")
    translated = answered(here, "translate", text, source, target, "", "")
    assert replied(here, "translation", json_body(text, src_lang=source, tgt_lang=target)) == [
        {"translation_text": translated}]


def test_speech_to_text(here, upload):
    transcript, segments = answered(here, "transcribe", *upload((AUDIO, "", "", "en", "transcribe")))
    duration = len(read_audio(AUDIO)) / SAMPLE_RATE
    for body, media_type in ((AUDIO.read_bytes(), "audio/wav"),
                             (base64_body(AUDIO, language="en", task="transcribe"), JSON),
                             (base64_body(AUDIO, generate_kwargs={"language": "en", "task": "transcribe"}), JSON)):
        answer = replied(here, "speech_to_text", body, media_type)
        assert set(answer) == {"text", "chunks"} and all(set(chunk) == {"timestamp", "text"}
                                                         for chunk in answer["chunks"])
        assert answer["text"].strip() == transcript
        # as the tab shows them: times rounded and within the recording
        assert [[round(min(float(start or 0.0), duration), 2),
                 round(min(float(duration if end is None else end), duration), 2), chunk["text"].strip()]
                for chunk in answer["chunks"] for start, end in [chunk["timestamp"]]] == segments


def test_gan(here):
    def grid(answer, columns):
        images = [Image.open(io.BytesIO(base64.b64decode(image, validate=True))) for image in answer["images"]]
        return comparable(image_grid(gan.as_batch(images), columns=columns))

    sampled = replied(here, "gan", json_body({"seed": 3, "count": 5}))
    assert len(sampled["images"]) == 5
    assert grid(sampled, 5) == comparable(answered(here, "generate_gan", "", "", 3, 5))
    walked = replied(here, "gan", json_body({"seed_a": 1, "seed_b": 2, "frames": 4}))
    assert len(walked["images"]) == 4
    assert grid(walked, 4) == comparable(answered(here, "interpolate_gan", "", "", 1, 2, 4))


def test_pix2pix(here, upload):
    picture = answered(here, "pix2pix", *upload(NO_SAMPLE["pix2pix"]("")))
    assert picture.size == (256, 256)
    for body, media_type in ((SKETCH.read_bytes(), "image/png"), (base64_body(SKETCH), JSON)):
        assert comparable(replied(here, "pix2pix", body, media_type)) == comparable(picture)


def test_image_editing(here, upload):
    photo, instruction, model, custom, steps, image_guidance, text_guidance, seed = NO_SAMPLE["edit_image"]("")
    edited = answered(here, "edit_image", *upload((photo, instruction, model, custom, steps, image_guidance,
                                                   text_guidance, seed)))
    body = base64_body(photo, prompt=instruction, num_inference_steps=steps, image_guidance_scale=image_guidance,
                       guidance_scale=text_guidance, seed=seed)
    assert comparable(replied(here, "image_editing", body)) == comparable(edited)


# --- bad bodies: 400 for the contract's shape, 422 for what the endpoint's params refuse; in plain words ---

def white_png() -> bytes:
    return png_of(Image.new("RGB", (64, 64), "white"))


EVERY_TASK = [(b"not json", JSON, 400, "not JSON"), (b"[1, 2]", JSON, 400, '"inputs"'),
              (json.dumps({"inputs": "x", "parameters": [1]}).encode(), JSON, 400, '"parameters"')]
MEDIA = [(json_body(5), JSON, 400, "base64 text"), (json_body("not base64!"), JSON, 400, "not base64")]
NOT_AN_IMAGE = (b"not an image", "image/png", 422, "not an image")
BAD = {
    "image_classification": [*MEDIA, NOT_AN_IMAGE,
                             (base64_body(PHOTO, top_k=6), JSON, 422, "whole number from 1 to 5")],
    "object_detection": [*MEDIA, NOT_AN_IMAGE, (base64_body(PHOTO, threshold=2), JSON, 422, "between")],
    "digits": [*MEDIA, NOT_AN_IMAGE, (white_png(), "image/png", 422, "no digit"),
               (base64_body(DRAWING, top_k=11), JSON, 422, "whole number from 1 to 10")],
    "ner": [(json_body(5), JSON, 422, "sent as a string"), (json_body("x" * 20_000), JSON, 422, "characters long"),
            (json_body(" "), JSON, 422, "enter some text")],
    "sentiment": [(json_body(["a"]), JSON, 422, "sent as a string"), (json_body("good", top_k=0), JSON, 422, "whole")],
    "translation": [(json_body("Hello."), JSON, 422, "must be one of"),  # no pair given, and the model has none
                    (json_body("Hello.", src_lang="en", tgt_lang="xx"), JSON, 422, "must be one of"),
                    (json_body("Hello.", src_lang="en", tgt_lang="en"), JSON, 422, "are the same")],
    "speech_to_text": [*MEDIA, (b"not audio", "audio/wav", 422, "not audio"),
                       (base64_body(AUDIO, language="xx"), JSON, 422, "must be one of"),
                       (base64_body(AUDIO, generate_kwargs=[1]), JSON, 400, '"generate_kwargs"')],
    "gan": [(json_body(5), JSON, 400, '"inputs" must be an object'),
            (json_body({"count": 0}), JSON, 422, "whole number from 1 to 64"),
            (json_body({"seed_a": 1, "frames": 99}), JSON, 422, "whole number from 2 to 16")],
    "pix2pix": [*MEDIA, NOT_AN_IMAGE, (white_png(), "image/png", 422, "drawing is empty")],
    "image_editing": [*MEDIA, (PHOTO.read_bytes(), "image/jpeg", 422, "enter some text"),  # no prompt
                      (base64_body(PHOTO, prompt="blue", num_inference_steps=0), JSON, 422, "whole number"),
                      (json_body(base64.b64encode(b"not an image").decode(), prompt="blue"), JSON, 422,
                       "not an image")],
}


@pytest.mark.parametrize("task", contract.CONTRACT_TASKS)
def test_bad_bodies_are_refused_in_plain_words(here, task):
    for body, media_type, status, words in [*EVERY_TASK, *BAD.get(task, [])]:
        reply = contract.answer(here, task, body, media_type)
        said = json.loads(reply.body)
        assert (reply.status, reply.media_type, list(said)) == (status, JSON, ["error"]), (body[:80], reply.body)
        assert words in said["error"], (body[:80], said)
        assert say(SOMETHING_WENT_WRONG) not in said["error"] and "Traceback" not in said["error"]


# --- text generation: OpenAI's chat completions ---

def chat_body(**payload) -> bytes:
    return json.dumps(payload).encode()


def test_a_chat_request_is_read_and_checked_as_the_hubs_chat_checks_it():
    system, greeting = {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}
    assert contract.chat_request(chat_body(messages=[greeting])) == (
        "Hi", [], {"max_new_tokens": DEFAULT_SAMPLING.max_new_tokens, "temperature": DEFAULT_SAMPLING.temperature,
                   "top_p": DEFAULT_SAMPLING.top_p, "seed": DEFAULT_SAMPLING.seed}, False)
    assert contract.chat_request(chat_body(messages=[system, greeting], max_tokens=5, temperature=0, top_p=0.5,
                                           seed=3, stream=True)) == (
        "Hi", [system], {"max_new_tokens": 5, "temperature": 0.0, "top_p": 0.5, "seed": 3}, True)
    bad = [(b"not json", 400, "not JSON"), (chat_body(messages=[]), 400, '"messages"'),
           (chat_body(messages="Hi"), 400, '"messages"'), (chat_body(messages=[greeting, system]), 400, '"messages"'),
           (chat_body(messages=[{"role": "user", "content": 5}]), 422, "sent as a string"),
           (chat_body(messages=[{"role": "user", "content": " "}]), 422, "enter some text"),
           (chat_body(messages=[greeting], max_tokens=10**9), 422, "whole number from 1 to 1,024"),
           (chat_body(messages=[greeting], temperature="hot"), 422, "must be a number")]
    for body, status, words in bad:
        with pytest.raises((contract.BadRequest, Refusal)) as raised:
            contract.chat_request(body)
        reply = contract.error_reply(raised.value)
        assert reply.status == status and words in json.loads(reply.body)["error"], (body, reply.body)


def test_a_chat_stream_is_the_hubs_chat_piece_by_piece(here):
    settings = {"max_new_tokens": 8, "temperature": 0.0, "top_p": DEFAULT_SAMPLING.top_p, "seed": 0}  # repeats
    pieces = list(contract.chat_stream(here, "Hello!", [], settings))
    assert pieces and all(pieces)
    assert "".join(pieces) == answered(here, "chat", "Hello!", "", "", *settings.values())
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    *_, reply = text_generation.chat(here, "How are you?", history, **settings)
    assert "".join(contract.chat_stream(here, "How are you?", history, settings)) == reply


# --- both directions: the hub's REMOTE engines against the contract served here ---

@pytest.fixture(scope="module")
def worker_url(here):
    """The contract of every task at URL/<task> (text generation: URL/<task>/v1/chat/completions and /v1/models),
    routed as serve/workers.py routes a replica's requests, on 127.0.0.1, in a thread; what was asked is counted
    per task."""
    asked = Counter()

    class Worker(BaseHTTPRequestHandler):
        timeout = WORKER_TIMEOUT_S  # a client that stalls frees its thread

        def log_message(self, *args):
            pass

        def do_GET(self):
            task, path = self._route()
            if task == TEXT_GENERATION and path.endswith("/v1/models"):
                return self._send(contract.models_listing(here))
            self._send(contract.json_reply({"error": "not found"}, 404))

        def do_POST(self):
            task, path = self._route()
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if task == TEXT_GENERATION:
                return self._chat(body) if path.endswith("/chat/completions") else self._send(
                    contract.json_reply({"error": "not found"}, 404))
            self._send(contract.answer(here, task, body, self.headers.get("content-type", "")))

        def _route(self) -> tuple[str, str]:
            path = self.path.split("?")[0].rstrip("/")
            task = path.strip("/").split("/")[0]
            asked[task] += 1
            return task, path

        def _send(self, reply: contract.Reply):
            self.send_response(reply.status)
            self.send_header("content-type", reply.media_type)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def _chat(self, body: bytes):
            try:
                message, history, settings, stream = contract.chat_request(body)
            except Exception as error:
                return self._send(contract.error_reply(error))
            model, created = here.default(TEXT_GENERATION).name, int(time.time())
            pieces = contract.chat_stream(here, message, history, settings)
            if not stream:
                return self._send(contract.chat_completion(model, created, "".join(pieces)))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()  # (HTTP/1.0: the stream ends as the connection closes)
            for piece in pieces:
                self.wfile.write(contract.chat_chunk(model, created, piece))
                self.wfile.flush()
            self.wfile.write(contract.chat_chunk(model, created, None, "stop") + b"data: [DONE]\n\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Worker)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="contract-worker", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def remote(worker_url):
    """The hub's runtime with every task on the contract served here (--backend all=URL)."""
    url, _ = worker_url
    return ModelRuntime(Settings(backends=MappingProxyType({task: f"{url}/{task}" for task in TASK_KEYS}),
                                 result_cache_mb=0, request_timeout_s=WORKER_TIMEOUT_S))


@pytest.fixture
def engines_reachable(monkeypatch):
    """The tests run offline (conftest), which stops huggingface_hub's every call; this engine is local."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.mark.parametrize("api_name", [name for name in ENDPOINTS if name != "complete"])
def test_every_endpoint_answers_the_same_through_the_contract_as_in_process(here, remote, worker_url, upload,
                                                                           engines_reachable, api_name):
    endpoint = ENDPOINTS[api_name]
    _, asked = worker_url
    inputs = upload((endpoint.sample or NO_SAMPLE[api_name])(""))
    before = asked[endpoint.task]
    assert remote.kind(endpoint.task) == REMOTE and here.kind(endpoint.task) == LOCAL
    assert comparable(answered(remote, api_name, *inputs)) == comparable(answered(here, api_name, *inputs))
    assert asked[endpoint.task] > before  # the answer came through the contract


def test_a_remote_engine_continues_no_text_and_says_so(remote):
    with pytest.raises(Refusal, match="serves chat"):
        answered(remote, "complete", *ENDPOINTS["complete"].sample(""))


def test_a_worker_holds_a_body_sent_in_chunks_to_its_limit(monkeypatch):
    """A body without a declared length (Transfer-Encoding: chunked) is counted as it arrives: past the limit, 413."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from starlette.requests import Request

    from serve import workers

    monkeypatch.setattr(workers, "MAX_BODY_BYTES", 10)
    worker = workers.TaskWorker.func_or_class("ner", preload=False)

    def sent(body: bytes, headers: list) -> int:
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {"type": "http", "method": "POST", "path": "/ner", "headers": headers, "query_string": b"",
                 "server": ("127.0.0.1", 8000), "scheme": "http", "root_path": ""}
        # on a thread of its own: the browser tests' Playwright keeps an event loop running on this one
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, worker(Request(scope, receive))).result().status_code

    chunked = [(b"transfer-encoding", b"chunked"), (b"content-type", b"application/json")]
    assert sent(json_body("x" * 50), chunked) == 413
    assert sent(json_body("x" * 50), [(b"content-length", b"60")]) == 413
    monkeypatch.setattr(workers, "MAX_BODY_BYTES", 1000)
    assert sent(json_body(" "), chunked) == 422  # within the limit: read, and refused for what it says
