"""Chat and translation on CTranslate2: each converted architecture through the runtime's own loading, the
answers against PyTorch's on the same weights and against CTranslate2 called directly, the conversion kept and
reused, streaming, Stop and the time limit, and PyTorch where asked for or where the conversion fails."""
from pathlib import Path

import pytest

from engines import text_generation as tg
from engines import translation
from engines.context import Context
from engines.runtime import ModelRuntime
from models.ctranslate2_models import CTRANSLATE2_WEIGHTS, Generator, Translator, conversions_dir
from models.hf import CausalLM, Seq2Seq
from models.settings import Settings

SENTENCES = ["The cat sleeps.", "We read books!", "Good morning."]


@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory) -> Path:
    from tiny_models import make_llama_chat_model

    return make_llama_chat_model(tmp_path_factory.mktemp("tiny-llama"))


def runtime_on(task: str, directory: Path, **settings) -> ModelRuntime:
    return ModelRuntime(Settings(model_overrides={task: str(directory)}, **settings))


def converted_folders(directory: Path) -> list[Path]:
    return sorted(conversions_dir().glob(f"local--{directory.name}/*"))


@pytest.mark.parametrize("model", ["tiny_marian_dir", "tiny_m2m100_dir"])
def test_translation_models_are_converted_once_and_kept(model, request):
    directory = request.getfixturevalue(model)
    runtime = runtime_on("translation", directory)
    progress = []
    context = Context.starting(60, progress=lambda fraction, desc=None: progress.append(desc))
    first = translation.translate_text(runtime, "Good morning.", "en", "zh" if model == "tiny_marian_dir" else "fr",
                                       runtime.default("translation").name, context=context)
    loaded = runtime.load(runtime.default("translation"))
    assert isinstance(loaded, Translator) and loaded.precision == "int8 · CTranslate2" and first
    [folder] = converted_folders(directory)
    assert (folder / CTRANSLATE2_WEIGHTS).is_file() and folder.name.endswith("-int8")
    assert any("Converting" in (text or "") for text in progress)
    made = folder.stat().st_mtime_ns
    again = runtime_on("translation", directory)  # as a restarted server: the folder is reused as it is
    assert isinstance(again.load(again.default("translation")), Translator)
    assert converted_folders(directory) == [folder] and folder.stat().st_mtime_ns == made


def test_the_models_tab_names_the_engine_of_each_loaded_model(tiny_marian_dir, tiny_gpt2_dir):
    from demos import models_panel

    runtime = ModelRuntime(Settings(model_overrides={"translation": str(tiny_marian_dir),
                                                     "text_generation": str(tiny_gpt2_dir)}))
    translation.translate_text(runtime, "Good morning.", "en", "zh", runtime.default("translation").name)
    on_pytorch = runtime_on("text_generation", tiny_gpt2_dir, ctranslate2=False)
    list(tg.complete_text(on_pytorch, "Hello", max_new_tokens=2))
    assert [row[1] for row in models_panel.loaded_rows(runtime)] == ["cpu · int8 · CTranslate2"]
    assert [row[1] for row in models_panel.loaded_rows(on_pytorch)] == ["cpu · float32"]


@pytest.mark.parametrize("model, target", [("tiny_marian_dir", "zh"), ("tiny_m2m100_dir", "fr")])
def test_translations_match_ctranslate2_called_directly_and_pytorch_on_the_same_weights(model, target, request):
    """The hub's tokens in and out of CTranslate2 are CTranslate2's own: the same beam search on the converted
    folder, called directly, gives the same text; and a float32 conversion reads as PyTorch does."""
    import ctranslate2
    from ctranslate2.converters import TransformersConverter

    directory = request.getfixturevalue(model)
    runtime = runtime_on("translation", directory, result_cache_mb=0)
    hub = [translation.translate_text(runtime, s, "en", target, runtime.default("translation").name)
           for s in SENTENCES]
    loaded = runtime.load(runtime.default("translation"))
    [folder] = converted_folders(directory)
    direct = ctranslate2.Translator(str(folder), compute_type="int8")
    prepared, target_token = translation.language_setup(loaded.tokenizer, SENTENCES, "en", target)
    for sentence, text in zip(prepared, hub):
        tokens = loaded.tokenizer.convert_ids_to_tokens(loaded.tokenizer(sentence)["input_ids"])
        [result] = direct.translate_batch([tokens], beam_size=translation.BEAMS,
                                          target_prefix=[[target_token]] if target_token else None,
                                          max_decoding_length=3 * len(tokens) + 16)
        assert translation._decoded(loaded.tokenizer, [loaded.tokenizer.convert_tokens_to_ids(
            result.hypotheses[0])]) == [text]

    float_folder = directory.parent / f"{directory.name}-ct2-float32"
    TransformersConverter(str(directory)).convert(str(float_folder), force=True)
    as_float = Translator(ctranslate2.Translator(str(float_folder)), loaded.tokenizer, loaded.max_positions, "", 0)
    on_pytorch = runtime_on("translation", directory, ctranslate2=False)
    seq2seq = on_pytorch.load(on_pytorch.default("translation"))
    assert isinstance(seq2seq, Seq2Seq)
    # A random model writes to the length bound, where PyTorch's last token is Marian's forced end: CTranslate2's
    # text is PyTorch's and at most that one token more.
    for ours, theirs in zip(translation.translate_batch_ctranslate2(as_float, prepared, target_token, 60),
                            translation.translate_batch(seq2seq, prepared, target_token, 60)):
        assert ours.startswith(theirs) and len(loaded.tokenizer.tokenize(ours[len(theirs):])) <= 1


@pytest.mark.parametrize("model", ["tiny_chat_lm_dir", "tiny_llama_dir", "tiny_gpt2_dir"])
def test_language_models_stream_on_ctranslate2_as_greedy_pytorch_reads_them(model, request):
    """Qwen2, Llama (SmolLM2's) and GPT-2: converted, they stream growing text that ends where PyTorch's greedy
    text on the same weights ends, within int8's rounding: the first tokens agree."""
    directory = request.getfixturevalue(model)
    runtime = runtime_on("text_generation", directory)
    on_pytorch = runtime_on("text_generation", directory, ctranslate2=False)
    parts = list(tg.complete_text(runtime, "Once upon a time", max_new_tokens=16, temperature=0))
    lm = runtime.load(runtime.default("text_generation"))
    assert isinstance(lm, Generator) and lm.precision == "int8 · CTranslate2" and lm.tokens_generated == 16
    assert all(later.startswith(earlier) for earlier, later in zip(parts, parts[1:])) and len(parts) >= 2
    assert isinstance(on_pytorch.load(on_pytorch.default("text_generation")), CausalLM)
    if lm.is_chat:
        reply = list(tg.chat(runtime, "Hello", [], max_new_tokens=8, temperature=0))
        assert reply and lm.tokens_generated == 24


def test_greedy_tokens_match_pytorch_on_a_float32_conversion(tiny_llama_dir):
    import ctranslate2
    import torch
    from ctranslate2.converters import TransformersConverter

    on_pytorch = runtime_on("text_generation", tiny_llama_dir, ctranslate2=False)
    lm = on_pytorch.load(on_pytorch.default("text_generation"))
    float_folder = tiny_llama_dir.parent / "tiny-llama-ct2-float32"
    TransformersConverter(str(tiny_llama_dir)).convert(str(float_folder), force=True)
    generator = ctranslate2.Generator(str(float_folder))
    ids = lm.tokenizer("Once upon a time", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        expected = lm.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=12,
                                     do_sample=False)[0, ids.shape[1]:].tolist()
    suppressed = [[t] for t in lm.tokenizer.convert_ids_to_tokens(lm.model.generation_config.suppress_tokens)]
    got = [step.token_id for step in generator.generate_tokens(
        lm.tokenizer.convert_ids_to_tokens(ids[0].tolist()), max_length=12, sampling_topk=1,
        suppress_sequences=suppressed)]
    assert got == expected


def test_stop_the_token_limit_and_the_time_limit_on_ctranslate2(tiny_chat_lm_dir):
    runtime = runtime_on("text_generation", tiny_chat_lm_dir)
    lm = runtime.load(runtime.default("text_generation"))
    before = lm.tokens_generated
    stream = tg.chat(runtime, "Go on", [], max_new_tokens=1000, temperature=0)
    next(stream), next(stream)
    stream.close()
    assert lm.tokens_generated - before < 1000, "the model went on after Stop"
    warnings = []
    list(tg.chat(runtime, "Hi", [], max_new_tokens=5, context=Context.starting(60, warn=warnings.append)))
    assert any("5 new tokens" in w for w in warnings), warnings  # the tiny model never ends: the limit cut it
    warnings.clear()
    list(tg.chat(runtime, "Hi", [], max_new_tokens=1000, context=Context.starting(0.05, warn=warnings.append)))
    assert any("time" in w for w in warnings), warnings


def test_a_folder_in_ctranslate2_format_loads_as_it_is(tiny_gpt2_dir):
    runtime = runtime_on("text_generation", tiny_gpt2_dir)
    runtime.load(runtime.default("text_generation"))
    [folder] = converted_folders(tiny_gpt2_dir)
    served = runtime_on("text_generation", folder)
    lm = served.load(served.default("text_generation"))
    assert isinstance(lm, Generator) and converted_folders(folder) == []
    assert list(tg.complete_text(served, "Hello", max_new_tokens=3))


def test_a_conversion_that_fails_leaves_the_model_on_pytorch(tiny_gpt2_dir, tmp_path, monkeypatch, caplog):
    from huggingface_hub import constants

    blocker = tmp_path / "a-file"
    blocker.write_text("conversions cannot be written under a file")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(blocker / "hub"))
    runtime = runtime_on("text_generation", tiny_gpt2_dir)
    assert isinstance(runtime.load(runtime.default("text_generation")), CausalLM)
    assert "runs on PyTorch" in caplog.text
    assert list(tg.complete_text(runtime, "Hello", max_new_tokens=3))


def test_the_command_line_keeps_pytorch_on_request():
    from command_line import parse_args, settings_from_args

    assert settings_from_args(parse_args([])).ctranslate2 is True
    assert settings_from_args(parse_args(["--no-ctranslate2"])).ctranslate2 is False
