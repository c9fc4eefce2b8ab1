"""Measure the hub against its floors, on the default architectures at real size (random weights, offline).

    python benchmarks/bench.py [--repeats 7] [--json benchmarks/results-cpu.json]

Every figure is a ratio of medians taken in the same run, the variants interleaved, because a shared
2-core machine is noisy:
1. per request and tab: raw model call vs the tab's handler vs end-to-end through the running app with
   gradio_client, vs an echo endpoint of the same app with the same kind of I/O (Gradio's own floor: text,
   an uploaded file, or a stream of as many partial results);
2. cold start: `python app.py` until HTTP 200 vs a bare script that imports gradio and torch and launches
   an empty Blocks;
3. batching: 8 concurrent clients on the image-classification and NER endpoints, requests per second with
   the hub's dynamic batching off (--max-batch-size 1) and on (8), and with Gradio's own `batch=True` on an
   endpoint running the same batched model call (see models/batching.py for why the tabs don't use it);
4. model lifecycle: first request (load) vs second (no reload), resident memory per model and after
   unloading.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import psutil  # noqa: E402
import torch  # noqa: E402

from benchmarks.serving import free_port, serve, stop  # noqa: E402
from default_size_models import build_all  # noqa: E402

TEXT = "Angela Merkel met Emmanuel Macron in Paris to talk about the European Union and Airbus."
SENTENCE = "Good morning."  # short: a random-weight translator writes until its length bound
NEW_TOKENS = 8


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def request_cases(runtime, client, models):
    """(tab, raw model call, handler call, API call) with the same input for all three."""
    from gradio_client import handle_file

    from demos import image_classification, ner, speech_to_text, text_generation, translation
    from demos.media import open_image, read_audio

    image_path = image_classification.EXAMPLES[1]
    audio_path = speech_to_text.EXAMPLES[0]
    m = {task: str(path) for task, path in models.items()}
    recognizer = runtime.load(runtime.default("ner"))
    encoded = recognizer.tokenizer(TEXT, return_tensors="pt")
    classifier = runtime.load(runtime.default("image_classification"))
    pixels = classifier.preprocess([open_image(image_path)])
    seq2seq = runtime.load(runtime.default("translation"))
    batch = seq2seq.tokenizer([SENTENCE], return_tensors="pt")
    longest = int(batch["attention_mask"].sum())
    asr = runtime.load(runtime.default("speech_to_text"))
    features = asr.feature_extractor(read_audio(audio_path), sampling_rate=16_000, return_tensors="pt")
    lm = runtime.load(runtime.default("text_generation"))
    prompt_ids = lm.tokenizer("Once upon a time", return_tensors="pt")["input_ids"]
    settings = (NEW_TOKENS, 0.7, 0.9, 0)

    def no_grad(fn):
        def run():
            with torch.inference_mode():
                fn()
        return run

    return [
        ("ner", no_grad(lambda: recognizer.model(**encoded)),
         lambda: ner.recognize_entities(runtime, TEXT),
         lambda: client.predict(TEXT, m["ner"], "", api_name="/ner")),
        ("image_classification", no_grad(lambda: classifier.model(pixels)),
         lambda: image_classification.classify(runtime, image_path),
         lambda: client.predict(handle_file(image_path), m["image_classification"], "", api_name="/classify_image")),
        ("translation", no_grad(lambda: seq2seq.model.generate(**batch, num_beams=4, max_new_tokens=3 * longest + 16)),
         lambda: translation.translate(runtime, SENTENCE, "en", "de", m["translation"]),
         lambda: client.predict(SENTENCE, "en", "de", m["translation"], "", api_name="/translate")),
        ("speech_to_text", no_grad(lambda: asr.model(**features)),
         lambda: speech_to_text.transcribe(runtime, audio_path),
         lambda: client.predict(handle_file(audio_path), m["speech_to_text"], "", "en", "transcribe",
                                api_name="/transcribe")),
        ("text_generation",
         no_grad(lambda: (torch.manual_seed(0), lm.model.generate(
             input_ids=prompt_ids, attention_mask=torch.ones_like(prompt_ids), max_new_tokens=NEW_TOKENS,
             do_sample=True, temperature=0.7, top_p=0.9, pad_token_id=lm.tokenizer.pad_token_id))),
         lambda: list(text_generation.complete(runtime, "Once upon a time", *[None, None], *settings)),
         lambda: client.predict("Once upon a time", m["text_generation"], "", *settings, api_name="/complete")),
    ]


def per_request(models, repeats: int) -> dict:
    import gradio as gr
    from gradio_client import Client

    import app as hub_app
    from models.runtime import ModelRuntime
    from models.settings import Settings

    runtime = ModelRuntime(Settings(model_overrides={t: str(p) for t, p in models.items()}, max_loaded_models=5))
    app = hub_app.build_app(runtime)
    with app:  # Gradio's own floors, in the same app: endpoints that do nothing with the same kind of I/O
        text, file, label, streamed = gr.Textbox(), gr.File(), gr.Label(), gr.Textbox()
        text.submit(lambda value: value, text, text, api_name="echo")
        file.upload(lambda upload: {"echo": 1.0}, file, label, api_name="echo_file", preprocess=False)

        def echo_stream(value):
            for i in range(NEW_TOKENS):  # as many partial results as the streamed completion sends
                yield value + " x" * i

        streamed.submit(echo_stream, text, streamed, api_name="echo_stream")
    app.launch(prevent_thread_lock=True, quiet=True)
    client = Client(app.local_url, verbose=False, download_files=False)
    cases = request_cases(runtime, client, models)
    from demos.image_classification import EXAMPLES as IMAGES
    from demos.speech_to_text import EXAMPLES as CLIPS
    from gradio_client import handle_file

    floors = {
        "text": lambda: client.predict("ping", api_name="/echo"),
        "image file": lambda: client.predict(handle_file(IMAGES[1]), api_name="/echo_file"),
        "audio file": lambda: client.predict(handle_file(CLIPS[0]), api_name="/echo_file"),
        "stream": lambda: client.predict("ping", api_name="/echo_stream"),
    }
    floor_of = {"ner": "text", "translation": "text", "image_classification": "image file",
                "speech_to_text": "audio file", "text_generation": "stream"}
    for _, raw, handler, api in cases:  # warm up: first calls pay one-off costs
        raw(), handler(), api()
    for floor in floors.values():
        floor()
    times = {tab: {"raw": [], "handler": [], "end_to_end": [], "echo": []} for tab, *_ in cases}
    for repeat in range(repeats):
        for tab, raw, handler, api in cases:
            variants = [("raw", raw), ("handler", handler), ("end_to_end", api), ("echo", floors[floor_of[tab]])]
            shift = repeat % len(variants)  # interleave: each variant takes each position in turn
            for name, fn in variants[shift:] + variants[:shift]:
                times[tab][name].append(timed(fn))
    app.close()
    results = {}
    for tab, measured in times.items():
        median = {name: statistics.median(values) for name, values in measured.items()}
        results[tab] = {
            "echo_floor": floor_of[tab],
            **{f"{name}_ms": round(1000 * value, 2) for name, value in median.items()},
            "gradio_overhead_vs_echo": round((median["end_to_end"] - median["handler"]) / median["echo"], 3),
            "handler_overhead_vs_raw": round((median["handler"] - median["raw"]) / median["raw"], 4),
        }
    results["loads"] = runtime.cache.load_count
    return results


def batching(models, rounds: int, clients: int = 8, requests_per_client: int = 4) -> dict:
    """Requests per second with 8 clients at once: batching off, the hub's dynamic batching, Gradio's batch=True."""
    import threading

    import gradio as gr
    from gradio_client import Client, handle_file

    import app as hub_app
    from demos import image_classification, ner
    from demos.media import open_image
    from models.runtime import ModelRuntime
    from models.settings import Settings

    overrides = {task: str(models[task]) for task in ("ner", "image_classification")}
    image_path = image_classification.EXAMPLES[1]
    apps, urls, runtimes = [], {}, {}
    for mode, size in [("off", 1), ("dynamic", 8)]:
        runtime = runtimes[mode] = ModelRuntime(Settings(model_overrides=overrides, max_batch_size=size))
        app = hub_app.build_app(runtime)
        if mode == "off":
            recognizer = runtime.load(runtime.default("ner"))
            classifier = runtime.load(runtime.default("image_classification"))
            with app:  # Gradio's batching around the same model calls the tabs make
                text, out, file, label = gr.Textbox(), gr.JSON(), gr.File(), gr.Label()
                text.submit(lambda texts: [[len(found) for found in ner.find_entities(recognizer, list(texts))]], text, out,
                            batch=True, max_batch_size=8, api_name="ner_gradio_batch")
                file.upload(lambda paths: [[{"top": float(p.max())} for p in image_classification.class_probabilities(
                    classifier, [classifier.preprocess([open_image(path)])[0] for path in paths])]],
                    file, label, batch=True, max_batch_size=8, api_name="image_gradio_batch")
        app.launch(prevent_thread_lock=True, quiet=True)
        apps.append(app)
        urls[mode] = app.local_url
    calls = {
        "ner": {"off": ("off", "/ner", lambda: (TEXT, overrides["ner"], "")),
                "dynamic": ("dynamic", "/ner", lambda: (TEXT, overrides["ner"], "")),
                "gradio_batch": ("off", "/ner_gradio_batch", lambda: (TEXT,))},
        "image_classification": {
            "off": ("off", "/classify_image", lambda: (handle_file(image_path), overrides["image_classification"], "")),
            "dynamic": ("dynamic", "/classify_image",
                        lambda: (handle_file(image_path), overrides["image_classification"], "")),
            "gradio_batch": ("off", "/image_gradio_batch", lambda: (handle_file(image_path),))},
    }
    pool = {mode: [Client(url, verbose=False, download_files=False) for _ in range(clients)] for mode, url in urls.items()}

    def throughput(app_mode: str, endpoint: str, arguments) -> float:
        errors = []

        def client_loop(client):
            for _ in range(requests_per_client):
                try:
                    client.predict(*arguments(), api_name=endpoint)
                except Exception as error:  # counted: a failed request must not pass for a fast one
                    errors.append(error)

        threads = [threading.Thread(target=client_loop, args=(client,)) for client in pool[app_mode]]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise RuntimeError(f"{endpoint}: {len(errors)} requests failed, e.g. {errors[0]}")
        return clients * requests_per_client / (time.perf_counter() - started)

    results = {}
    for task, modes in calls.items():
        for call in modes.values():
            throughput(*call)  # warm up
        runtimes["dynamic"].batcher.batch_sizes.clear()
        rates = {mode: [] for mode in modes}
        for round_ in range(rounds):
            order = list(modes)[round_ % len(modes):] + list(modes)[:round_ % len(modes)]
            for mode in order:
                rates[mode].append(throughput(*modes[mode]))
        median = {mode: statistics.median(values) for mode, values in rates.items()}
        results[task] = {
            **{f"{mode}_requests_per_s": round(value, 2) for mode, value in median.items()},
            "dynamic_vs_off": round(median["dynamic"] / median["off"], 3),
            "gradio_batch_vs_off": round(median["gradio_batch"] / median["off"], 3),
            "dynamic_mean_batch": round(statistics.mean(runtimes["dynamic"].batcher.batch_sizes), 2),
        }
    for app in apps:
        app.close()
    results["clients"] = clients
    return results


def _seconds_to_http_200(command: list[str], port: int) -> float:
    process, seconds = serve(command, port)
    stop(process)
    return seconds


def cold_start(runs: int) -> dict:
    bare = ("import sys, gradio as gr, torch\nwith gr.Blocks() as demo:\n    gr.Markdown('bare')\n"
            "demo.launch(server_port=int(sys.argv[1]), quiet=True)")
    hub, floor = [], []
    for _ in range(runs):
        port = free_port()
        hub.append(_seconds_to_http_200([sys.executable, "app.py", "--offline", "--port", str(port)], port))
        port = free_port()
        floor.append(_seconds_to_http_200([sys.executable, "-c", bare, str(port)], port))
    code = ("import sys, app; app.build_app(); "
            "print(sorted(m for m in ('transformers', 'diffusers', 'torchvision', 'librosa') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"app_s": round(statistics.median(hub), 2), "bare_gradio_torch_s": round(statistics.median(floor), 2),
            "ratio": round(statistics.median(hub) / statistics.median(floor), 3),
            "heavy_modules_imported_at_start": imported, "runs": runs}


def lifecycle(models) -> dict:
    from demos import image_classification, ner
    from models.runtime import ModelRuntime
    from models.settings import Settings

    results = {}
    for task, request in [("ner", lambda rt: ner.recognize_entities(rt, TEXT)),
                          ("image_classification", lambda rt: image_classification.classify(
                              rt, image_classification.EXAMPLES[1]))]:
        runtime = ModelRuntime(Settings(model_overrides={task: str(models[task])}))
        before = rss()
        first = timed(lambda: request(runtime))
        second = timed(lambda: request(runtime))
        loaded = rss()
        runtime.unload()
        after = rss()
        results[task] = {
            "first_request_s": round(first, 3), "second_request_s": round(second, 3),
            "loads_after_two_requests": runtime.cache.load_count,
            "rss_increase_mb": round((loaded - before) / 2**20, 1),
            "returned_by_unload": round((loaded - after) / max(loaded - before, 1), 3),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cold-start-runs", type=int, default=5)
    parser.add_argument("--batching-rounds", type=int, default=3)
    parser.add_argument("--only", choices=["lifecycle", "per_request", "batching", "cold_start"], action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
               "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
               "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    with tempfile.TemporaryDirectory() as tmp:
        models = build_all(Path(tmp))
        parts = {"lifecycle": lambda: lifecycle(models), "per_request": lambda: per_request(models, args.repeats),
                 "batching": lambda: batching(models, args.batching_rounds),
                 "cold_start": lambda: cold_start(args.cold_start_runs)}
        results = {"machine": machine}
        for name, run in parts.items():
            if not args.only or name in args.only:
                results[name] = run()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
