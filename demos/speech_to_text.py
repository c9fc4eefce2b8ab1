"""Speech to text: Whisper (99 languages, timestamps, translation to English) or wav2vec 2.0 (English)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import torch

from demos.common import message_area, model_picker, on_device, progress_callback, refuse, serve
from demos.i18n import ui_text
from demos.media import MAX_AUDIO_SECONDS, SAMPLE_RATE, client_file, read_audio
from models.runtime import ModelRuntime
from models.torch_threads import runs_on_torch_thread

TASK = "speech_to_text"
TITLE, TITLE_ZH = "Speech to text", "语音转文字"
CHUNK_SECONDS = 30  # Whisper's window: longer audio is read in 30 s chunks
LANGUAGES = {"auto": "Detect", "en": "English", "zh": "Chinese", "de": "German", "fr": "French", "es": "Spanish",
             "ja": "Japanese", "ru": "Russian", "it": "Italian", "pt": "Portuguese", "ko": "Korean", "ar": "Arabic"}
TASKS = {"transcribe": "Transcribe", "translate": "Translate to English"}
SEGMENT_HEADERS = ["start (s)", "end (s)", "text"]
EXAMPLES = sorted(str(p) for p in (Path(__file__).parent.parent / "assets/examples/audio").glob("*.wav"))


@runs_on_torch_thread
def transcribe(runtime: ModelRuntime, audio, model=None, custom_model=None, language="auto", task="transcribe",
               progress=None) -> tuple[str, list[list]]:
    """The transcript and its timed segments (Whisper: phrases; CTC models: words)."""
    if language not in LANGUAGES or task not in TASKS:
        raise refuse(
            f"Language must be one of {', '.join(LANGUAGES)} and task one of {', '.join(TASKS)}.",
            f"语言必须是 {', '.join(LANGUAGES)} 之一，任务必须是 {', '.join(TASKS)} 之一。",
        )
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
    minutes, megabytes = MAX_AUDIO_SECONDS // 60, runtime.settings.max_upload_mb
    gr.Markdown(ui_text(
        "speech_intro",
        f"Record or upload speech (WAV, FLAC, OGG, MP3; up to {minutes} minutes and {megabytes} MB). Audio "
        f"becomes mono 16 kHz; longer than {CHUNK_SECONDS} s it is read in chunks. Whisper models take a "
        f"language and can translate to English; wav2vec 2.0 is English only.",
        f"录音或上传语音（WAV、FLAC、OGG、MP3；最长 {minutes} 分钟、{megabytes} MB）。音频转为 16 kHz 单声道；"
        f"超过 {CHUNK_SECONDS} 秒的分段读取。Whisper 模型可指定语言，也可译成英文；wav2vec 2.0 只支持英文。",
    ))
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(label=ui_text("speech", "Speech", "语音"), sources=["microphone", "upload"], type="filepath")
            with gr.Row():
                language = gr.Dropdown([(name, code) for code, name in LANGUAGES.items()], value="auto",
                                       label=ui_text("language", "Language", "语言"))
                whisper_task = gr.Radio([(name, key) for key, name in TASKS.items()], value="transcribe",
                                        label=ui_text("task", "Task", "任务"))
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text("transcribe", "Transcribe", "转写"), variant="primary")
        with gr.Column():
            transcript = gr.Textbox(label=ui_text("transcript", "Transcript", "转写结果"), lines=6, interactive=False, buttons=["copy"],
                                    elem_id="speech-to-text-output")
            segments = gr.Dataframe(headers=SEGMENT_HEADERS, label=ui_text("segments", "Segments", "分段"), interactive=False)
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[audio])

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
        return transcribe(runtime, client_file(audio), model, custom_model, language, task, progress_callback(progress))

    # The handler decodes the upload itself (on_device turns Gradio's preprocessing off): no ffmpeg needed.
    serve(run.click, transcribe_audio, [audio, model, custom_model, language, whisper_task], [transcript, segments],
          message, api_name="transcribe", **on_device(runtime))
