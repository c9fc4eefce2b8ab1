import shutil

import pytest
import torch

from demos.endpoints import bound
from engines import ner
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.errors import ModelLoadError
from models.settings import Settings
from tiny_models import NER_LABELS

ENTITY_TYPES = {label.split("-")[1] for label in NER_LABELS if label != "O"}


def check_outputs(text, highlighted, rows):
    assert highlighted["text"] == text
    assert len(highlighted["entities"]) == len(rows)
    previous_end = 0
    for span, (word, kind, score, start, end) in zip(highlighted["entities"], rows):
        assert span == {"entity": kind, "start": start, "end": end}
        assert kind in ENTITY_TYPES
        assert 0.0 <= score <= 1.0
        assert previous_end <= start < end <= len(text) and word == text[start:end]
        previous_end = end


def test_entities_come_back_as_highlights_and_table(runtime):
    text = "Alice works for Siemens in Berlin. 李明 在 北京 的 华为 工作 。"
    highlighted, rows = ner.ner(runtime, text)
    check_outputs(text, highlighted, rows)
    assert rows, "the briefly trained tiny model finds at least one entity"


def test_second_request_does_not_reload(runtime):
    ner.ner(runtime, "Bob met Alice in Paris.")
    ner.ner(runtime, "Marie flew to Tokyo.")
    assert runtime.cache.load_count == 1


def test_text_longer_than_the_model_window_is_read_in_windows(runtime, tiny_ner_dir):
    text = " ".join(["Alice works for Acme in London ."] * 60)  # ~420 tokens; the tiny model sees 64
    highlighted, rows = ner.ner(runtime, text)
    check_outputs(text, highlighted, rows)
    assert rows and rows[-1][3] > len(text) // 2, "entities are found past the first window"


@pytest.mark.parametrize("text, windows", [("Alice works for Siemens in Berlin .", 1),
                                           (" ".join(["Bob met Alice in Paris ."] * 40), 5)])
def test_entities_are_the_ones_the_transformers_pipeline_finds(runtime, text, windows):
    """find_entities batches the windows itself; it must find what the pipeline's own call finds."""
    recognizer = runtime.load(runtime.default("ner"))
    stride = ner.window_overlap(recognizer.tokenizer)
    assert len(recognizer.tokenizer(text, truncation=True, stride=stride, return_overflowing_tokens=True)["input_ids"]) == windows
    (found,) = ner.find_entities(recognizer, [text])
    with torch.inference_mode():
        expected = recognizer(text, stride=stride)
    assert expected, "the briefly trained tiny model finds entities here"
    assert [(e["entity_group"], e["start"], e["end"]) for e in found] == \
        [(e["entity_group"], e["start"], e["end"]) for e in expected]
    assert [e["score"] for e in found] == pytest.approx([e["score"] for e in expected], abs=1e-5)


def test_a_model_without_a_fast_tokenizer_is_refused_at_load(tmp_path, tiny_ner_dir, tiny_marian_dir):
    """Entities are placed by character offsets, which only fast tokenizers give: a model with a
    sentencepiece-only tokenizer (here Marian's) gets a plain load error rather than failing on each request."""
    model_files = ("config.json", "generation_config.json", "model.safetensors")
    for tokenizer_file in tiny_marian_dir.iterdir():
        if tokenizer_file.name not in model_files:
            shutil.copy(tokenizer_file, tmp_path)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_ner_dir / name, tmp_path)
    runtime = ModelRuntime(Settings(model_overrides={"ner": str(tmp_path)}))
    with pytest.raises(ModelLoadError, match="no fast tokenizer"):
        ner.ner(runtime, "Alice lives in Paris.")


@pytest.mark.parametrize("bad", [None, "", "   \n\t ", "\x00\x01\x02"])
def test_empty_text_is_refused_in_plain_words(runtime, bad):
    with pytest.raises(Refusal, match="enter some text"):
        bound(ner.ENDPOINTS[0], runtime)(bad)  # as both the API and the page call it


def test_too_long_text_is_refused_with_the_limit(runtime):
    with pytest.raises(Refusal, match="at most 10,000"):
        bound(ner.ENDPOINTS[0], runtime)("a" * (ner.MAX_CHARS + 1))
    assert runtime.cache.load_count == 0  # refused before any model work


def test_overlapping_entities_are_dropped_and_sorted():
    text = "Alice in Paris"
    entities = [
        {"entity_group": "LOC", "score": 0.9, "start": 9, "end": 14},
        {"entity_group": "PER", "score": 0.8, "start": 0, "end": 5},
        {"entity_group": "PER", "score": 0.7, "start": 2, "end": 5},
    ]
    highlighted, rows = ner.to_outputs(text, entities)
    assert [r[:2] for r in rows] == [["Alice", "PER"], ["Paris", "LOC"]]
    check_outputs(text, highlighted, rows)


def test_examples_are_english_and_chinese():
    assert any(ch.isascii() for ch in ner.EXAMPLES[0])
    assert any("\u4e00" <= ch <= "\u9fff" for example in ner.EXAMPLES for ch in example)
