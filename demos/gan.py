"""The GAN sampling section: its layout and wiring (engines/gan.py does the work)."""
from __future__ import annotations

import gradio as gr

from demos.common import default_of, model_picker
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.gan import ENDPOINTS, MAX_FRAMES, MAX_IMAGES, TASK
from engines.runtime import ModelRuntime
from tasks import MAX_SEED

RUN_BUTTON = "gan_generate"  # the catalog key of the button that runs it
RESULT = "#gan-output"  # where its result shows (a CSS selector)


# Gradio 6.31 floats an image's label over its top left corner, and its buttons over the top right: over the first
# and last samples of a grid as wide as its box. The pictures start below them.
PICTURE_STYLE = """
#gan-style { display: none; }
#gan-output .image-container, #gan-interpolation-output .image-container { padding-top: 30px; }
"""


def seed_field(label_key: str, value: int) -> gr.Number:
    return gr.Number(value=value, precision=0, minimum=0, maximum=MAX_SEED, label=ui_text(label_key))


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("gan_intro", max_images=MAX_IMAGES, max_frames=MAX_FRAMES))
    gr.HTML(f"<style>{PICTURE_STYLE}</style>", js_on_load=None, elem_id="gan-style")
    with gr.Row():
        with gr.Column():
            model, custom_model = model_picker(runtime, TASK)
            seed = seed_field("gan_seed", default_of(ENDPOINTS[0], "seed"))
            count = gr.Slider(1, MAX_IMAGES, value=default_of(ENDPOINTS[0], "count"), step=1,
                              label=ui_text("gan_count"))
            sample = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            grid = gr.Image(label=ui_text("gan_samples"), type="pil", format="png", elem_id="gan-output")
    with gr.Row():
        with gr.Column():
            with gr.Row():
                seed_a = seed_field("gan_seed_a", default_of(ENDPOINTS[1], "seed_a"))
                seed_b = seed_field("gan_seed_b", default_of(ENDPOINTS[1], "seed_b"))
            frames = gr.Slider(2, MAX_FRAMES, value=default_of(ENDPOINTS[1], "frames"), step=1,
                               label=ui_text("gan_frames"))
            interpolate = gr.Button(ui_text("gan_interpolate"))
        with gr.Column():
            strip = gr.Image(label=ui_text("gan_strip"), type="pil", format="png", elem_id="gan-interpolation-output")
    message = message_area()
    serve(ENDPOINTS[0], runtime, sample.click, [model, custom_model, seed, count], [grid], message)
    serve(ENDPOINTS[1], runtime, interpolate.click, [model, custom_model, seed_a, seed_b, frames], [strip], message)
