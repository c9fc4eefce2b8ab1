import numpy as np
import pytest
import soundfile as sf

from demos.models_panel import loaded_rows
from engines import speech_to_text as stt
from engines.media import MAX_AUDIO_SECONDS, SAMPLE_RATE, check_audio_size, read_audio, to_mono_16k
from engines.refusal import Refusal
from engines.runtime import ModelRuntime
from models.ctranslate2_whisper import FasterWhisper
from models.settings import Settings


def tone(seconds, rate=SAMPLE_RATE, channels=1, dtype=np.float32, amplitude=0.3):
    t = np.arange(int(seconds * rate)) / rate
    wave = amplitude * np.sin(2 * np.pi * 440 * t)
    if dtype == np.int16:
        wave = (wave * 32767).astype(np.int16)
    elif dtype == np.int32:
        wave = (wave * 2**31).astype(np.int32)
    else:
        wave = wave.astype(dtype)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def runtime_for(directory):
    return ModelRuntime(Settings(model_overrides={"speech_to_text": str(directory)}))


@pytest.mark.slow
def test_stereo_int16_44k_becomes_mono_float32_16k_of_the_same_duration():
    audio = to_mono_16k(tone(2.0, rate=44_100, channels=2, dtype=np.int16), 44_100)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / SAMPLE_RATE - 2.0) < 0.01
    assert 0.25 < np.abs(audio).max() <= 1.0


@pytest.mark.parametrize("rate, dtype", [(8_000, np.float32), (96_000, np.float32), (16_000, np.int32)])
def test_other_rates_and_sample_types_work(rate, dtype):
    audio = read_audio((rate, tone(1.0, rate=rate, dtype=dtype)))
    assert abs(len(audio) / SAMPLE_RATE - 1.0) < 0.01 and audio.dtype == np.float32


def test_audio_files_are_decoded(tmp_path):
    for fmt in ("WAV", "FLAC", "OGG"):
        path = tmp_path / f"speech.{fmt.lower()}"
        sf.write(path, tone(1.5, rate=22_050), 22_050, format=fmt)
        assert abs(len(read_audio(str(path))) / SAMPLE_RATE - 1.5) < 0.02


@pytest.mark.parametrize(
    "audio, words",
    [
        ((SAMPLE_RATE, np.zeros(0, dtype=np.float32)), "No speech detected"),
        ((SAMPLE_RATE, np.zeros(SAMPLE_RATE, dtype=np.float32)), "No speech detected"),
        ((SAMPLE_RATE, np.array([0.1, np.nan, 0.2], dtype=np.float32)), "NaN or infinity"),
        ((SAMPLE_RATE, np.array([0.1, np.inf], dtype=np.float32)), "NaN or infinity"),
        ((100, np.full(100 * (MAX_AUDIO_SECONDS + 1), 0.1, dtype=np.float32)), "at most 10 minutes"),
        (None, "upload a file"),
    ],
)
def test_empty_silent_invalid_and_too_long_audio_are_refused(audio, words):
    with pytest.raises(Refusal, match=words):
        read_audio(audio)


def test_corrupt_and_non_audio_files_are_refused(tmp_path):
    (tmp_path / "notes.wav").write_bytes(b"these are not samples")
    (tmp_path / "empty.mp3").write_bytes(b"")
    for name in ("notes.wav", "empty.mp3"):
        with pytest.raises(Refusal, match="not audio that can be read"):
            read_audio(str(tmp_path / name))


ENGINES = ["tiny_faster_whisper_dir", "tiny_whisper_dir"]  # CTranslate2 (the default) and PyTorch


def spy(owner, name: str) -> list[dict]:
    """The keyword arguments of each call to owner.name, which still runs."""
    calls, original = [], getattr(owner, name)

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    setattr(owner, name, recording)
    return calls


@pytest.mark.parametrize("engine", ENGINES)
def test_whisper_transcribes_with_timestamped_segments(engine, request):
    rt = runtime_for(request.getfixturevalue(engine))
    text, segments = stt.transcribe(rt, stt.EXAMPLES[0], language="en")
    duration = sf.info(stt.EXAMPLES[0]).duration
    assert isinstance(text, str)
    for start, end, piece in segments:
        assert 0 <= start <= end <= duration + 0.01 and isinstance(piece, str)
    assert "".join("".join(piece.split()) for *_, piece in segments) == "".join(text.split())  # each its own part
    stt.transcribe(rt, stt.EXAMPLES[1], language="zh", task="translate")
    assert rt.cache.load_count == 1


def test_the_default_engine_is_ctranslate2_int8_with_openais_decoding(tiny_faster_whisper_dir):
    rt = ModelRuntime(Settings(model_overrides={"speech_to_text": str(tiny_faster_whisper_dir)}, quantize="int8"))
    whisper = rt.load(rt.default("speech_to_text"))  # --quantize leaves it as it is: int8 already
    assert isinstance(whisper, FasterWhisper) and whisper.precision == "int8 · CTranslate2"
    calls = spy(whisper.model, "transcribe")
    stt.transcribe(rt, stt.EXAMPLES[0], language="de", task="translate")
    assert calls[0]["beam_size"] == stt.BEAM_SIZE and calls[0]["temperature"] == stt.TEMPERATURES
    assert calls[0]["language"] == "de" and calls[0]["task"] == "translate"
    row = loaded_rows(rt)[0]
    assert row[1] == "cpu · int8 · CTranslate2" and row[2] > 0


def test_pytorch_whisper_reads_long_audio_whole_with_openais_decoding(tiny_whisper_dir):
    rt = runtime_for(tiny_whisper_dir)
    recognizer = rt.load(rt.default("speech_to_text"))
    chunking, generating = spy(recognizer, "preprocess"), spy(recognizer.model, "generate")
    _, segments = stt.transcribe(rt, (SAMPLE_RATE, tone(70)))
    assert [call.get("chunk_length_s") for call in chunking] == [None]  # sequential long-form, in generate
    assert generating[0]["num_beams"] == stt.BEAM_SIZE and generating[0]["temperature"] == stt.TEMPERATURES
    assert all(0 <= start <= end <= 70 for start, end, _ in segments)


@pytest.mark.parametrize("start, end, shown", [
    (69.8, 65.0, [69.8, 69.8]),  # an end before its start (a fallback's sampling)
    (68.0, 72.5, [68.0, 70.0]),  # past the audio
    (-0.5, None, [0.0, 70.0]),   # the last segment has no end
    (None, 3.0, [0.0, 3.0]),
])
def test_segment_times_stay_within_the_audio_and_in_order(start, end, shown):
    assert stt.timed(start, end, " words ", 70.0) == [*shown, "words"]


def test_ctc_models_read_long_audio_in_chunks(tiny_ctc_dir):
    rt = runtime_for(tiny_ctc_dir)
    chunking = spy(rt.load(rt.default("speech_to_text")), "preprocess")
    stt.transcribe(rt, (SAMPLE_RATE, tone(stt.CHUNK_SECONDS + 1)))
    assert [call.get("chunk_length_s") for call in chunking] == [stt.CHUNK_SECONDS]


def test_ctc_model_gives_word_segments(tiny_ctc_dir):
    text, segments = stt.transcribe(runtime_for(tiny_ctc_dir), stt.EXAMPLES[0])
    assert isinstance(text, str) and all(len(row) == 3 for row in segments)


def test_unknown_language_or_task_is_refused():
    params = stt.ENDPOINTS[0].params
    with pytest.raises(Refusal, match="The language must be one of: auto, en"):
        params["language"].check("xx")
    with pytest.raises(Refusal, match="The task must be one of: transcribe, translate"):
        params["task"].check({"task": "summarise"})


def test_audio_over_the_limit_is_refused_from_its_header_before_it_is_decoded(tmp_path, monkeypatch):
    long_flac = tmp_path / "eleven-minutes.flac"
    with sf.SoundFile(long_flac, "w", samplerate=8_000, channels=1, format="FLAC") as file:
        for _ in range(11):
            file.write(np.zeros(8_000 * 60, dtype=np.float32))
    monkeypatch.setattr(sf, "read", lambda *a, **k: pytest.fail("decoded before it was refused"))
    with pytest.raises(Refusal, match="11.0 minutes long; at most 10 minutes"):
        read_audio(long_flac)
    with pytest.raises(Refusal, match=r"1,055 MB once decoded \(8 channels at 96,000 Hz\); at most 256 MB"):
        check_audio_size(96_000 * 60 * 6, 96_000, 8)
    check_audio_size(48_000 * 600, 48_000, 2)  # ten minutes of 48 kHz stereo are accepted


@pytest.mark.parametrize("engine", ENGINES)
def test_a_transcription_past_its_time_is_refused_in_plain_words(engine, request):
    model = str(request.getfixturevalue(engine))
    rt = ModelRuntime(Settings(model_overrides={"speech_to_text": model}, request_timeout_s=1e-6))
    with pytest.raises(Refusal, match="took longer than the server's 1e-06 s of model time"):
        stt.transcribe(rt, stt.EXAMPLES[0], language="en")
