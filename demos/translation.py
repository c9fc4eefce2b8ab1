"""The translation tab: its layout and wiring (engines/translation.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import choice, custom_model_field
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.kinds import LOCAL
from engines.runtime import ModelRuntime
from engines.translation import ENDPOINTS, EXAMPLES, LANGUAGES, MAX_CHARS, OPUS_MT, TASK, opus_pairs

RUN_BUTTON = "translation_run"  # the catalog key of the button that runs it
RESULT = "#translation-output"  # where its result shows (a CSS selector)


def build(runtime: ModelRuntime) -> None:
    pairs = ", ".join(f"{a}→{b}" for a, b in opus_pairs())
    gr.Markdown(ui_text("translation_intro", max_chars=MAX_CHARS, pairs=pairs))
    language_choices = [(name, code) for code, name in LANGUAGES.items()]
    with gr.Row():
        source = gr.Dropdown(language_choices, value="en", label=ui_text("translation_from"))
        swap = gr.Button(ui_text("translation_swap"), scale=0, min_width=90)
        target = gr.Dropdown(language_choices, value="de", label=ui_text("translation_to"))
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label=ui_text("translation_text"), lines=6, placeholder=ui_text("translation_text_hint"))
        with gr.Column():
            translation = gr.Textbox(label=ui_text("translation_output"), lines=6, interactive=False, buttons=["copy"],
                                     elem_id="translation-output")
            message = message_area()
    # The operator's --model first, if any; then Opus-MT (one entry for all its pairs); then M2M100. A remote
    # engine's one model alone.
    engines = [choice(spec) for spec in runtime.choices(TASK) if spec.pair is None]
    if runtime.kind(TASK) == LOCAL:
        overridden = TASK in runtime.settings.model_overrides
        engines.insert(int(overridden), ("Opus-MT · one per pair · ~300 MB", OPUS_MT))
    model = gr.Dropdown(engines, value=engines[0][1], label=ui_text("picker_model"))
    custom_model = custom_model_field(runtime, TASK)
    run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
    # Labels, not a table: Gradio shows the table's translated headers as raw keys, and a one-line label fits a phone.
    gr.Examples(examples=EXAMPLES, inputs=[text, source, target], label=ui_text("examples_label"),
                example_labels=[f"{source} → {target} · {text if len(text) <= 70 else text[:69] + '…'}"
                                for text, source, target in EXAMPLES])

    serve(ENDPOINTS[0], runtime, run.click, [text, source, target, model, custom_model], [translation], message)
    swap.click(lambda s, t, out: (t, s, out), [source, target, translation], [source, target, text],
               api_visibility="private")
