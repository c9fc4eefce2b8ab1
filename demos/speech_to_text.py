"""The speech-to-text tab: its layout and wiring (engines/speech_to_text.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import default_of, model_picker
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.media import MAX_AUDIO_SECONDS
from engines.runtime import ModelRuntime
from engines.speech_to_text import CHUNK_SECONDS, ENDPOINTS, EXAMPLES, LANGUAGES, TASK, WHISPER_TASKS

RUN_BUTTON = "speech_run"  # the catalog key of the button that runs it
RESULT = "#speech-to-text-output"  # where its result shows (a CSS selector)
SEGMENT_HEADERS = ["start (s)", "end (s)", "text"]


def build(runtime: ModelRuntime) -> None:
    minutes, megabytes = MAX_AUDIO_SECONDS // 60, runtime.settings.max_upload_mb
    gr.Markdown(ui_text("speech_intro", minutes=minutes, megabytes=megabytes, chunk_seconds=CHUNK_SECONDS))
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(label=ui_text("speech_audio"), sources=["microphone", "upload"], type="filepath")
            with gr.Row():
                language = gr.Dropdown([(name, code) for code, name in LANGUAGES.items()],
                                       value=default_of(ENDPOINTS[0], "language"),
                                       label=ui_text("speech_language"))
                whisper_task = gr.Radio([(name, key) for key, name in WHISPER_TASKS.items()],
                                        value=default_of(ENDPOINTS[0], "task"),
                                        label=ui_text("speech_task"))
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            transcript = gr.Textbox(label=ui_text("speech_transcript"), lines=6, interactive=False, buttons=["copy"],
                                    elem_id="speech-to-text-output")
            segments = gr.Dataframe(headers=SEGMENT_HEADERS, label=ui_text("speech_segments"), interactive=False)
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[audio], label=ui_text("examples_label"))

    # The handler decodes the upload itself (on_device turns Gradio's preprocessing off): no ffmpeg needed.
    serve(ENDPOINTS[0], runtime, run.click, [audio, model, custom_model, language, whisper_task],
          [transcript, segments], message)
