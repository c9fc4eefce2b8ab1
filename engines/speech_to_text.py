"""Speech to text: Whisper (99 languages, timestamps, translation to English) or wav2vec 2.0 (English)."""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

import tasks
from engines import contract
from engines.context import Context
from engines.endpoint import STREAM, Endpoint
from engines.generation import PastDeadline
from engines.kinds import LOCAL, REMOTE, Engine
from engines.live_speech import (
    CHUNK_S,
    LIVE_LIMIT_S,
    LIVE_STREAMS,
    LiveTranscriber,
    LiveView,
    chunks_of,
    silero_speech_probabilities,
    token_limit,
)
from engines.media import SAMPLE_RATE, client_file, read_audio, upload_path
from engines.outcome import Outcome, Table, transcripts_agree
from engines.params import PICKED_MODEL, TYPED_MODEL, OneOf, Upload
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from models.ctranslate2_whisper import FasterWhisper

TASK = "speech_to_text"
CHUNK_SECONDS = 30  # Whisper's window: longer audio is read in 30 s chunks
LANGUAGES = {"auto": "Detect", "en": "English", "zh": "Chinese", "de": "German", "fr": "French", "es": "Spanish",
             "ja": "Japanese", "ru": "Russian", "it": "Italian", "pt": "Portuguese", "ko": "Korean", "ar": "Arabic"}
WHISPER_TASKS = {"transcribe": "Transcribe", "translate": "Translate to English"}
EXAMPLES = [str(path) for path in tasks.task(TASK).example_files()]


# Decoding, chosen as OpenAI's Whisper chooses it, on both engines: a beam search of 5 at temperature 0, and
# where its text repeats itself (compresses too well) or is too unlikely, decoded again at a higher temperature;
# a window the model judges silent is skipped. The compression ratio is measured on the text by faster-whisper
# (gzip) and on the token ids by transformers (zlib), hence two thresholds.
BEAM_SIZE = 5
BEST_OF = 5  # samples drawn at a fallback temperature, the likeliest kept
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
TEXT_COMPRESSION_THRESHOLD = 2.4
TOKEN_COMPRESSION_THRESHOLD = 1.35
# A live reading's encoder reads the utterance and at least LIVE_SILENCE_AFTER_S of silence after it, in whole
# LIVE_WINDOW_STEP_S: a window that ends with the speech makes Whisper repeat itself to its token limit.
LIVE_WINDOW_STEP_S = 5
LIVE_SILENCE_AFTER_S = 3
PROMPT_TOKENS = 100  # of the text before an utterance, as OpenAI's Whisper keeps up to half its 224


def transcribe(runtime: ModelRuntime, audio, model=None, custom_model=None, language="auto", task="transcribe",
               context: Context | None = None) -> tuple[str, list[list]]:
    """The transcript and its timed segments (Whisper: phrases; CTC models: words)."""
    samples = read_audio(audio)
    engine = runtime.engine(TASK, model, custom_model)
    text, chunks = engine.transcript(samples, language, task, runtime.context(context))
    duration = len(samples) / SAMPLE_RATE
    return text.strip(), [timed(start, end, words, duration) for start, end, words in chunks]


def timed(start, end, words: str, duration: float) -> list:
    """A segment as shown: the last one may have no end, and a model can overshoot the audio or (sampling at a
    fallback temperature) give an end before its start; the times stay within the audio, in order."""
    start = min(max(float(start or 0.0), 0.0), duration)
    end = min(max(float(duration if end is None else end), start), duration)
    return [round(start, 2), round(end, 2), words.strip()]


class SpeechToTextHere(Engine):
    kind = LOCAL

    def transcript(self, samples, language: str, task: str, context: Context) -> tuple[str, list]:
        """The text and its chunks (start, end or None, text), as the model in this process reads the samples
        within the request's time; past it, refused rather than cut."""
        recognizer = self.runtime.load(self.spec, context)
        read = read_ctranslate2 if isinstance(recognizer, FasterWhisper) else read_transformers
        text, chunks = read(recognizer, samples, None if language == "auto" else language, task, context)
        if context.out_of_time():  # its last part was cut short: no transcript rather than a wrong one
            raise refuse("refuse_out_of_time_audio", seconds=context.timeout_s,
                         minutes=len(samples) / SAMPLE_RATE / 60)
        return text, chunks

    def live_words(self, samples, language: str, task: str, prompt: str, closes: bool,
                   context: Context) -> tuple[list[str], str]:
        """The words of a live stream's reading (engines/live_speech.py), and the language they were read in. A
        reading that closes an utterance decodes with the file mode's beam, the others greedily."""
        recognizer = self.runtime.load(self.spec, context)
        if isinstance(recognizer, FasterWhisper):
            return live_ctranslate2(recognizer, samples, language, task, prompt, closes)
        return live_transformers(recognizer, samples, language, task, closes).split(), language


class SpeechToTextRemote(Engine):
    kind = REMOTE

    def transcript(self, samples, language: str, task: str, context: Context) -> tuple[str, list]:
        """The samples decoded here, sent as a float WAV (lossless): the engine reads these very ones."""
        sent, options = wav_bytes(samples), {"language": language, "task": task}
        return self.backend.call(lambda client: heard(client.automatic_speech_recognition(sent, extra_body=options)),
                                 context.progress, context.deadline)


    def live_words(self, samples, language: str, task: str, prompt: str, closes: bool,
                   context: Context) -> tuple[list[str], str]:
        """The engine's transcript of a live stream's reading, as its file mode reads it."""
        text, _ = self.transcript(samples, language, task, context)
        return text.split(), language


KINDS = {LOCAL: SpeechToTextHere, REMOTE: SpeechToTextRemote}


def wav_bytes(samples) -> bytes:
    """16 kHz mono float32 samples as a WAV file of float32 samples: read back, the very same samples."""
    import io

    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def heard(answer) -> tuple[str, list]:
    """The contract's {text, chunks: [{timestamp: [start, end], text}]} as (text, [(start, end, text)])."""
    chunks = [(chunk.timestamp[0], chunk.timestamp[1], str(chunk.text)) for chunk in answer.chunks or []]
    return str(answer.text), chunks


def read_ctranslate2(whisper: FasterWhisper, samples, language, task, context: Context) -> tuple[str, list]:
    """faster-whisper's segments: OpenAI's sequential decoding, window by window, each conditioned on the text
    before it; the deadline is checked between windows."""
    found, info = whisper.model.transcribe(
        samples, language=language, task=task, beam_size=BEAM_SIZE, temperature=TEMPERATURES,
        compression_ratio_threshold=TEXT_COMPRESSION_THRESHOLD, log_prob_threshold=LOG_PROB_THRESHOLD,
        no_speech_threshold=NO_SPEECH_THRESHOLD, vad_filter=False)
    segments = []
    for segment in found:
        segments.append((segment.start, segment.end, segment.text))
        context.report(min(1.0, segment.end / max(info.duration, 1e-3)), "progress_transcribed",
                       seconds=segment.end, total=info.duration)
        if context.out_of_time():
            break
    return "".join(text for _, _, text in segments), segments


def live_ctranslate2(whisper: FasterWhisper, samples, language: str, task: str, prompt: str,
                     closes: bool) -> tuple[list[str], str]:
    """CTranslate2's Whisper called directly, its encoder given the utterance's own length (in LIVE_WINDOW_STEP_S
    steps, with silence after) rather than the 30 s window faster-whisper pads every input to: on a CPU the
    encoder is most of a reading's time, and a 5 s utterance encodes about 8 times faster (whisper.cpp's
    audio_ctx does the same)."""
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

    model = whisper.model
    seconds = min(CHUNK_SECONDS, LIVE_WINDOW_STEP_S * math.ceil((len(samples) / SAMPLE_RATE + LIVE_SILENCE_AFTER_S)
                                                                / LIVE_WINDOW_STEP_S))
    samples = samples[:seconds * SAMPLE_RATE]
    padded = np.zeros(seconds * SAMPLE_RATE, np.float32)
    padded[:len(samples)] = samples
    features = model.feature_extractor(padded, padding=0)[:, :seconds * 100]  # 100 frames a second
    encoded = model.encode(features)
    if not model.model.is_multilingual:  # an English-only Whisper (*.en)
        language = "en"
    elif language == "auto":
        language = model.model.detect_language(encoded)[0][0][0][2:-2]  # "<|en|>" -> "en"
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task=task, language=language)
    context = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())[-PROMPT_TOKENS:]] if prompt else []
    start = [*context, *tokenizer.sot_sequence, tokenizer.no_timestamps]
    options = {"max_length": len(start) + token_limit(samples), "suppress_blank": True,
               "suppress_tokens": get_suppressed_tokens(tokenizer, (-1,)), "return_scores": True,
               "return_no_speech_prob": True}
    text = ""
    for temperature in TEMPERATURES if closes else (0.0,):  # OpenAI's fallback, as the file mode decodes
        decoding = {"beam_size": BEAM_SIZE if closes else 1} if temperature == 0 else \
            {"beam_size": 1, "num_hypotheses": BEST_OF, "sampling_topk": 0, "sampling_temperature": temperature}
        result = model.model.generate(encoded, [start], **options, **decoding)[0]
        tokens = result.sequences_ids[0]
        text = tokenizer.decode(tokens)
        mean_log_prob = result.scores[0] * len(tokens) / (len(tokens) + 1)  # scores are per token (length penalty 1)
        unlikely = mean_log_prob < LOG_PROB_THRESHOLD
        if unlikely and result.no_speech_prob > NO_SPEECH_THRESHOLD:
            return [], language  # silence
        if not unlikely and get_compression_ratio(text) <= TEXT_COMPRESSION_THRESHOLD:
            break
    return text.split(), language


def live_transformers(recognizer, samples, language: str, task: str, closes: bool) -> str:
    options = {}
    if recognizer.model.config.is_encoder_decoder:
        options = {"generate_kwargs": {"task": task, **({} if language == "auto" else {"language": language}),
                                       "num_beams": BEAM_SIZE if closes else 1,
                                       "max_new_tokens": token_limit(samples)}}
    with torch.inference_mode():
        return recognizer({"raw": samples, "sampling_rate": SAMPLE_RATE}, **options)["text"]


def read_transformers(recognizer, samples, language, task, context: Context) -> tuple[str, list]:
    """The transformers pipeline's chunks: Whisper decodes long audio sequentially in its `generate` (given the
    whole recording, no `chunk_length_s`), with OpenAI's fallback; CTC models give words."""
    from transformers import StoppingCriteriaList

    options = {"return_timestamps": "word"}
    if recognizer.model.config.is_encoder_decoder:
        options = {"return_timestamps": True, "generate_kwargs": {
            "task": task, **({} if language is None else {"language": language}), "num_beams": BEAM_SIZE,
            "temperature": TEMPERATURES, "compression_ratio_threshold": TOKEN_COMPRESSION_THRESHOLD,
            "logprob_threshold": LOG_PROB_THRESHOLD, "no_speech_threshold": NO_SPEECH_THRESHOLD,
            "condition_on_prev_tokens": True,
            # One deadline across the windows of a long recording (and their fallbacks).
            "stopping_criteria": StoppingCriteriaList([PastDeadline(context.deadline)])}}
    elif len(samples) > CHUNK_SECONDS * SAMPLE_RATE:
        options["chunk_length_s"] = CHUNK_SECONDS  # CTC models read long audio in overlapping chunks
    with torch.inference_mode():
        # a fresh dict per call: the pipeline pops its keys
        result = recognizer({"raw": samples, "sampling_rate": SAMPLE_RATE}, **options)
    return result["text"], [(*chunk["timestamp"], chunk["text"]) for chunk in result.get("chunks", [])]


def transcribe_audio(runtime: ModelRuntime, audio: dict, model: str | None = None, custom_model: str | None = None,
                     language: str = "auto", task: str = "transcribe", context: Context | None = None):
    """Turn speech into text, with timestamped segments.

    Args:
        audio: the recording (WAV, FLAC, OGG or MP3; at most 10 minutes).
        model: a listed model id, e.g. Systran/faster-whisper-base.
        custom_model: optional Hugging Face id of another speech-recognition model.
        language: "auto" to detect, or a language code such as "en" or "zh" (Whisper only).
        task: "transcribe", or "translate" to English (Whisper only).
    """
    return transcribe(runtime, client_file(audio), model, custom_model, language, task, context)


_remote_readings = ThreadPoolExecutor(4, thread_name_prefix="live-remote")  # they only wait for the engine


def live_transcriber(runtime: ModelRuntime, model=None, custom_model=None, language="auto", task="transcribe",
                     context: Context | None = None) -> LiveTranscriber:
    """A live stream on the tab's engine for `model` (engines/live_speech.py), its model loading on the torch
    threads meanwhile (the stream's first chunks are heard while it loads). With language "auto", the language
    its first reading detects is kept for the rest of the stream."""
    engine, context = runtime.engine(TASK, model, custom_model), runtime.context(context)
    if engine.kind == LOCAL:
        runtime.torch_threads.submit(runtime.load, engine.spec, context)  # a failure is said by its first reading
    language_now = [language]

    def recognize(samples, prompt, closes):
        words, language_now[0] = engine.live_words(samples, language_now[0], task, prompt, closes, context)
        return words

    submit = runtime.torch_threads.submit if engine.kind == LOCAL else _remote_readings.submit
    return LiveTranscriber(submit, recognize, silero_speech_probabilities())


def live_transcribe(runtime: ModelRuntime, audio: dict, model: str | None = None, custom_model: str | None = None,
                    language: str = "auto", task: str = "transcribe", context: Context | None = None):
    """Transcribe a recording as the speech tab's Live mode transcribes a microphone: the audio is fed in
    real time, a tenth of a second at a time, and each update gives the stable text (it never changes once given),
    the tentative words after it, and the closed segments (one per utterance, ended by a pause).

    Args:
        audio: the recording (WAV, FLAC, OGG or MP3; at most 2 minutes, read in real time).
        model: a listed model id, e.g. Systran/faster-whisper-base.
        custom_model: optional Hugging Face id of another speech-recognition model.
        language: "auto" to detect (once, then kept), or a language code such as "en" or "zh" (Whisper only).
        task: "transcribe", or "translate" to English (Whisper only).
    """
    yield from transcribe_live(runtime, client_file(audio), model, custom_model, language, task, context)


def transcribe_live(runtime: ModelRuntime, audio, model=None, custom_model=None, language="auto", task="transcribe",
                    context: Context | None = None):
    """A recording (a path) fed to a live stream in real time: (stable, tentative, segments) after each chunk."""
    samples = read_audio(upload_path(audio), max_seconds=LIVE_LIMIT_S)
    transcriber = live_transcriber(runtime, model, custom_model, language, task, context)
    started = time.monotonic()
    for index, chunk in enumerate(chunks_of(samples)):
        time.sleep(max(0.0, started + index * CHUNK_S - time.monotonic()))  # as a microphone would send it
        yield shown_live(transcriber.feed(chunk))
    yield shown_live(transcriber.finish())


def shown_live(view: LiveView) -> tuple[str, str, list[list]]:
    return view.stable, view.tentative, view.segments


def read_transcript(answer) -> Outcome:
    text, segments = answer
    return Outcome(text, Table(["start", "end", "text"], segments))


ENDPOINTS = (Endpoint("transcribe", transcribe_audio, TASK,
                      {"audio": Upload("param_audio", required=True), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL,
                       "language": OneOf("param_language", tuple(LANGUAGES)),
                       "task": OneOf("param_speech_task", tuple(WHISPER_TASKS))},
                      sample=lambda model: (Path(EXAMPLES[0]), model, "", "en", "transcribe"),
                      reads=read_transcript, agreement=transcripts_agree),
             Endpoint("live_transcribe", live_transcribe, TASK,
                      {"audio": Upload("param_audio", required=True), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL,
                       "language": OneOf("param_language", tuple(LANGUAGES)),
                       "task": OneOf("param_speech_task", tuple(WHISPER_TASKS))}, run=STREAM, own_group=LIVE_STREAMS,
                      sample=lambda model: (Path(EXAMPLES[0]), model, "", "en", "transcribe")))


MEDIA_INPUTS = True


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's automatic-speech-recognition: {text, chunks: [{timestamp: [start, end or null], text}]}, the
    model's own text and chunks (the tab rounds and bounds their times). Parameters: `language` ("auto" or one
    of the tab's codes) and `task` ("transcribe" or "translate"), given as such or, as Hugging Face's Whisper
    endpoints take them, in `generate_kwargs`."""
    options = request.parameters.get("generate_kwargs") or {}
    if not isinstance(options, dict):
        raise contract.BadRequest('"generate_kwargs" must be an object')
    language, task = contract.checked(ENDPOINTS[0], {**options, **request.parameters}, {"language": "language",
                                                                                         "task": "task"})
    with contract.media_file(request.inputs) as path:
        samples = read_audio(path)
    text, chunks = runtime.torch_threads.run(runtime.engine(TASK).transcript, samples, language, task, context)
    return {"text": text, "chunks": [{"timestamp": [start, end], "text": words} for start, end, words in chunks]}
