import shutil

import pytest
from gradio_client.exceptions import AppError

import app as hub_app
from engines import text_generation as tg
from engines.runtime import ModelRuntime
from models.settings import Settings


def test_unloading_a_model_mid_request_lets_the_request_finish(tiny_chat_lm_dir):
    rt = ModelRuntime(Settings(model_overrides={"text_generation": str(tiny_chat_lm_dir)}))
    stream = tg.chat(rt, "Tell me more", [], max_new_tokens=30, seed=1)
    first = next(stream)
    assert rt.unload() == 1 and rt.loaded() == []
    rest = list(stream)
    assert rest and rest[-1].startswith(first)
    list(tg.chat(rt, "again", [], max_new_tokens=3))
    assert rt.cache.load_count == 2, "the next request loads the model again"


def test_one_tabs_broken_model_does_not_break_another_tab(tiny_ner_dir, tiny_marian_dir, tmp_path, connect):
    broken = tmp_path / "broken-ner"
    shutil.copytree(tiny_ner_dir, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 100)
    rt = ModelRuntime(Settings(model_overrides={"ner": str(broken), "translation": str(tiny_marian_dir)}))
    client = connect(hub_app.build_app(rt))
    ner, marian = rt.default("ner").name, rt.default("translation").name
    with pytest.raises(AppError, match="could not be loaded"):
        client.predict("Alice", ner, "", api_name="/ner")
    assert client.predict("Good morning.", "en", "zh", marian, "", api_name="/translate")
    with pytest.raises(AppError, match="could not be loaded"):  # not cached: it is tried again, and fails again
        client.predict("Alice", ner, "", api_name="/ner")
    assert rt.cache.load_count == 1
