"""Speech to text: Whisper (99 languages, timestamps, translation to English) or wav2vec 2.0 (English)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import torch

from demos.common import model_handler, model_picker, on_device, progress_callback, refuse
from demos.media import MAX_AUDIO_SECONDS, SAMPLE_RATE, read_audio
from models.runtime import ModelRuntime

TASK = "speech_to_text"
TITLE = "Speech to text"
CHUNK_SECONDS = 30  # Whisper's window: longer audio is read in 30 s chunks
LANGUAGES = {"auto": "Detect", "en": "English", "zh": "Chinese", "de": "German", "fr": "French", "es": "Spanish",
             "ja": "Japanese", "ru": "Russian", "it": "Italian", "pt": "Portuguese", "ko": "Korean", "ar": "Arabic"}
TASKS = {"transcribe": "Transcribe", "translate": "Translate to English"}
SEGMENT_HEADERS = ["start (s)", "end (s)", "text"]
EXAMPLES = sorted(str(p) for p in (Path(__file__).parent.parent / "assets/examples/audio").glob("*.wav"))


def transcribe(runtime: ModelRuntime, audio, model=None, custom_model=None, language="auto", task="transcribe",
               progress=None) -> tuple[str, list[list]]:
    """The transcript and its timed segments (Whisper: phrases; CTC models: words)."""
    if language not in LANGUAGES or task not in TASKS:
        raise refuse(f"Language must be one of {', '.join(LANGUAGES)} and task one of {', '.join(TASKS)}.")
    samples = read_audio(audio)
    recognizer = runtime.load(runtime.spec(TASK, model, custom_model), progress)
    is_whisper = recognizer.model.config.is_encoder_decoder
    options = {"return_timestamps": True if is_whisper else "word"}
    if is_whisper:
        options["generate_kwargs"] = {"task": task, **({} if language == "auto" else {"language": language})}
    if len(samples) > CHUNK_SECONDS * SAMPLE_RATE:
        options["chunk_length_s"] = CHUNK_SECONDS
    with torch.inference_mode():
        # a fresh dict per call: the pipeline pops its keys
        result = recognizer({"raw": samples, "sampling_rate": SAMPLE_RATE}, **options)
    duration = len(samples) / SAMPLE_RATE
    # The last segment may have no end, and a model can overshoot: times stay within the audio.
    segments = [
        [round(min(float(start or 0.0), duration), 2), round(min(float(end if end is not None else duration), duration), 2),
         chunk["text"].strip()]
        for chunk in result.get("chunks", [])
        for start, end in [chunk["timestamp"]]
    ]
    return result["text"].strip(), segments


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(
        f"Record or upload speech (WAV, FLAC, OGG, MP3; up to {MAX_AUDIO_SECONDS // 60} minutes and "
        f"{runtime.settings.max_upload_mb} MB). Audio becomes mono 16 kHz; longer than {CHUNK_SECONDS} s it is read "
        f"in chunks. Whisper models take a language and can translate to English; wav2vec 2.0 is English only."
    )
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(label="Speech", sources=["microphone", "upload"], type="filepath")
            with gr.Row():
                language = gr.Dropdown([(name, code) for code, name in LANGUAGES.items()], value="auto", label="Language")
                whisper_task = gr.Radio([(name, key) for key, name in TASKS.items()], value="transcribe", label="Task")
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button("Transcribe", variant="primary")
        with gr.Column():
            transcript = gr.Textbox(label="Transcript", lines=6, interactive=False, buttons=["copy"],
                                    elem_id="speech-to-text-output")
            segments = gr.Dataframe(headers=SEGMENT_HEADERS, label="Segments", interactive=False)
    gr.Examples(examples=EXAMPLES, inputs=[audio])

    @model_handler
    def transcribe_audio(audio: dict, model: str, custom_model: str, language: str, task: str,
                         progress=gr.Progress(track_tqdm=True)):
        """Turn speech into text, with timestamped segments.

        Args:
            audio: the recording (WAV, FLAC, OGG or MP3; at most 10 minutes).
            model: a listed model id, e.g. openai/whisper-base.
            custom_model: optional Hugging Face id of another speech-recognition model.
            language: "auto" to detect, or a language code such as "en" or "zh" (Whisper only).
            task: "transcribe", or "translate" to English (Whisper only).
        """
        return transcribe(runtime, audio, model, custom_model, language, task, progress_callback(progress))

    # The handler decodes the upload itself (on_device turns Gradio's preprocessing off): no ffmpeg needed.
    run.click(transcribe_audio, [audio, model, custom_model, language, whisper_task], [transcript, segments],
              api_name="transcribe", **on_device(runtime))
