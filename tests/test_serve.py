"""The hub's tasks on Ray Serve (serve/): a local Ray cluster on 127.0.0.1, started and stopped here, serves a few
representative tasks on their tiny models; the hub pointed at it (`--backend TASK=URL`) answers their endpoints as
the hub that runs the same models in-process does, through gradio_client. Then the faults: bad requests sent to a
worker directly, an engine removed mid-session, a replica killed while it serves. Every task's contract, both
ways, is tests/test_contract.py's, in process.

The tasks served, one of each way a worker answers: NER, text in JSON whose requests a replica batches;
image classification, a picture (raw bytes, or base64 in JSON with parameters); speech to text, a recording whose
work runs on the replica's torch thread; text generation, OpenAI's chat streamed as server-sent events."""
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from huggingface_hub import constants
from PIL import Image

import demos
from benchmarks.serving import free_port, map_files
from raw_api import launch

pytestmark = pytest.mark.slow
SERVED = ("ner", "image_classification", "speech_to_text", "text_generation")
RAY_START_S = 600  # every replica imports torch and loads its model, all at once on 2 cores
LAB_AND_COMPLETION = {"measure_optimisations", "complete"}  # the lab runs here; OpenAI's chat continues no text


@pytest.fixture(scope="module")
def serve_url(tiny_model, tiny_ctc_dir):
    """Each task SERVED as a Ray Serve application at URL/<task>, on its tiny model: speech on wav2vec 2.0, which
    reads the same audio the same way twice (the random tiny Whisper's fallback decoding samples)."""
    ray = pytest.importorskip("ray", reason="ray[serve] is in requirements-serve.txt, which the dev requirements "
                                            "include")
    import torch
    from ray import serve

    from serve.workers import build

    models = {task: str(tiny_ctc_dir) if task == "speech_to_text" else tiny_model(task) for task in SERVED}
    root = str(Path(__file__).resolve().parent.parent)
    # Ray gives a replica of num_cpus 0.1 one OpenMP thread; as many as here, so that sums add up in the same order
    threads = str(torch.get_num_threads())
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": root, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": threads}})
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        # All at once (serve.run waits for its application to run, which would start the replicas one by one)
        serve.run_many([serve.RunTarget(build({"task": task, "model": model, "num_cpus": 0.1}), name=task,
                                        route_prefix=f"/{task}") for task, model in models.items()],
                       wait_for_applications_running=False)
        deadline = time.monotonic() + RAY_START_S
        while True:
            states = {name: app.status for name, app in serve.status().applications.items()}
            if states == dict.fromkeys(models, "RUNNING"):
                break
            assert time.monotonic() < deadline and "DEPLOY_FAILED" not in states.values(), \
                f"Serve did not start: {serve.status().applications}"
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", models
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="module")
def hubs(serve_url):
    """(the hub on the models in-process, the hub on Serve): their addresses on 127.0.0.1."""
    url, models = serve_url
    constants.HF_HUB_OFFLINE = False  # the tests run offline (conftest); the engines are on this machine
    here, _, here_url = launch(models, result_cache_mb=0)
    remote, _, remote_url = launch({}, backends={task: f"{url}/{task}" for task in SERVED})
    yield here_url, remote_url
    here.close()
    remote.close()
    constants.HF_HUB_OFFLINE = True


def comparable(value):
    """An answer as it can be compared: files (images) as their pixels, the rest as it is."""
    if isinstance(value, str) and Path(value).is_file() and Path(value).suffix in (".png", ".webp", ".jpg", ".jpeg"):
        return np.asarray(Image.open(value).convert("RGB")).tolist()
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items() if key not in ("url", "path", "orig_name")}
    if isinstance(value, (list, tuple)):
        return [comparable(item) for item in value]
    return value


def ask(base: str, endpoint):
    """The hub's answer to the endpoint's sample request, on the hub's default model (here the tiny model, there
    the engine)."""
    from gradio_client import Client, handle_file

    inputs = endpoint.sample("")
    client = Client(base, verbose=False)
    return comparable(client.predict(*map_files(inputs, lambda path: handle_file(str(path))),
                                     api_name=f"/{endpoint.api_name}"))


def test_the_served_endpoints_answer_the_same_on_serve_as_in_process(hubs):
    here_url, remote_url = hubs
    answers = {endpoint.api_name: (ask(here_url, endpoint), ask(remote_url, endpoint)) for endpoint in demos.ENDPOINTS
               if endpoint.task in SERVED and endpoint.api_name not in LAB_AND_COMPLETION
               and endpoint not in demos.COMPARE_ENDPOINTS}  # (a twin's runs are its endpoint's)
    assert set(answers) == {"ner", "classify_image", "transcribe", "chat", "live_transcribe"}
    # Live, a remote engine reads each utterance as its file mode does, and the hub's own reads it with an encoder
    # sized to the speech: both answer, not alike.
    assert [name for name, (here, remote) in answers.items() if here != remote and name != "live_transcribe"] == []


def test_a_worker_refuses_bad_requests_in_plain_words(serve_url):
    url, _ = serve_url
    cases = [("ner", b"not json", "application/json", 400), ("ner", json.dumps({"inputs": 5}).encode(), None, 422),
             ("ner", json.dumps({"inputs": "x" * 20_000}).encode(), None, 422),
             ("image_classification", b"not an image", "image/png", 422),
             ("speech_to_text", json.dumps({"inputs": "not base64!"}).encode(), None, 400),
             ("speech_to_text", b"not audio", "audio/wav", 422),
             ("text_generation/v1/chat/completions", json.dumps({"messages": []}).encode(), None, 400),
             ("text_generation/v1/chat/completions",
              json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 10**9}).encode(), None, 422)]
    for route, body, media_type, status in cases:
        answer = httpx.post(f"{url}/{route}", content=body, timeout=60,
                            headers={"content-type": media_type or "application/json"})
        assert answer.status_code == status, (route, answer.text)
        assert answer.json()["error"] and "Traceback" not in answer.text


def test_an_engine_removed_mid_session_is_said_so_and_the_other_tabs_keep_working(hubs, serve_url):
    from gradio_client import Client, handle_file
    from ray import serve

    client = Client(hubs[1], verbose=False)
    serve.delete("image_classification")
    with pytest.raises(Exception, match="refused the request \\(HTTP 404\\)|cannot be reached"):
        client.predict(handle_file(demos.image_classification.EXAMPLES[0]), "", "", api_name="/classify_image")
    highlighted, table = client.predict(demos.ner.EXAMPLES[0], "", "", api_name="/ner")
    assert "".join(item["token"] for item in highlighted) == demos.ner.EXAMPLES[0]


def test_a_replica_killed_while_it_serves_fails_the_request_in_plain_words_and_comes_back(hubs):
    import ray
    from gradio_client import Client

    client = Client(hubs[1], verbose=False)
    job = client.submit("Tell me a long story", "", "", 1024, 0.7, 0.9, 0, api_name="/chat")
    deadline = time.monotonic() + 120
    while not job.outputs():  # the reply is streaming: the replica is busy with it
        assert time.monotonic() < deadline
        time.sleep(0.2)
    [replica] = [actor for actor in ray.util.list_named_actors(all_namespaces=True)
                 if "text_generation" in actor["name"] and "TaskWorker" in actor["name"]]
    ray.kill(ray.get_actor(replica["name"], namespace=replica["namespace"]), no_restart=False)
    with pytest.raises(Exception, match="stopped in the middle of the reply|failed on this request|cannot be reached"):
        job.result(timeout=120)
    deadline = time.monotonic() + 300  # Serve starts a new replica, which loads the model again
    while True:
        try:
            assert client.predict("Hi", "", "", 4, 0.7, 0.9, 0, api_name="/chat")
            break
        except Exception:
            assert time.monotonic() < deadline, "Serve did not bring the replica back"
            time.sleep(3)
