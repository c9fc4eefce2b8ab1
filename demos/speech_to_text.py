"""The speech-to-text tab: its layout and wiring (engines/speech_to_text.py and engines/live_speech.py do the
work). A recording or file is transcribed at once; Live transcribes the microphone while the person speaks."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import gradio as gr

from demos.common import default_of, model_picker
from demos.endpoints import message_area, page_handler, serve
from demos.i18n import ui_text
from demos.live import Stream, checked, live_options, live_streams
from engines.live_speech import CHUNK_S, LIVE_LIMIT_S, MAX_CHUNK_S, LiveTranscriber, LiveView
from engines.media import MAX_AUDIO_SECONDS, StreamResampler, client_file, upload_folder
from engines.runtime import ModelRuntime
from engines.speech_to_text import CHUNK_SECONDS, ENDPOINTS, EXAMPLES, LANGUAGES, TASK, WHISPER_TASKS, live_transcriber

RUN_BUTTON = "speech_run"  # the catalog key of the button that runs it
RESULT = "#speech-to-text-output"  # where its result shows (a CSS selector)
SEGMENT_HEADERS = ["start (s)", "end (s)", "text"]


def build(runtime: ModelRuntime) -> None:
    minutes, megabytes = MAX_AUDIO_SECONDS // 60, runtime.settings.max_upload_mb
    gr.Markdown(ui_text("speech_intro", minutes=minutes, megabytes=megabytes, chunk_seconds=CHUNK_SECONDS))
    with gr.Row():
        with gr.Column():
            with gr.Tabs():
                with gr.Tab(ui_text("speech_mode_file")):
                    audio = gr.Audio(label=ui_text("speech_audio"), sources=["microphone", "upload"],
                                     type="filepath")
                    run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
                with gr.Tab(ui_text("speech_mode_live"), elem_id="speech-live-mode"):
                    gr.Markdown(ui_text("speech_live_intro", minutes=LIVE_LIMIT_S // 60))
                    microphone = gr.Audio(label=ui_text("speech_live_audio"), sources=["microphone"],
                                          streaming=True, type="filepath", elem_id="speech-live-microphone")
            with gr.Row():
                language = gr.Dropdown([(name, code) for code, name in LANGUAGES.items()],
                                       value=default_of(ENDPOINTS[0], "language"),
                                       label=ui_text("speech_language"))
                whisper_task = gr.Radio([(name, key) for key, name in WHISPER_TASKS.items()],
                                        value=default_of(ENDPOINTS[0], "task"),
                                        label=ui_text("speech_task"))
            model, custom_model = model_picker(runtime, TASK)
        with gr.Column():
            transcript = gr.Textbox(label=ui_text("speech_transcript"), lines=6, interactive=False, buttons=["copy"],
                                    elem_id="speech-to-text-output")
            tentative = gr.Markdown("", elem_id="speech-live-tentative", elem_classes=["live-tentative"])
            segments = gr.Dataframe(headers=SEGMENT_HEADERS, label=ui_text("speech_segments"), interactive=False,
                                    elem_id="speech-segments")
            download = gr.DownloadButton(ui_text("speech_live_download"), visible=False, size="sm")
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[audio], label=ui_text("examples_label"))

    # The handler decodes the upload itself (on_device turns Gradio's preprocessing off): no ffmpeg needed.
    serve(ENDPOINTS[0], runtime, run.click, [audio, model, custom_model, language, whisper_task],
          [transcript, segments], message)
    # The API's live endpoint: a recording fed as a microphone would send it (the page streams its own).
    serve(ENDPOINTS[1], runtime, None, [audio, model, custom_model, language, whisper_task],
          [gr.Textbox(visible=False), gr.Textbox(visible=False), gr.Dataframe(visible=False, headers=SEGMENT_HEADERS)])
    live = gr.State(None)
    live_outputs = [transcript, tentative, segments, live]
    microphone.start_recording(lambda: None, None, [live], queue=False, api_visibility="private")  # a new stream
    microphone.stream(page_handler(live_chunk_handler(runtime), len(live_outputs)),
                      [microphone, live, model, custom_model, language, whisper_task], [*live_outputs, message],
                      **live_options("live-speech", CHUNK_S))
    microphone.stop_recording(page_handler(live_end_handler(runtime), len(live_outputs) + 1), [live],
                              [*live_outputs, download, message], api_visibility="private")


@dataclass
class LiveSession:
    """A page's live stream: its mark, its transcriber and its resampler; ended once Stop has read its end."""
    stream: Stream
    transcriber: LiveTranscriber
    resampled: StreamResampler
    ended: bool = False


def live_chunk_handler(runtime: ModelRuntime):
    streams = live_streams(runtime)

    def live_chunk(chunk, live, model, custom_model, language, task, request: gr.Request = None):
        """A chunk of the microphone's audio: the stream's text so far (its first chunk starts the stream)."""
        if live is not None and live.ended:  # a chunk that came after Stop: the end is already shown
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        stream = streams.chunk(live.stream if live else None, request)
        model, custom_model, language, task = checked(ENDPOINTS[1], model=model, custom_model=custom_model,
                                                      language=language, task=task)
        live = live or LiveSession(stream, live_transcriber(runtime, model, custom_model, language, task),
                                   StreamResampler())
        return *shown(live.transcriber.feed(live.resampled(client_file(chunk), MAX_CHUNK_S))), live

    return live_chunk


def live_end_handler(runtime: ModelRuntime):
    streams = live_streams(runtime)

    def live_end(live, request: gr.Request = None):
        """The stream's final text, once its last utterance is read, and the transcript as a file."""
        if live is None or live.ended:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        live.ended = True
        streams.ended(live.stream)
        view = live.transcriber.finish()
        return *shown(view), live, gr.DownloadButton(value=transcript_file(view), visible=True)

    return live_end


def shown(view: LiveView) -> tuple[str, str, list[list]]:
    return view.stable, f"*{view.tentative}*" if view.tentative else "", view.segments


def transcript_file(view: LiveView) -> str:
    """The transcript as a text file, one segment a line with its times, in Gradio's cache (cleaned hourly)."""
    folder = upload_folder() / f"live-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    path = folder / "transcript.txt"
    path.write_text("".join(f"[{start:.2f}–{end:.2f}] {text}\n" for start, end, text in view.segments)
                    or view.stable + "\n", encoding="utf-8")
    return str(path)
