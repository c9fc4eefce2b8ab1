import threading
import time

import pytest

from demos.endpoints import on_device
from engines import image_classification as ic
from engines import ner
from engines.runtime import ModelRuntime
from models.batching import DynamicBatcher
from models.settings import Settings


def run_together(batcher, items, forward, key="model"):
    results, threads = {}, []

    def call(item):
        try:
            results[item] = batcher.run(key, item, forward)
        except Exception as error:
            results[item] = error

    for item in items:
        threads.append(threading.Thread(target=call, args=(item,)))
        threads[-1].start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def slow_double(items):
    time.sleep(0.05)  # requests that arrive meanwhile form the next batch
    return [2 * item for item in items]


def test_waiting_requests_share_a_batch_and_each_gets_its_own_result():
    batcher = DynamicBatcher(max_batch=8)
    results = run_together(batcher, range(20), slow_double)
    assert results == {i: 2 * i for i in range(20)}
    assert sum(batcher.batch_sizes) == 20 and max(batcher.batch_sizes) <= 8
    assert max(batcher.batch_sizes) > 1 and len(batcher.batch_sizes) < 20


def test_a_lone_request_runs_at_once():
    batcher = DynamicBatcher(max_batch=8)
    assert batcher.run("model", 3, lambda items: [i + 1 for i in items]) == 4
    assert batcher.batch_sizes == [1]


def test_a_poisoned_batch_is_retried_item_by_item_and_only_the_bad_item_fails():
    batcher = DynamicBatcher(max_batch=4)
    batches = []

    def fails_on_seven(items):
        batches.append(list(items))
        time.sleep(0.05)
        if 7 in items:
            raise ValueError("item 7 cannot be preprocessed")
        return [10 * item for item in items]

    results = run_together(batcher, range(12), fails_on_seven)
    assert isinstance(results[7], ValueError)
    assert all(results[i] == 10 * i for i in range(12) if i != 7)
    assert any(7 in batch and len(batch) > 1 for batch in batches), "7 did share a batch"


def test_a_failing_model_fails_every_request_with_its_own_error():
    batcher = DynamicBatcher(max_batch=4)
    results = run_together(batcher, range(6), lambda items: (time.sleep(0.02), 1 / 0))
    assert all(isinstance(result, ZeroDivisionError) for result in results.values())


def test_different_models_never_share_a_batch():
    batcher = DynamicBatcher(max_batch=8)
    seen = []

    def forward(items):
        seen.append({key for key, _ in items})
        time.sleep(0.02)
        return items

    threads = [threading.Thread(target=batcher.run, args=(key, (key, i), forward)) for i in range(6) for key in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(len(keys) == 1 for keys in seen)


def test_batching_off_keeps_the_shared_device_limit():
    off = ModelRuntime(Settings(max_batch_size=1))
    assert on_device(off, batched="ner") == on_device(off)
    on = ModelRuntime(Settings(max_batch_size=8))
    assert on_device(on, batched="ner")["concurrency_limit"] == 8


def test_batched_ner_finds_what_single_requests_find(tiny_ner_dir):
    rt = ModelRuntime(Settings(model_overrides={"ner": str(tiny_ner_dir)}))
    recognizer = rt.load(rt.default("ner"))
    texts = ["Alice lives in Paris .", "Bob works for Acme in Berlin and London .", "Nothing here"]
    together = ner.find_entities(recognizer, texts)
    for text, batched in zip(texts, together):
        (alone,) = ner.find_entities(recognizer, [text])
        assert [(e["entity_group"], e["start"], e["end"]) for e in batched] == \
            [(e["entity_group"], e["start"], e["end"]) for e in alone]
        assert [e["score"] for e in batched] == pytest.approx([e["score"] for e in alone], abs=1e-4)


def test_batched_images_get_the_classes_they_get_alone(tiny_resnet_dir):
    rt = ModelRuntime(Settings(model_overrides={"image_classification": str(tiny_resnet_dir)}))
    classifier = rt.load(rt.default("image_classification"))
    from engines.media import open_image

    pictures = [open_image(path) for path in ic.EXAMPLES]
    together = ic.top_classes(classifier, pictures)
    for picture, batched in zip(pictures, together):
        (alone,) = ic.top_classes(classifier, [picture])
        assert next(iter(batched)) == next(iter(alone))  # the same likeliest class
        assert [batched[label] for label in batched if label in alone] == \
            pytest.approx([alone[label] for label in batched if label in alone], abs=1e-3)


def test_a_bad_request_among_concurrent_ones_fails_alone(runtime, connect):
    import app as hub_app

    client = connect(hub_app.build_app(runtime))
    texts = ["Alice went to Paris.", "", "Bob met Carol in Rome.", "Dan", "Eve and Frank", "Acme Corp", "Berlin", "Oslo"]
    jobs = [client.submit(text, api_name="/ner") for text in texts]
    outcomes = []
    for job in jobs:
        try:
            outcomes.append(job.result(timeout=60))
        except Exception as error:
            outcomes.append(error)
    assert "enter some text" in str(outcomes[1])
    # each request gets its own text back, highlighted
    assert all("".join(piece["token"] for piece in o[0]) == t for o, t in zip(outcomes, texts) if t)
