"""Live speech and live detection without a page: the LocalAgreement policy on a scripted recogniser (what becomes
stable, when a segment closes, what is never read), then the engines on the tiny models, one stream per visitor,
and a camera frame's checks."""
import base64
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from demos.live import ENDED_AFTER_S, LiveStreams
from engines import live_speech
from engines.live_speech import CHUNK_S, MAX_UTTERANCE_S, LiveTranscriber, _after, chunks_of
from engines.media import SAMPLE_RATE, data_url_image, read_audio
from engines.refusal import Refusal

WORDS = "deep learning models learn useful features directly from data".split()
WORD_S = 0.5  # the scripted speech: one word per half second of tone


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def loud_windows(samples: np.ndarray) -> np.ndarray:
    """A stand-in for Silero VAD: a window is speech when it is loud."""
    return (np.abs(samples.reshape(-1, live_speech.VAD_WINDOW)).mean(axis=1) > 0.05).astype(np.float32)


class ScriptedRecognizer:
    """Hears one word of WORDS per WORD_S of tone in what it is given and, where its audio ends inside a word, a
    wrong word that changes with every reading (a tail no two readings agree on)."""

    def __init__(self):
        self.readings: list[float] = []  # seconds of audio read

    def __call__(self, samples, prompt, closes):
        self.readings.append(len(samples) / SAMPLE_RATE)
        spoken = int(round(float(loud_windows(samples[:len(samples) // 512 * 512]).sum()) * 512 / SAMPLE_RATE
                           / WORD_S))
        heard = WORDS[len(self.heard_before(prompt)):][:spoken]
        cut_short = loud_windows(samples[-live_speech.VAD_WINDOW:]).any()
        return [*heard, f"uh{len(self.readings)}"] if cut_short else heard

    @staticmethod
    def heard_before(prompt: str) -> list[str]:
        return prompt.split()


def at_once(fn, *args) -> Future:
    """A `submit` that reads right away: the policy without threads or timing."""
    future = Future()
    future.set_result(fn(*args))
    return future


def live_stream(recognizer=None) -> LiveTranscriber:
    return LiveTranscriber(at_once, recognizer or ScriptedRecognizer(), loud_windows)


def stream_of(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts)


def test_stable_text_only_grows_and_each_pause_closes_a_segment():
    recognizer = ScriptedRecognizer()
    transcriber = live_stream(recognizer)
    audio = stream_of(silence(0.5), tone(4 * WORD_S), silence(1.0), tone(2 * WORD_S), silence(1.0))
    views = [transcriber.feed(chunk) for chunk in chunks_of(audio)]
    views.append(transcriber.finish())
    for before, after in zip(views, views[1:]):
        assert after.stable.startswith(before.stable), (before.stable, after.stable)
    assert not any(word.startswith("uh") for view in views for word in view.stable.split()), "never agreed on"
    assert any(view.tentative for view in views), "a tail is shown before it is stable"
    final = views[-1]
    assert final.stable == " ".join(WORDS[:6]) and final.tentative == ""
    assert [text for _, _, text in final.segments] == [" ".join(WORDS[:4]), " ".join(WORDS[4:6])]
    (start_1, end_1, _), (start_2, end_2, _) = final.segments
    assert start_1 == pytest.approx(0.5, abs=0.05) and end_1 == pytest.approx(2.5, abs=0.05)
    assert start_2 == pytest.approx(3.5, abs=0.05) and end_2 == pytest.approx(4.5, abs=0.05)


def test_silence_is_never_read():
    recognizer = ScriptedRecognizer()
    transcriber = live_stream(recognizer)
    for chunk in chunks_of(silence(5.0)):
        assert transcriber.feed(chunk).text == ""
    assert transcriber.finish().segments == [] and recognizer.readings == []
    assert len(transcriber.transcript.audio) <= live_speech.LEAD_IN_S * SAMPLE_RATE, "only a lead-in is kept"


def test_a_reading_holds_the_open_utterance_and_the_one_before_it():
    recognizer = ScriptedRecognizer()
    transcriber = live_stream(recognizer)
    three = [tone(2 * WORD_S), silence(1.0), tone(2 * WORD_S), silence(1.0), tone(2 * WORD_S), silence(0.2)]
    for chunk in chunks_of(stream_of(*three)):
        transcriber.feed(chunk)
    longest = max(recognizer.readings)
    assert longest < 2 * (2 * WORD_S) + 1.0 + 2 * live_speech.LEAD_IN_S + CHUNK_S, "never the first utterance too"
    assert transcriber.transcript.prompt() == " ".join(WORDS[:2]), "the text before the context is the prompt"
    assert transcriber.transcript.context == WORDS[2:4]
    for chunk in chunks_of(silence(live_speech.CONTEXT_GAP_S + 1)):
        transcriber.feed(chunk)
    assert transcriber.transcript.context == [], "a context long past is let go"
    assert len(transcriber.transcript.audio) <= live_speech.LEAD_IN_S * SAMPLE_RATE


def test_an_utterance_without_a_pause_is_closed_at_its_limit():
    transcriber = live_stream()
    for chunk in chunks_of(tone(MAX_UTTERANCE_S + 2)):
        transcriber.feed(chunk)
    segments = transcriber.transcript.view().segments
    assert segments and segments[0][1] - segments[0][0] <= MAX_UTTERANCE_S + CHUNK_S


def test_a_readings_words_are_aligned_after_the_stable_ones():
    stable = "deep learning models learn".split()
    assert _after(stable, "deep learning models learn useful".split()) == ["useful"]
    assert _after(stable, "the deep learning models learn useful".split()) == ["useful"], "a word came before"
    assert _after(stable, "learning models learn useful".split()) == ["useful"], "a word went"
    assert _after(stable, "deep burning modules churn useful features".split()) == ["useful", "features"]
    assert _after(stable + ["at", "the", "hide", "in", "the"], stable + "at night in the morning".split()) == \
        ["morning"], "a word read otherwise"
    assert _after([], ["a", "b"]) == ["a", "b"]


def test_one_live_stream_per_visitor(monkeypatch):
    streams = LiveStreams(behind_proxy=False)
    first = streams.chunk(None, None)
    with pytest.raises(Refusal) as refused:
        streams.chunk(None, None)
    assert refused.value.key == "refuse_one_live_stream"
    assert streams.chunk(first, None) is first, "the first stream's own chunks go on"
    streams.ended(first)
    second = streams.chunk(None, None)
    later = time.monotonic() + ENDED_AFTER_S + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    third = streams.chunk(None, None)
    assert third is not second, "a stream whose chunks stopped (a closed tab) has ended"


def test_a_chunk_is_bounded_and_may_be_silent(tmp_path):
    import soundfile

    path = tmp_path / "long.wav"
    soundfile.write(path, silence(live_speech.MAX_CHUNK_S + 1), SAMPLE_RATE)
    with pytest.raises(Refusal, match="at most 5 s"):
        read_audio(path, max_seconds=live_speech.MAX_CHUNK_S, silence_refused=False)
    soundfile.write(path, silence(CHUNK_S), SAMPLE_RATE)
    assert len(read_audio(path, max_seconds=live_speech.MAX_CHUNK_S, silence_refused=False)) == CHUNK_S * SAMPLE_RATE


EXAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "assets" / "examples" / "images" / "cat.jpg"


def frame_of(path: Path, kind: str = "image/jpeg") -> dict:
    return {"path": None, "url": f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode()}


@pytest.mark.parametrize("frame", [
    {"path": None, "url": "http://127.0.0.1:9/frame.jpg"}, "file:///etc/passwd", None, 7, {"url": ["x"]},
    {"url": "data:text/html;base64,PGI+"}, {"url": "data:image/jpeg,notbase64"}])
def test_a_frame_is_a_data_url_picture_and_nothing_else(frame):
    with pytest.raises(Refusal) as refused:
        data_url_image(frame)
    assert refused.value.key == "refuse_not_a_frame"


def test_a_corrupt_frame_is_refused_in_words():
    with pytest.raises(Refusal) as refused:
        data_url_image({"url": "data:image/jpeg;base64," + base64.b64encode(b"not a jpeg").decode()})
    assert refused.value.key == "refuse_unreadable_image"


def test_a_frame_is_decoded_upright():
    picture = data_url_image(frame_of(EXAMPLE_PHOTO))
    assert picture.mode == "RGB" and min(picture.size) > 0


# --- The engines on the tiny models ---------------------------------------------------------------------------------

def test_live_speech_on_the_tab_engines(tiny_faster_whisper_dir, tiny_whisper_dir, tiny_ctc_dir):
    """The default engine (Whisper on CTranslate2), Whisper on PyTorch and a CTC model: each stream reads its audio
    into closed segments within it, on a model loaded once for two streams."""
    from engines.runtime import ModelRuntime
    from engines.speech_to_text import EXAMPLES, TASK, live_transcriber
    from models.settings import Settings

    audio = stream_of(silence(0.5), read_audio(EXAMPLES[0]), silence(1.0))
    for model_dir in (tiny_faster_whisper_dir, tiny_whisper_dir, tiny_ctc_dir):
        runtime = ModelRuntime(Settings(model_overrides={TASK: str(model_dir)}))
        for _ in range(2):
            transcriber = live_transcriber(runtime, language="en")
            for chunk in chunks_of(audio):
                transcriber.feed(chunk)
            view = transcriber.finish()
            assert transcriber.readings >= 1, model_dir
            for start, end, _ in view.segments:
                assert 0.4 <= start < end <= len(audio) / SAMPLE_RATE
        assert runtime.cache.load_count == 1, model_dir


def test_a_camera_frame_is_boxed_on_the_tab_engine(runtime):
    from engines.object_detection import LIVE_SIDE, detect_frame

    picture, rows = detect_frame(runtime, frame_of(EXAMPLE_PHOTO), threshold=0.05, max_boxes=3)
    assert max(picture.size) <= LIVE_SIDE and len(rows) <= 3
    assert all(row[1] >= 0.05 for row in rows)


# --- The API: /live_transcribe, streamed, beside the other tabs' requests --------------------------------------------

@pytest.fixture(scope="module")
def served(tiny_model):
    """The hub on the tiny models, speech on its default engine (Whisper on CTranslate2)."""
    from raw_api import launch
    from tasks import TASK_KEYS

    app, runtime, base = launch({task: tiny_model(task) for task in TASK_KEYS})
    yield base, {task: runtime.default(task).name for task in TASK_KEYS}
    app.close()


def test_live_transcribe_streams_its_updates_to_gradio_client(served):
    import threading

    from gradio_client import Client, handle_file

    from engines.speech_to_text import EXAMPLES
    from raw_api import call

    base, models = served
    client = Client(base, verbose=False, download_files=False)
    job = client.submit(handle_file(EXAMPLES[0]), models["speech_to_text"], "", "en", "transcribe",
                        api_name="/live_transcribe")
    waits = []

    def ner_requests():  # while the stream runs: a live stream holds its own worker, not the device's
        while not job.done() and len(waits) < 20:
            asked = time.monotonic()
            status, answer = call(base, "ner", ["Alice met Bob in Paris.", models["ner"], ""])
            waits.append((time.monotonic() - asked, status == 200 and "event: complete" in answer))
            time.sleep(0.2)

    asking = threading.Thread(target=ner_requests)
    asking.start()
    updates = list(job)  # each streamed update, as gradio_client's iterator gives them
    asking.join(timeout=60)
    seconds = len(read_audio(EXAMPLES[0])) / SAMPLE_RATE
    assert len(updates) >= seconds / 0.5, "updates while the audio plays, and the end"
    stables = [stable for stable, _, _ in updates]
    assert all(after.startswith(before) for before, after in zip(stables, stables[1:]))
    stable, tentative, segments = job.outputs()[-1]
    assert tentative == "" and segments and stable == " ".join(text for _, _, text in segments["data"])
    assert waits and all(answered for _, answered in waits)
    assert max(wait for wait, _ in waits) < 1.0, waits


def test_live_transcribe_refuses_what_it_cannot_stream_in_words(served, tmp_path):
    import soundfile

    from raw_api import call, upload

    base, models = served
    path = tmp_path / "three-minutes.wav"
    soundfile.write(path, tone(3 * 60), SAMPLE_RATE)
    status, answer = call(base, "live_transcribe", [upload(base, str(path)), models["speech_to_text"], "", "en",
                                                    "transcribe"])
    assert status == 200 and "event: error" in answer and "at most 2 minutes" in answer, answer[-300:]
