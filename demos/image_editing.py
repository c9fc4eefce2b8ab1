"""The edit-by-instruction section: its layout and wiring (engines/image_editing.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import default_of, model_picker
from demos.endpoints import message_area, serve
from demos.gan import seed_field
from demos.i18n import ui_text
from engines.image_editing import EDIT_SIDE, ENDPOINTS, EXAMPLES, MAX_INSTRUCTION_CHARS, MAX_STEPS, TASK
from engines.runtime import ModelRuntime

RUN_BUTTON = "editing_run"  # the catalog key of the button that runs it
RESULT = "#image-editing-output"  # where its result shows (a CSS selector)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("editing_intro", edit_side=EDIT_SIDE, max_instruction_chars=MAX_INSTRUCTION_CHARS,
                        max_steps=MAX_STEPS))
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=ui_text("editing_image"), type="filepath",
                             sources=["upload", "clipboard", "webcam"], height=320)
            instruction = gr.Textbox(label=ui_text("editing_instruction"), placeholder=ui_text("editing_hint"),
                                     max_lines=3)
            model, custom_model = model_picker(runtime, TASK)
            with gr.Accordion(ui_text("editing_settings"), open=False):
                steps = gr.Slider(1, MAX_STEPS, value=default_of(ENDPOINTS[0], "steps"), step=1,
                                  label=ui_text("editing_steps"))
                image_guidance = gr.Slider(1.0, 5.0, value=default_of(ENDPOINTS[0], "image_guidance"), step=0.1,
                                           label=ui_text("editing_image_guidance"))
                text_guidance = gr.Slider(1.0, 20.0, value=default_of(ENDPOINTS[0], "text_guidance"), step=0.5,
                                          label=ui_text("editing_text_guidance"))
                seed = seed_field("editing_seed", default_of(ENDPOINTS[0], "seed"))
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            output = gr.Image(label=ui_text("editing_output"), type="pil", format="png",
                              elem_id="image-editing-output")
            message = message_area()
    examples = gr.Examples(examples=EXAMPLES, inputs=[image, instruction], label=ui_text("examples_label"))
    examples.dataset.headers = []  # Gradio 6.31 shows translated headers raw; a photo and its words need none
    serve(ENDPOINTS[0], runtime, run.click,
          [image, instruction, model, custom_model, steps, image_guidance, text_guidance, seed], [output], message)
