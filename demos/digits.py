"""The handwritten digits tab: its layout and wiring (engines/digits.py does the work), and the drawing pads'
page helpers (pix2pix's pad uses them too)."""
from __future__ import annotations

import json

import gradio as gr
from gradio.context import get_blocks_context

from demos.common import model_dropdown
from demos.endpoints import message_area, serve
from demos.i18n import ui_text
from engines.digits import ENDPOINTS, EXAMPLES, SHOWN_SIDE, TASK
from engines.media import MAX_IMAGE_PIXELS
from engines.runtime import ModelRuntime
from models.digit_network import BOX, DIGITS, FIELD

RUN_BUTTON = "digits_run"  # the catalog key of the button that runs it
RESULT = "#digits-output"  # where its result shows (a CSS selector)
PAD_SIDE = 280  # ten times MNIST's field: room to draw, and a stroke of the brush is a pen's width there


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
