import pytest
from torch import nn

from command_line import parse_args, settings_from_args
from engines import ner, sentiment, speech_to_text, text_generation, translation
from engines.runtime import ModelRuntime
from models.device import module_bytes
from models.quantization import QUANTIZED_TASKS
from models.settings import Settings
from tasks import TASK_KEYS


@pytest.fixture
def int8_runtime(tiny_overrides) -> ModelRuntime:
    """PyTorch's int8 (chat and translation would otherwise run on CTranslate2, int8 of its own: test_ctranslate2)."""
    return ModelRuntime(Settings(model_overrides=tiny_overrides, quantize="int8", ctranslate2=False))


def linear_layers(model) -> tuple[int, int]:
    """(float nn.Linear layers, int8 ones) in a loaded model."""
    modules = list(model.modules())
    return (sum(type(m) is nn.Linear for m in modules),
            sum(type(m).__module__.startswith("torch.ao.nn.quantized.dynamic") for m in modules))


def test_the_flag_is_read_and_off_by_default():
    assert settings_from_args(parse_args([])).quantize == "none"
    assert settings_from_args(parse_args(["--quantize", "int8"])).quantize == "int8"
    with pytest.raises(SystemExit):
        parse_args(["--quantize", "int4"])


def test_only_the_transformer_tabs_get_int8_and_their_cache_key_says_so(int8_runtime):
    plain = ModelRuntime(Settings(model_overrides=int8_runtime.settings.model_overrides))
    for task in TASK_KEYS:
        spec = int8_runtime.default(task)
        expected = "int8" if task in QUANTIZED_TASKS else "float32"
        assert int8_runtime.cache_key(spec).dtype == expected
        assert plain.cache_key(spec).dtype == "float32"
        assert (int8_runtime.cache_key(spec) != plain.cache_key(spec)) == (task in QUANTIZED_TASKS)


@pytest.mark.parametrize("task, request_", [
    ("ner", lambda rt: ner.ner(rt, ner.EXAMPLES[0])),
    ("sentiment", lambda rt: sentiment.classify_sentiment(rt, "I love it.\nIt broke.")),
    ("translation", lambda rt: translation.translate_text(rt, "Good morning.", "en", "zh", rt.default("translation").name)),
    ("speech_to_text", lambda rt: speech_to_text.transcribe(rt, speech_to_text.EXAMPLES[0], language="en")),
    ("text_generation", lambda rt: list(text_generation.complete_text(rt, "Once upon a time", max_new_tokens=4))),
])
def test_each_transformer_tab_answers_with_int8_weights(int8_runtime, task, request_):
    answer = request_(int8_runtime)
    assert answer
    loaded = int8_runtime.load(int8_runtime.default(task)).model
    float_layers, int8_layers = linear_layers(loaded)
    assert int8_layers > 0 and float_layers == 0
    assert module_bytes(loaded) > 0
    assert int8_runtime.cache.load_count == 1


def test_the_models_tab_says_int8_and_by_which_engine(int8_runtime):
    from demos import models_panel
    from models.quantization import ENGINE

    ner.ner(int8_runtime, ner.EXAMPLES[0])
    assert f"float32 · int8: {ENGINE}" in models_panel.summary(int8_runtime)
    assert models_panel.loaded_rows(int8_runtime)[0][1] == "cpu · int8"
    assert "int8" not in models_panel.summary(ModelRuntime(Settings()))
