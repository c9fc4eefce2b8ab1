"""The optimisation lab: its techniques on real layers, its measurements, its refusals, and whole runs on the
served models (the tiny ones; the digit CNN and its student are the weights we ship)."""
import copy
import json
import math
import time

import numpy as np
import pytest
import torch
import torchvision
from gradio_client import handle_file
from torch import nn
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
)

import app as hub_app
from conftest import ROOT
from demos import optimisation
from demos.common import Refusal
from demos.endpoints import bound
from demos.lab_run import SWEEP, TECHNIQUES
from demos.lab_subjects import UCI_HELD_OUT
from demos.optimisation import measure_optimisations
from models.digit_network import DigitCNN
from models.measure import disk_bytes, median_ms, parameter_count, zero_fraction
from models.pruning import kept_channels, prune_channels, prune_unstructured
from models.quantization import quantize_int8
from models.runtime import ModelRuntime
from models.settings import Settings
from tasks import task

QUALITY = json.loads((ROOT / "training" / "quality.json").read_text())


def tiny_bert():
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16)
    return BertForSequenceClassification(config).eval()


def tiny_distilbert():
    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=2, n_heads=2, hidden_dim=32, max_position_embeddings=16)
    return DistilBertForSequenceClassification(config).eval()


def test_unstructured_pruning_zeroes_each_layers_smallest_weights():
    torch.manual_seed(0)
    network = DigitCNN().eval()
    pruned = copy.deepcopy(network)
    prune_unstructured(pruned, 0.5)
    for before, after in zip(network.modules(), pruned.modules()):
        if isinstance(before, (nn.Conv2d, nn.Linear)):
            zeroed = after.weight == 0
            assert zeroed.float().mean().item() == pytest.approx(0.5, abs=0.01)
            assert before.weight[zeroed].abs().max() <= before.weight[~zeroed].abs().min()
            assert not hasattr(after, "weight_mask"), "the mask is made permanent, not applied at each call"
    assert parameter_count(pruned) == parameter_count(network)
    assert zero_fraction(pruned) == pytest.approx(0.5, abs=0.01)


def test_channel_pruning_keeps_the_strongest_channels_of_the_digit_cnn():
    torch.manual_seed(0)
    network = DigitCNN().eval()
    pruned = copy.deepcopy(network)
    assert prune_channels(pruned, 0.5)
    first = network.features[0].weight
    strongest = first.flatten(1).norm(dim=1).topk(8).indices.sort().values
    assert torch.equal(pruned.features[0].weight, first[strongest])
    assert [pruned.features[0].out_channels, pruned.features[3].out_channels, pruned.classifier[1].out_features] == \
        [8, 16, 64]
    assert pruned(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    assert parameter_count(pruned) < parameter_count(network) / 3


@pytest.mark.parametrize("make", [
    lambda: torchvision.models.resnet18(num_classes=10).eval().to(memory_format=torch.channels_last),
    lambda: torchvision.models.resnet50(num_classes=10, width_per_group=16).eval(),
    tiny_bert, tiny_distilbert,
], ids=["resnet18-channels-last", "resnet50-bottleneck", "bert", "distilbert"])
def test_channel_pruning_shrinks_resnets_and_bert_layers_and_they_still_run(make):
    torch.manual_seed(0)
    network = make()
    pruned = copy.deepcopy(network)
    assert prune_channels(pruned, 0.5)
    assert parameter_count(pruned) < parameter_count(network)
    is_text = isinstance(network, (BertForSequenceClassification, DistilBertForSequenceClassification))
    inputs = {"input_ids": torch.tensor([[1, 2, 3, 4]])} if is_text else {"x": torch.rand(2, 3, 64, 64)}
    with torch.inference_mode():
        before, after = network(**inputs), pruned(**inputs)
    assert getattr(before, "logits", before).shape == getattr(after, "logits", after).shape
    for layer in pruned.modules():
        if isinstance(layer, nn.Conv2d) and next(network.parameters()).is_contiguous(memory_format=torch.channels_last):
            assert layer.weight.is_contiguous(memory_format=torch.channels_last)


def test_unstructured_pruning_takes_channels_last_weights():
    network = torchvision.models.resnet18(num_classes=10).eval().to(memory_format=torch.channels_last)
    prune_unstructured(network, 0.3)
    assert zero_fraction(network) == pytest.approx(0.3, abs=0.01)
    assert network.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_an_architecture_without_known_channels_is_left_as_it_is():
    network = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    before = copy.deepcopy(network.state_dict())
    assert not prune_channels(network, 0.5)
    assert all(torch.equal(before[name], value) for name, value in network.state_dict().items())


def test_at_least_one_channel_is_kept():
    assert kept_channels(torch.rand(3, 4), 0.9).tolist() and len(kept_channels(torch.rand(3, 4), 0.99)) == 1


def test_int8_weights_are_counted_on_disk_and_in_memory():
    network = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)).eval()
    quantized = copy.deepcopy(network)
    quantize_int8(quantized)
    assert parameter_count(quantized) == parameter_count(network)
    assert disk_bytes(quantized) < disk_bytes(network) / 3


def test_weight_normed_convolutions_are_sized_like_any_other_layer():
    from models.device import module_bytes

    conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(4, 4, 3))  # wav2vec 2.0's positional convolution
    assert module_bytes(conv) == sum(p.numel() * 4 for p in conv.parameters())
    assert parameter_count(conv) == sum(p.numel() for p in conv.parameters())


def test_timing_honours_its_count_and_its_deadline():
    calls = []
    ms, runs = median_ms(lambda: calls.append(1), repeats=4, deadline=math.inf)
    assert runs == 4 and len(calls) > 4 and ms >= 0  # warm-up calls first, not timed
    _, runs = median_ms(lambda: calls.append(1), repeats=20, deadline=time.monotonic() - 1)
    assert runs == 1, "past the deadline: one timed run, no more"


@pytest.mark.parametrize("arguments, words", [
    (("mnist", ["int8"], 50, 5), "The model must be one of: digits, image_classification, sentiment."),
    (({"a": 1}, ["int8"], 50, 5), "The model must be one of"),
    (("digits", "int8", 50, 5), "The techniques must be one of: unstructured, channels, int8, half, student."),
    (("digits", ["int8", "fp4"], 50, 5), "The techniques must be one of"),
    (("digits", [["int8"]], 50, 5), "The techniques must be one of"),
    (("digits", None, 50, 5), "The techniques must be one of"),
    (("digits", [], 50, 5), "Pick at least one of the techniques."),
    (("digits", ["int8"], 95, 5), "The share to prune must be a whole number from 10 to 90."),
    (("digits", ["int8"], 50.5, 5), "The share to prune must be a whole number"),
    (("digits", ["int8"], float("nan"), 5), "The share to prune must be a number."),
    (("digits", ["int8"], "50", 5), "The share to prune must be a number."),
    (("digits", ["int8"], 50, 0), "The number of timed runs must be a whole number from 1 to 20."),
    (("digits", ["int8"], 50, 10**400), "The number of timed runs must be a whole number from 1 to 20."),
    (("digits", ["int8"], 50, None), "The number of timed runs must be a number."),
])
def test_every_parameter_is_checked_before_any_model_loads(arguments, words):
    runtime = ModelRuntime()
    with pytest.raises(Refusal, match=words.replace(".", r"\.")):
        next(bound(optimisation.ENDPOINTS[0], runtime)(*arguments))  # as both the API and the page call it
    assert runtime.cache.load_count == 0


def test_a_model_served_in_int8_is_refused_in_plain_words():
    runtime = ModelRuntime(Settings(quantize="int8", device="cpu"))
    with pytest.raises(Refusal, match="serves the Sentiment model in int8"):
        next(measure_optimisations(runtime, "sentiment", ["unstructured"], 50, 1))
    assert runtime.cache.load_count == 0


def test_the_shipped_uci_digits_are_the_held_out_half_quality_reports_on(tmp_path):
    from training.digit_data import write_held_out_scans

    write_held_out_scans(tmp_path / "uci.npz")
    with np.load(tmp_path / "uci.npz") as written, np.load(UCI_HELD_OUT) as shipped:
        assert np.array_equal(written["scans"], shipped["scans"]) and np.array_equal(written["labels"],
                                                                                      shipped["labels"])
        assert len(shipped["labels"]) == QUALITY["digits"]["uci_held_out"]


def last(generator):
    *_, final = generator
    return final


def rows_of(table) -> dict[str, dict]:
    frame = table if isinstance(table, dict) else {"headers": list(table.columns), "data": table.values.tolist()}
    return {row[0]: dict(zip(frame["headers"], row)) for row in frame["data"]}


def test_a_run_on_the_digit_cnn_measures_every_technique_on_copies(runtime):
    spec = runtime.spec("digits")
    served = runtime.load(spec)
    weights = copy.deepcopy(served.state_dict())
    steps = list(measure_optimisations(runtime, "digits", list(TECHNIQUES), 50, 2))
    assert len(steps) == 1 + len(TECHNIQUES) + 2 + 1, "the table streams: once per variant, per sweep, at the end"
    summary, table, latency, sweep = steps[-1]
    assert "899 handwritten digits" in summary and "Done in" in summary
    rows = rows_of(table)
    assert list(rows) == ["original", "L1 unstructured pruning · 50%", "channel pruning · 50%", "int8",
                          "half precision", "distilled student"]
    original, student = rows["original"], rows["distilled student"]
    # the same digits and weights as training/quality.json: the same accuracy
    assert original["accuracy %"] == pytest.approx(QUALITY["digits"]["uci_held_out_accuracy"] * 100, abs=0.01)
    assert student["accuracy %"] == pytest.approx(
        QUALITY["digits_student"]["student"]["uci_held_out_accuracy"] * 100, abs=0.01)
    assert student["parameters"] == QUALITY["digits_student"]["student"]["parameters"]
    assert original["agreement %"] == 100 and original["zeros %"] == 0
    assert original["note"] == "timed twice, the faster kept"
    assert rows["L1 unstructured pruning · 50%"]["zeros %"] == pytest.approx(50, abs=0.5)
    assert rows["channel pruning · 50%"]["parameters"] < original["parameters"] / 3
    assert rows["int8"]["disk MB"] < original["disk MB"] / 2
    assert rows["half precision"]["memory MB"] == pytest.approx(original["memory MB"] / 2, rel=0.01)
    for row in rows.values():
        assert row["ms, batch 1"] > 0 and row["ms, batch 8"] > 0 and 0 <= row["agreement %"] <= 100
    assert latency.count('class="point"') == 6, "one point per variant"
    for name in ("L1 unstructured pruning", "channel pruning"):
        for share in (0, *SWEEP):
            assert f"<title>{name}: {share}, " in sweep
    assert all(torch.equal(weights[name], value) for name, value in runtime.load(spec).state_dict().items()), \
        "the served model is never changed"
    assert runtime.load(spec) is served


def test_a_run_stops_at_its_time_limit_and_says_what_it_did_not_measure(runtime, monkeypatch):
    monkeypatch.setattr(optimisation, "BUDGET_S", 0)
    summary, table, latency, sweep = last(measure_optimisations(runtime, "digits", ["channels", "int8"], 50, 5))
    assert "Stopped at the 0 s limit" in summary
    assert {row["note"] for row in rows_of(table).values()} == {"not measured: the run's time was spent"}
    assert latency == ""


def test_the_lab_through_the_api_on_the_sentiment_and_image_models(runtime, connect):
    client = connect(hub_app.build_app(runtime))
    summary, table, latency, sweep = client.predict("sentiment", ["channels", "student"], 30, 1,
                                                    api_name="/measure_optimisations")
    assert "24 sentences" in summary and "Done in" in summary
    rows = rows_of(table)
    assert rows["channel pruning · 30%"]["parameters"] < rows["original"]["parameters"]
    assert rows["distilled student"]["note"] == "not available: only the digit CNN has a distilled student"
    assert "accuracy %" not in table["headers"], "no labels: agreement only"
    assert latency.count('class="point"') == 2 and sweep.count("<polyline") == 1
    summary, table, _, _ = client.predict("image_classification", ["int8"], 50, 1, api_name="/measure_optimisations")
    assert "8 pictures" in summary and set(rows_of(table)) == {"original", "int8"}
    loads = runtime.cache.load_count
    client.predict("sentiment", ["int8"], 50, 1, api_name="/measure_optimisations")
    assert runtime.cache.load_count == loads, "the lab reuses the tabs' loaded models"


def test_while_the_lab_runs_other_tabs_are_answered(runtime, connect):
    """The lab has a queue of its own and hands its model work to the torch threads step by step, so a request to
    another tab waits for one step, not for the whole run."""
    app = hub_app.build_app(runtime)
    assert {fn.api_name: fn.concurrency_limit for fn in app.fns.values()}["measure_optimisations"] == 1
    client = connect(app)
    digit = {"background": None, "layers": [], "composite": handle_file(str(task("digits").example_files()[0]))}
    client.predict(digit, runtime.default("digits").name, api_name="/recognize_digit")  # loaded before the run
    lab = client.submit("image_classification", ["half", "channels"], 50, 3, api_name="/measure_optimisations")
    while lab.status().code.name not in ("PROCESSING", "ITERATING", "FINISHED"):
        time.sleep(0.05)
    probabilities, _ = client.predict(digit, runtime.default("digits").name, api_name="/recognize_digit")
    assert not lab.done(), "the digit was read while the lab was still measuring"
    assert len(probabilities["confidences"]) == 10
    assert "Done in" in lab.result()[0]


def test_charts_are_svg_with_round_ticks_and_escaped_names():
    from demos.charts import Series, chart, nice_ticks

    assert nice_ticks(0.968) == [0, 0.2, 0.4, 0.6, 0.8, 1.0] and nice_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0) == nice_ticks(float("nan")) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    drawn = chart([Series("<b>int8</b>", "#d97706", ((0.5, 99.0),)), Series("half", "#9333ea", ((1.2, 98.0),))],
                  "ms", "%", lines=False)
    assert drawn.count('class="point"') == 2 and "<b>" not in drawn and "&lt;b&gt;int8" in drawn
    assert "<polyline" in chart([Series("L1", "#2563eb", ((0, 100.0), (50, 90.0)))], "%", "%", lines=True)
    assert chart([], "ms", "%", lines=False) == ""
