import time

import pytest

from engines.runtime import ModelRuntime
from models.errors import ModelLoadError, ModelUnavailableError
from models.registry import is_hub_id
from models.settings import Settings
from tasks import MODEL_SPECS, TASK_KEYS, default_spec
from tiny_models import put_in_hf_cache


def test_every_task_has_exactly_one_default():
    for task in TASK_KEYS:
        assert sum(spec.default for spec in MODEL_SPECS if spec.task == task) == 1


@pytest.mark.parametrize("text", ["dslim/bert-base-NER", "Davlan/bert-base-multilingual-cased-ner-hrl"])
def test_hub_ids_are_recognised(text):
    assert is_hub_id(text)


@pytest.mark.parametrize("text", ["../etc/passwd", "/etc/passwd", "~/models/x", "a/../b", "a/b/c", "bert", "http://x/y", "a/ b"])
def test_paths_and_odd_strings_are_not_hub_ids(text):
    assert not is_hub_id(text)


def test_override_becomes_the_default_and_keeps_the_listed_models(tiny_ner_dir):
    rt = ModelRuntime(Settings(model_overrides={"ner": str(tiny_ner_dir)}))
    choices = rt.choices("ner")
    assert choices[0].source == str(tiny_ner_dir) and choices[0].trusted
    assert rt.default("ner") == choices[0]
    assert [c.source for c in choices[1:]] == [s.source for s in sorted(
        (s for s in MODEL_SPECS if s.task == "ner"), key=lambda s: not s.default)]


def test_clients_know_a_directory_by_its_folder_name_only(tiny_ner_dir):
    rt = ModelRuntime(Settings(model_overrides={"ner": str(tiny_ner_dir), "translation": "Helsinki-NLP/opus-mt-en-zh"}))
    local = rt.default("ner")
    assert local.name == f"local:{tiny_ner_dir.name}" and str(tiny_ner_dir) not in local.label
    assert rt.spec("ner", local.name) == local
    with pytest.raises(ModelLoadError, match="Unknown model"):
        rt.spec("ner", str(tiny_ner_dir))  # the server path is nothing a client can name
    assert rt.default("translation").name == "Helsinki-NLP/opus-mt-en-zh", "hub ids are public as they are"


def test_request_picks_by_label_or_id_and_defaults_when_empty():
    rt = ModelRuntime()
    assert rt.spec("ner").source == "dslim/bert-base-NER"
    assert rt.spec("ner", "").default
    other = [s for s in MODEL_SPECS if s.task == "ner" and not s.default][0]
    assert rt.spec("ner", other.source) == other
    assert rt.spec("ner", other.label) == other
    with pytest.raises(ModelLoadError, match="Unknown model"):
        rt.spec("ner", "no/such-model-in-the-list")


def test_typed_in_ids_are_untrusted_hub_ids_only():
    rt = ModelRuntime()
    assert not rt.spec("ner", None, " someone/ner-model ").trusted
    for bad in ["../../etc", "/etc/passwd", "C:\\models"]:
        with pytest.raises(ModelLoadError, match="not a Hugging Face model id"):
            rt.spec("ner", None, bad)


def test_typed_in_ids_can_be_turned_off():
    rt = ModelRuntime(Settings(custom_models=False))
    with pytest.raises(ModelLoadError, match="turned off"):
        rt.spec("ner", None, "someone/ner-model")


def test_uncached_model_offline_fails_fast_with_guidance(hf_cache):
    rt = ModelRuntime(Settings(offline=True))
    started = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as raised:
        rt.load(rt.spec("ner"))
    assert time.perf_counter() - started < 5
    message = str(raised.value)
    assert "dslim/bert-base-NER" in message
    assert "python app.py --download ner" in message and "--model ner=" in message
    assert rt.cache.loaded() == []
    other = [s for s in MODEL_SPECS if s.task == "ner" and not s.default][0]
    with pytest.raises(ModelUnavailableError, match=f"--download {other.source}"):
        rt.load(other)


def test_corrupt_weights_fail_clearly_are_not_cached_and_are_retried(tiny_ner_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_ner_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    weights = broken / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(b"this is not a safetensors file")
    rt = ModelRuntime(Settings(model_overrides={"ner": str(broken)}))
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        rt.load(rt.spec("ner"))
    assert rt.cache.loaded() == []
    weights.write_bytes(good)
    assert rt.load(rt.spec("ner")) is not None and rt.cache.load_count == 1


def test_pickle_only_weights_are_refused_for_typed_in_ids(tmp_path):
    from models.hub_files import check_weights
    from tasks import custom_spec

    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelLoadError, match="pickle"):
        check_weights(tmp_path, custom_spec("ner", "someone/model"), allow_pickle=False)
    check_weights(tmp_path, custom_spec("ner", "someone/model"), allow_pickle=True)
    check_weights(tmp_path, default_spec("ner"), allow_pickle=False)  # our own table is trusted


def test_missing_local_directory_is_a_clear_error(tmp_path):
    rt = ModelRuntime(Settings(model_overrides={"ner": str(tmp_path / "nowhere")}))
    with pytest.raises(ModelLoadError, match="not a model directory"):
        rt.load(rt.spec("ner"))


def test_a_cached_hub_model_loads_offline(hf_cache, tiny_ner_dir):
    put_in_hf_cache(hf_cache, "someone/tiny-ner", tiny_ner_dir)
    rt = ModelRuntime(Settings(offline=True))
    recognizer = rt.load(rt.spec("ner", None, "someone/tiny-ner"))
    assert recognizer.model.config.id2label[3] == "B-PER"
    assert rt.cache.loaded()[0].key.source == "someone/tiny-ner"


def test_uncached_torchvision_weights_offline_give_guidance(tmp_path, monkeypatch):
    import torch.hub

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    rt = ModelRuntime(Settings(offline=True))
    with pytest.raises(ModelUnavailableError, match="--download image_classification"):
        rt.load(rt.default("image_classification"))


@pytest.mark.parametrize("error, key", [
    (FileNotFoundError("model.safetensors"), "load_files_missing"),
    (OSError("dir does not appear to have a file named config.json"), "load_files_missing"),
    (ValueError("Unrecognized configuration class BertConfig for AutoModelForSeq2SeqLM"), "load_wrong_kind"),
    (RuntimeError("Error(s) in loading state_dict for DCGANGenerator: Missing key(s) in state_dict"),
     "load_wrong_kind"),
    (RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central directory"), "load_corrupt"),
    (MemoryError(), "load_out_of_memory"),
    (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 4 GB"), "load_out_of_memory"),
    (ValueError("Couldn't instantiate the backend tokenizer from one of: ..."), "load_files_missing"),
    (AttributeError("'NoneType' object has no attribute 'config'"), "load_internal"),
])
def test_a_failed_load_is_said_as_what_it_is(error, key):
    from models.errors import load_failure

    said = load_failure(error, "owner/model")
    assert said.key == key and "owner/model" in str(said) and "owner/model" in said.text("zh")


@pytest.mark.parametrize("task", ["translation", "image_editing", "text_generation", "object_detection"])
def test_a_model_of_another_kind_is_said_to_be_one_before_it_loads(tiny_ner_dir, task):
    rt = ModelRuntime(Settings(model_overrides={task: str(tiny_ner_dir)}))
    with pytest.raises(ModelLoadError, match="is not a model of this kind: it is a BertForTokenClassification") \
            as raised:
        rt.load(rt.default(task))
    assert "不是这类模型" in raised.value.text("zh")
