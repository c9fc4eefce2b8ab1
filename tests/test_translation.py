import pytest

from demos.endpoints import bound
from engines import translation
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.settings import Settings

TEXT = "The cat sleeps. We read books!\n\nGood morning."


def test_lines_and_sentences_are_split_and_rejoined():
    lines = translation.split_text("One. Two!\r\n\n三。四？\nFive")
    assert lines == [["One.", "Two!"], [], ["三。", "四？"], ["Five"]]
    assert translation.join_text(lines, ["a", "b", "c", "d", "e"], "de") == "a b\n\nc d\ne"
    assert translation.join_text(lines, ["a", "b", "c", "d", "e"], "zh") == "ab\n\ncd\ne"


def test_marian_en_zh_gets_its_target_token(tiny_marian_dir):
    rt = ModelRuntime(Settings(model_overrides={"translation": str(tiny_marian_dir)}))
    seq2seq = rt.load(rt.default("translation"))
    prepared, target_token = translation.language_setup(seq2seq.tokenizer, ["the cat sleeps ."], "en", "zh")
    assert prepared == [">>cmn_Hans<< the cat sleeps ."] and target_token is None
    ids = seq2seq.tokenizer(prepared)["input_ids"][0]
    assert ids[0] == seq2seq.tokenizer.convert_tokens_to_ids(">>cmn_Hans<<")
    with pytest.raises(Refusal, match="no target-language token"):
        translation.language_setup(seq2seq.tokenizer, ["x"], "en", "de")


def test_marian_translation_keeps_the_line_structure(tiny_marian_dir):
    rt = ModelRuntime(Settings(model_overrides={"translation": str(tiny_marian_dir)}))
    out = translation.translate_text(rt, TEXT, "en", "zh", rt.default("translation").name)
    lines = out.split("\n")
    assert len(lines) == 3 and lines[1] == "" and lines[0] and lines[2]
    translation.translate_text(rt, "Good morning.", "en", "zh", rt.default("translation").name)
    assert rt.cache.load_count == 1


def test_output_length_stays_within_the_decoder_positions(tiny_marian_dir):
    rt = ModelRuntime(Settings(model_overrides={"translation": str(tiny_marian_dir)}))
    # ~90 tokens with the tiny vocabulary: 3x that would overrun the tiny model's 128 positions
    out = translation.translate_text(rt, "Neural networks learn from millions of sentence pairs, quickly.", "en", "zh", rt.default("translation").name)
    assert out


def test_m2m100_sets_source_and_forces_the_target_language(tiny_m2m100_dir):
    rt = ModelRuntime(Settings(model_overrides={"translation": str(tiny_m2m100_dir)}))
    seq2seq = rt.load(rt.default("translation"))
    _, target_token = translation.language_setup(seq2seq.tokenizer, ["x"], "de", "fr")
    assert seq2seq.tokenizer.src_lang == "de"
    assert target_token == "__fr__"
    out = translation.translate_text(rt, TEXT, "en", "fr", rt.default("translation").name)
    assert len(out.split("\n")) == 3 and "__fr__" not in out


@pytest.mark.parametrize(
    "text, source, target, words",
    [
        ("", "en", "de", "enter some text"),
        ("x" * 5_001, "en", "de", "at most 5,000"),
        ("hello", "en", "en", "the same"),
        ("hello", "en", "xx", "target language must be one of: en, de"),
        ("hello", "de", "fr", "pick M2M100"),  # Opus-MT has no de→fr model here
    ],
)
def test_bad_requests_are_refused_in_plain_words(text, source, target, words):
    with pytest.raises(Refusal, match=words):
        bound(translation.ENDPOINTS[0], ModelRuntime())(text, source, target, translation.OPUS_MT, "")


@pytest.mark.parametrize("source, target, pair, words", [
    ("en", "en", None, "the same"),
    ("en", "en", ("en", "en"), "the same"),
    ("en", "de", ("en", "zh"), "does not translate en → de"),
])
def test_the_endpoint_and_the_worker_refuse_the_same_languages(source, target, pair, words):
    with pytest.raises(Refusal, match=words):
        translation.refuse_languages(source, target, pair)
    translation.refuse_languages("en", "zh", ("en", "zh"))
    translation.refuse_languages("de", "fr")


def test_too_long_sentence_is_refused_not_truncated(tiny_marian_dir):
    rt = ModelRuntime(Settings(model_overrides={"translation": str(tiny_marian_dir)}))
    with pytest.raises(Refusal, match="too long"):
        translation.translate_text(rt, "cat " * 400, "en", "zh", rt.default("translation").name)


def test_opus_pair_resolves_to_its_model_and_offline_guidance_names_it(hf_cache):
    rt = ModelRuntime(Settings(offline=True))
    with pytest.raises(Exception, match="Helsinki-NLP/opus-mt-en-zh"):
        translation.translate_text(rt, "hello", "en", "zh", translation.OPUS_MT)
