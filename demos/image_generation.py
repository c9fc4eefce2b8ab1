"""GAN / pix2pix: one tab for the image-making tasks, each in its own sub-tab and module: sampling a DCGAN
(demos/gan.py), pix2pix (demos/pix2pix.py) and editing by instruction (demos/image_editing.py)."""
from __future__ import annotations

import gradio as gr

from demos import gan, image_editing, pix2pix
from demos.i18n import ui_text
from engines.runtime import ModelRuntime

TASK = "image_generation"  # the tab; its tasks are its sections'
SECTIONS = (gan, pix2pix, image_editing)
ENDPOINTS = tuple(endpoint for section in SECTIONS for endpoint in section.ENDPOINTS)


def build(runtime: ModelRuntime) -> None:
    with gr.Tabs():
        for section in SECTIONS:
            with gr.Tab(ui_text(f"tab_{section.TASK}")):
                section.build(runtime)
