import math

import pytest

from engines import text_generation as tg
from engines.context import Context
from engines.generation import SAMPLING_PARAMS, sampling
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.settings import Settings

HISTORY = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}]


@pytest.fixture
def chat_runtime(tiny_chat_lm_dir):
    return ModelRuntime(Settings(model_overrides={"text_generation": str(tiny_chat_lm_dir)}))


def test_chat_streams_growing_partial_replies(chat_runtime):
    parts = list(tg.chat(chat_runtime, "Tell me a story", HISTORY, max_new_tokens=30, seed=1))
    assert len(parts) >= 2
    assert all(later.startswith(earlier) and len(later) > len(earlier) for earlier, later in zip(parts, parts[1:]))
    assert chat_runtime.load(chat_runtime.default("text_generation")).tokens_generated == 30


def test_history_goes_through_the_chat_template(chat_runtime):
    lm = chat_runtime.load(chat_runtime.default("text_generation"))
    ids = tg.chat_input_ids(lm, "and now?", HISTORY, Context.starting(60))
    text = lm.tokenizer.decode(ids[0])
    assert text.index("hi") < text.index("hello") < text.index("and now?")
    assert text.endswith("<|im_start|>assistant\n")


def test_on_pytorch_the_same_seed_gives_the_same_text_and_another_seed_another(tiny_chat_lm_dir):
    runtime = ModelRuntime(Settings(model_overrides={"text_generation": str(tiny_chat_lm_dir)}, ctranslate2=False))

    def reply(seed):
        return list(tg.chat(runtime, "Once", [], max_new_tokens=25, temperature=1.0, seed=seed))[-1]

    assert reply(7) == reply(7)
    assert reply(7) != reply(8)


def test_on_ctranslate2_temperature_0_repeats_and_sampling_varies(chat_runtime):
    def reply(temperature):
        return list(tg.chat(chat_runtime, "Once", [], max_new_tokens=25, temperature=temperature, seed=7))[-1]

    assert reply(0) == reply(0)
    assert reply(1.0) != reply(1.0)  # CTranslate2 seeds a generator per thread, once (README says so)


def test_closing_the_stream_stops_the_model(chat_runtime):
    lm = chat_runtime.load(chat_runtime.default("text_generation"))
    stream = tg.chat(chat_runtime, "Go on", [], max_new_tokens=200, seed=3)
    next(stream), next(stream)
    stream.close()
    assert lm.tokens_generated < 200, "the model went on after Stop"
    assert len(list(tg.chat(chat_runtime, "again", [], max_new_tokens=5))) >= 1  # the worker is free again


def test_completion_with_a_plain_language_model(tiny_gpt2_dir):
    rt = ModelRuntime(Settings(model_overrides={"text_generation": str(tiny_gpt2_dir)}))
    parts = list(tg.complete_text(rt, "Once upon a time", max_new_tokens=12, temperature=0))
    assert len(parts) >= 2 and all(p.startswith("Once upon a time") for p in parts)
    with pytest.raises(Refusal, match="no chat template"):
        list(tg.chat(rt, "hi", []))


def test_overlong_prompt_keeps_its_end_and_says_so(tiny_gpt2_dir):
    rt = ModelRuntime(Settings(model_overrides={"text_generation": str(tiny_gpt2_dir)}))
    warnings = []
    parts = list(tg.complete_text(rt, "hello world " * 200, max_new_tokens=8,  # context is 128 tokens
                                  context=Context.starting(60, warn=warnings.append)))
    assert parts and warnings and "left out" in warnings[0]
    with pytest.raises(Refusal, match="context is 128 tokens"):
        list(tg.complete_text(rt, "hello", max_new_tokens=500))


@pytest.mark.parametrize(
    "settings, words",
    [
        ((0, 0.7, 0.9, 0), "max new tokens must be a whole number from 1 to 1,024"),
        ((-5, 0.7, 0.9, 0), "max new tokens must be a whole number"),
        ((10**9, 0.7, 0.9, 0), "max new tokens must be a whole number"),
        ((1.5, 0.7, 0.9, 0), "max new tokens must be a whole number"),
        ((10, math.nan, 0.9, 0), "temperature must be a number"),
        ((10, -1, 0.9, 0), "temperature must be between 0 and 2"),
        ((10, 0.7, 0, 0), "top-p must be between 0.01 and 1"),
        ((10, 0.7, 0.9, -1), "seed must be a whole number from 0"),
        ((10, 0.7, 0.9, 0.5), "seed must be a whole number from 0"),
        ((None, 0.7, 0.9, 0), "must be a number"),
    ],
)
def test_out_of_range_settings_are_refused(settings, words):
    with pytest.raises(Refusal, match=words):
        for param, value in zip(SAMPLING_PARAMS.values(), settings):
            param.check(value)


def test_temperature_zero_is_greedy_and_allowed():
    assert sampling(10, 0.0, 1.0, 0).temperature == 0


def test_a_temperature_too_small_to_divide_by_picks_the_likeliest_tokens(tiny_gpt2_dir):
    assert sampling(10, 5e-324, 1.0, 0).temperature == 0
    rt = ModelRuntime(Settings(model_overrides={"text_generation": str(tiny_gpt2_dir)}))
    tiny, greedy = (list(tg.complete_text(rt, "hello", max_new_tokens=6, temperature=t))[-1] for t in (5e-324, 0))
    assert tiny == greedy


def test_a_reply_cut_at_the_token_limit_says_so(chat_runtime):
    warnings = []
    context = Context.starting(60, warn=warnings.append)
    parts = list(tg.chat(chat_runtime, "Tell me a story", [], max_new_tokens=3, temperature=0, context=context))
    assert parts and warnings == ["The reply stopped at its 3 new tokens (the “Max new tokens” setting); raise it "
                                  "for a longer one."]
    warnings.clear()
    stream = tg.chat(chat_runtime, "Tell me a story", [], max_new_tokens=50, temperature=0, context=context)
    next(stream)
    stream.close()  # Stop: the person knows why it ended
    assert warnings == []


def test_top_p_has_one_range_in_the_checks_the_slider_and_readme(chat_runtime):
    import gradio as gr

    from conftest import ROOT
    from demos import text_generation as tab
    from engines.generation import MIN_TOP_P

    with gr.Blocks():
        tab.build(chat_runtime)
        slider = next(block for block in gr.context.Context.root_block.blocks.values()
                      if isinstance(block, gr.Slider) and block.maximum == 1 and block.value == 0.9)
    assert slider.minimum == SAMPLING_PARAMS["top_p"].low == MIN_TOP_P
    assert f"top-p {MIN_TOP_P:g}–1" in (ROOT / "README.md").read_text(encoding="utf-8")
