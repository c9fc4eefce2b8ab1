"""The benchmark's batching part (benchmarks/bench.py runs it): requests per second of concurrent clients with
batching off, the hub's dynamic batching, and Gradio's own batch=True on the same model call."""
from __future__ import annotations

import statistics
from pathlib import Path

from models.settings import Settings

TEXT = "Angela Merkel met Emmanuel Macron in Paris to talk about the European Union and Airbus."  # NER example 1


def batching(models, rounds: int, clients: int = 8, requests_per_client: int = 4) -> dict:
    """Requests per second with 8 clients at once: batching off, the hub's dynamic batching, Gradio's batch=True."""

    import gradio as gr

    import app as hub_app
    from benchmarks.http_client import HttpClient, burst
    from engines import image_classification, ner
    from engines.media import open_image
    from engines.runtime import ModelRuntime

    overrides = {task: str(models[task]) for task in ("ner", "image_classification")}
    image_path = image_classification.EXAMPLES[1]
    apps, urls, runtimes = [], {}, {}
    for mode, size in [("off", 1), ("dynamic", 8)]:
        # the same requests again and again: the result cache would answer them
        settings = Settings(model_overrides=overrides, max_batch_size=size, result_cache_mb=0)
        runtime = runtimes[mode] = ModelRuntime(settings)
        app = hub_app.build_app(runtime)
        if mode == "off":
            recognizer = runtime.load(runtime.default("ner"))
            classifier = runtime.load(runtime.default("image_classification"))
            with app:  # Gradio's batching around the same model calls, with the tabs' outputs
                text, highlighted, table = gr.Textbox(), gr.HighlightedText(), gr.Dataframe()
                file, label = gr.File(), gr.Label()

                def ner_batch(texts, run=runtime.torch_threads.run):
                    found = run(ner.find_entities, recognizer, list(texts))
                    outputs = [ner.to_outputs(text, entities) for text, entities in zip(texts, found)]
                    return [[spans for spans, _ in outputs], [rows for _, rows in outputs]]

                def image_batch(paths, run=runtime.torch_threads.run):
                    return [run(image_classification.top_classes, classifier, [open_image(path) for path in paths])]

                text.submit(ner_batch, text, [highlighted, table], batch=True, max_batch_size=8,
                            api_name="ner_gradio_batch")
                file.upload(image_batch, file, label, batch=True, max_batch_size=8, api_name="image_gradio_batch")
        app.launch(prevent_thread_lock=True, quiet=True)
        apps.append(app)
        urls[mode] = app.local_url
    image = Path(image_path)
    names = {task: runtimes["off"].default(task).name for task in overrides}
    calls = {
        "ner": {"off": ("off", "/ner", (TEXT, names["ner"], "")),
                "dynamic": ("dynamic", "/ner", (TEXT, names["ner"], "")),
                "gradio_batch": ("off", "/ner_gradio_batch", (TEXT,))},
        "image_classification": {
            "off": ("off", "/classify_image", (image, names["image_classification"], "")),
            "dynamic": ("dynamic", "/classify_image", (image, names["image_classification"], "")),
            "gradio_batch": ("off", "/image_gradio_batch", (image,))},
    }
    pool = {mode: [HttpClient(url) for _ in range(clients)] for mode, url in urls.items()}

    def throughput(app_mode: str, endpoint: str, inputs) -> float:
        return burst(pool[app_mode], endpoint, inputs, requests_per_client, max_seconds=600)

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
    for client in (client for clients_of_app in pool.values() for client in clients_of_app):
        client.close()
    for app in apps:
        app.close()
    results["clients"] = clients
    return results
