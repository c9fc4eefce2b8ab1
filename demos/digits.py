"""Handwritten digits: a digit drawn with the mouse or a finger (or a picture of one) -> which of 0-9 it is."""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import numpy as np
import torch
from gradio.context import get_blocks_context
from PIL import Image

from demos.common import model_dropdown, refuse
from demos.endpoints import BATCHED, Endpoint, message_area, serve
from demos.i18n import ui_text
from demos.media import MAX_IMAGE_PIXELS, drawing_file, open_image, upload_path
from demos.params import PICKED_MODEL, Upload
from models.digit_network import BOX, DIGITS, FIELD, ink_of, mnist_field
from models.runtime import ModelRuntime
from tasks import task

TASK = "digits"
RUN_BUTTON = "digits_run"  # the catalog key of the button that runs it
RESULT = "#digits-output"  # where its result shows (a CSS selector)
EXAMPLES = [str(path) for path in task(TASK).example_files()]
PAD_SIDE = 280  # ten times MNIST's field: room to draw, and a stroke of the brush is a pen's width there
# A picture is reduced to this before its ink is read: a digit needs no more, and it bounds the work.
MAX_SIDE = 1024
SHOWN_SIDE = 140  # the field as the page shows it, five times its size


def field_of(upload) -> np.ndarray:
    """The 28x28 field the network reads, made from the picture as MNIST made its digits; refuses a blank one."""
    picture = open_image(upload, decode_at_least=MAX_SIDE // 2)  # a large JPEG is decoded at a fraction
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    field = mnist_field(ink_of(picture))
    if field is None:
        raise refuse("refuse_no_digit")
    return field


def read_digits(network, fields: list[np.ndarray]) -> list[dict[str, float]]:
    """One forward pass over fields -> each one's {digit: probability} for the ten digits."""
    batch = torch.from_numpy(np.stack(fields))[:, None].to(device=network.device, dtype=network.dtype)
    with torch.inference_mode():
        probabilities = network(batch).float().softmax(dim=-1).cpu()
    return [{digit: round(p, 4) for digit, p in zip(DIGITS, row)} for row in probabilities.tolist()]


def field_picture(field: np.ndarray) -> Image.Image:
    return Image.fromarray((field * 255).astype(np.uint8)).resize((SHOWN_SIDE, SHOWN_SIDE), Image.Resampling.NEAREST)


def recognize(runtime: ModelRuntime, upload, model=None, progress=None) -> tuple[dict[str, float], Image.Image]:
    """The ten digits' probabilities and the field the network saw. Requests waiting together share one forward."""
    if upload is None:
        raise refuse("refuse_no_digit")
    spec = runtime.spec(TASK, model)
    backend = runtime.remote(TASK)
    if backend is not None:
        # The field is made here too: a blank drawing is refused before any request, and the page shows the field.
        # The engine gets the picture as sent and makes the same field from it (a PNG of the field would round it).
        field = field_of(upload)
        drawing = upload_path(upload).read_bytes()
        return backend.call(lambda client: digit_scores(client.image_classification(drawing, top_k=len(DIGITS))),
                            progress), field_picture(field)

    def answer():
        field = field_of(upload)
        return digits_here(runtime, spec, field, progress), field_picture(field)

    return runtime.remembered(spec, ("recognize", upload_path(upload)), answer)


def digits_here(runtime: ModelRuntime, spec, field: np.ndarray, progress=None) -> dict[str, float]:
    """The ten digits' probabilities for a field, from the network in this process (with the requests that wait
    with it)."""
    network = runtime.load(spec, progress)
    return runtime.run_batched(spec, field, lambda fields: read_digits(network, fields))


def digit_scores(answer) -> dict[str, float]:
    """The contract's [{label, score}] as {digit: probability}, in the digits' order."""
    scores = {str(item.label): float(item.score) for item in answer}
    return {digit: scores[digit] for digit in DIGITS}


def recognize_digit(runtime: ModelRuntime, image: dict, model: str | None = None, progress=None):
    """Read one handwritten digit (0-9); returns the ten digits' probabilities and the 28x28 field the network
    saw.

    Args:
        image: the drawing as the Sketchpad sends it: {"background": null, "layers": [], "composite": file}; the
            file may be any picture of one digit, dark on light or light on dark (at most 40 megapixels).
        model: a listed model, e.g. assets:digits-cnn.
    """
    return recognize(runtime, drawing_file(image), model, progress)


ENDPOINTS = (Endpoint("recognize_digit", recognize_digit, TASK,
                      {"image": Upload("param_drawing"), "model": PICKED_MODEL},
                      run=BATCHED,
                      sample=lambda model: ({"background": None, "layers": [], "composite": Path(EXAMPLES[0])},
                                            model)),)


# The drawing pads (this tab's and pix2pix's), as Gradio 6.31 makes them, need three things from the page.
# 1. The example a person picks must be what the run reads. Its value lands on the pad after the click, and
#    meanwhile Gradio's page keeps reading the pad's value again (at each status update of the page: each read
#    uploads the pad's files once more, from the value the read started with, and stores what it read when it ends):
#    a run pressed a second after a new example sent the previous drawing while the pad showed the new one. So the
#    page notes the example picked (its value as the Examples hold it: the example's own file) until the pad is
#    changed, and the run sends that: no waiting, on however slow a machine.
# 2. A pad with a source of pictures (upload) starts on its Image tool, where a drag selects the page's text: the
#    pad is put on its brush, fresh or cleared, unless the person picked a tool; on an empty pad a drag draws.
# 3. The tool bar floats over the left of the drawing area: on a phone, over the drawing square's left edge. The
#    drawing area starts right of it (the helper comes before the pad, and its canvas is made to follow its box).
PAD_SCRIPT = """
const pad = %(pad)s, examples = %(examples)s;
const pads = (window.hubDrawingPads ??= {});
if (pads[pad]) return;
const state = pads[pad] = {example: null, toolPicked: false};
const at = (event, selector) => event.target instanceof Element ? event.target.closest(selector) : null;
const tools = () => [...document.querySelectorAll(`#${pad} .toolbar-wrap .half-container:not(.right) > button`)];
document.addEventListener('click', event => {
    const item = at(event, `#${examples} .gallery-item`);
    if (!item) return;
    const samples = window.gradio_config.components.find(c => c.props.elem_id === examples)?.props.samples ?? [];
    const shown = decodeURIComponent(item.querySelector('img')?.getAttribute('src') ?? '');
    const sample = samples.find(([value]) => value?.composite && shown.endsWith(value.composite.path))
        ?? samples[[...document.querySelectorAll(`#${examples} .gallery-item`)].indexOf(item)];
    state.example = sample ? sample[0] : null;
}, true);
const changes = event => {
    if (!at(event, `#${pad}`)) return;
    const [image, brush] = tools(), button = at(event, 'button');
    const onImage = image?.classList.contains('highlight');
    if (event.type === 'pointerdown' && button?.closest('.toolbar-wrap .half-container:not(.right)'))
        state.toolPicked = button !== brush;
    const edits = button?.matches('.top-panel .separator ~ button');  // undo, redo, save, clear
    if (edits) state.toolPicked = false;
    if (event.type === 'pointerdown' && !button && onImage && !at(event, '.toolbar-wrap, .top-panel')
            && document.querySelector(`#${pad} .empty`) && brush) {  // an empty pad: its Image tool has no use
        event.preventDefault();
        event.stopPropagation();
        brush.click();  // and the press goes to the canvas, on the brush, once it is there: the drag draws
        const canvas = document.querySelector(`#${pad} .pixi-target canvas`);
        const again = new PointerEvent('pointerdown', event);
        requestAnimationFrame(() => canvas?.dispatchEvent(again));
    }
    const keeps = button && !edits && (button.closest('.top-panel')
        || button.closest('.toolbar-wrap') && !(onImage && button.closest('.half-container.right')));
    if (!keeps) state.example = null;
};
for (const type of ['pointerdown', 'keydown', 'drop', 'paste', 'change'])
    document.addEventListener(type, changes, true);
const toBrush = () => {
    const [image, brush] = tools();
    if (!state.toolPicked && image?.classList.contains('highlight') && brush) brush.click();
};
const fit = () => {  // the canvas follows its box's size, but a change while it readies is missed: one more then
    const box = document.querySelector(`#${pad} .pixi-target`), canvas = box?.querySelector('canvas');
    if (!canvas || box.style.width || Math.abs(canvas.getBoundingClientRect().width - box.clientWidth) < 1) return;
    box.style.width = `${box.clientWidth - 1}px`;
    requestAnimationFrame(() => requestAnimationFrame(() => box.style.removeProperty('width')));
};
const follow = () => {
    const target = document.getElementById(pad);
    if (!target) return requestAnimationFrame(follow);
    const check = () => { toBrush(); fit(); };
    new MutationObserver(check).observe(target, {subtree: true, childList: true, attributeFilter: ['class']});
    check();
};
follow();
"""
PAD_STYLE = """
#%(pad)s-helper { display: none; }
#%(pad)s .pixi-target, #%(pad)s .pixi-target-crop { left: 48px; width: calc(100%% - 48px); }
"""
SENDS_THE_SHOWN_EXAMPLE = "(drawing, ...rest) => [window.hubDrawingPads?.[%s]?.example ?? drawing, ...rest]"


def pad_helper(pad: str, examples: str) -> gr.HTML:
    """What the page needs for the pad with elem_id `pad`, whose gr.Examples have elem_id `examples` (above); put
    it before the pad. It takes no room."""
    names = {"pad": json.dumps(pad), "examples": json.dumps(examples)}
    return gr.HTML(f"<style>{PAD_STYLE % {'pad': pad}}</style>", js_on_load=PAD_SCRIPT % names,
                   elem_id=f"{pad}-helper")


def sends_the_shown_example(event, pad: str) -> None:
    """The page's run `event` (what `serve` returns) sends the example picked on the pad, if it is still what the
    pad shows, instead of the pad's value. (`serve` takes no `js=`: it is set on the event once made.)"""
    get_blocks_context().fns[event["id"]].js = SENDS_THE_SHOWN_EXAMPLE % json.dumps(pad)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("digits_intro", field=FIELD, box=BOX, megapixels=MAX_IMAGE_PIXELS // 1_000_000))
    with gr.Row():
        with gr.Column():
            pad_helper("digits-pad", "digits-examples")
            pad = gr.Sketchpad(
                label=ui_text("digits_pad"), canvas_size=(PAD_SIDE, PAD_SIDE), fixed_canvas=True, layers=False,
                transforms=(), sources=("upload",), format="png", elem_id="digits-pad",
                brush=gr.Brush(colors=["#000000"], default_color="#000000", default_size=10, color_mode="fixed"),
            )
            model = model_dropdown(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            digits = gr.Label(label=ui_text("digits_probabilities"), num_top_classes=len(DIGITS),
                              elem_id="digits-output")
            field = gr.Image(label=ui_text("digits_field", field=FIELD), type="pil", format="png",
                             height=SHOWN_SIDE + 60, interactive=False)
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[pad], label=ui_text("examples_label"), elem_id="digits-examples")

    run_event = serve(ENDPOINTS[0], runtime, run.click, [pad, model], [digits, field], message)
    sends_the_shown_example(run_event, "digits-pad")
