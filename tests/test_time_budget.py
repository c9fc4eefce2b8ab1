"""A request's model work is bounded in time (--request-timeout-s) and says so when it runs out; a long request
takes turns with other tabs' requests instead of holding the device until it ends."""
import threading
import time

import pytest
from PIL import Image

from command_line import parse_args, settings_from_args
from engines import image_editing, translation
from engines import text_generation as tg
from engines.context import Context
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.settings import Settings
from raw_api import call, launch

HEAVIEST_TRANSLATION = "a. " * (translation.MAX_CHARS // 3)  # 1,666 one-word sentences: the most batches a request may cause


def test_the_time_budget_is_a_command_line_setting():
    assert settings_from_args(parse_args(["--request-timeout-s", "30"])).request_timeout_s == 30
    assert Settings().request_timeout_s == 120
    for bad in ("0", "-5", "nan", "inf", "soon"):
        with pytest.raises(SystemExit):
            parse_args(["--request-timeout-s", bad])


def test_a_translation_past_its_time_is_refused_with_how_far_it_got(tiny_marian_dir):
    rt = ModelRuntime(Settings(model_overrides={"translation": str(tiny_marian_dir)}, request_timeout_s=1e-6))
    with pytest.raises(Refusal, match=r"used up its 1e-06 s of model time after 0 of its 40 sentences"):
        translation.translate_text(rt, "Hello. " * 40, "en", "zh", rt.default("translation").name)


def test_a_reply_past_its_time_stops_and_says_so(tiny_gpt2_dir):
    rt = ModelRuntime(Settings(model_overrides={"text_generation": str(tiny_gpt2_dir)}, request_timeout_s=1e-6))
    warnings = []
    steps_before = rt.load(rt.default("text_generation")).tokens_generated
    context = Context.starting(rt.settings.request_timeout_s, warn=warnings.append)
    list(tg.complete_text(rt, "hello", max_new_tokens=100, context=context))  # the tiny model's context is 128 tokens
    assert rt.load(rt.default("text_generation")).tokens_generated - steps_before < 100, "stopped before its 100"
    assert any("stopped at the server's 1e-06 s limit" in w for w in warnings)


def test_an_edit_past_its_time_stops_between_steps(tiny_instruct_pix2pix_dir):
    rt = ModelRuntime(Settings(model_overrides={"image_editing": str(tiny_instruct_pix2pix_dir)}, request_timeout_s=1e-6))
    with pytest.raises(Refusal, match="after 1 of its 3 steps"):
        image_editing.edit(rt, Image.new("RGB", (64, 64)), "make it red", steps=3)


@pytest.fixture(scope="module")
def served(tiny_overrides):
    app, runtime, base = launch(tiny_overrides)
    yield base, {task: runtime.default(task).name for task in tiny_overrides}
    app.close()


def test_a_small_request_is_answered_while_the_heaviest_translation_runs(served):
    """N = 10 s: on 2 CPU cores, on the tiny models, a NER request took 0.3-0.4 s while the heaviest legal
    translation (1,666 sentences, about 30 s) ran; before translation went batch by batch, 27-41 s."""
    base, models = served
    translated = {}

    def heavy():
        translated["answer"] = call(base, "translate", [HEAVIEST_TRANSLATION, "en", "zh", models["translation"], ""])[1]
        translated["at"] = time.monotonic()

    worker = threading.Thread(target=heavy)
    worker.start()
    time.sleep(2)  # the translation is under way
    asked = time.monotonic()
    answer = call(base, "ner", [f"Alice met Bob in Paris at {asked}.", models["ner"], ""])[1]
    answered = time.monotonic()
    worker.join(timeout=300)
    assert "event: complete" in answer and "event: complete" in translated["answer"]
    assert answered < translated["at"], "the small request did not wait for the whole translation"
    assert answered - asked < 10
