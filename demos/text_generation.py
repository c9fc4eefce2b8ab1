"""The text-generation tab: its layout and wiring (engines/text_generation.py does the work): the chat, whose
conversation the page keeps, and the completion."""
from __future__ import annotations

import json
from dataclasses import replace

import gradio as gr

from demos.common import model_picker
from demos.endpoints import WORKBENCH, bound, event_options, message_area, page_handler, serve
from demos.i18n import ui_text
from engines.context import Context
from engines.generation import DEFAULT_SAMPLING, MAX_NEW_TOKENS, MIN_TOP_P
from engines.params import Conversation
from engines.runtime import ModelRuntime
from engines.text_generation import ENDPOINTS, MAX_PROMPT_CHARS, MESSAGE, MODEL_PARAMS, TASK, chat, shown_messages
from tasks import MAX_SEED, task

RUN_BUTTON = None  # None: a message and Enter run it (the chat)
RESULT = "#text-generation-output .bot.message"  # where its result shows (a CSS selector)
CHAT_EXAMPLES = json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]


def chat_in_page(runtime: ModelRuntime, message, history, model, custom_model, max_new_tokens, temperature, top_p,
                 seed, context: Context | None = None):
    """The page's chat: the message moves from its box into the conversation at once and the reply grows under
    it; if that fails, the conversation is as it was and the message is back in its box."""
    earlier = shown_messages(history)
    asked = earlier + [{"role": "user", "content": message}]
    yield "", asked
    try:
        for text in chat(runtime, message, earlier, model, custom_model, max_new_tokens, temperature, top_p, seed,
                         context):
            yield gr.skip(), asked + [{"role": "assistant", "content": text}]
    except Exception:
        yield message, earlier
        raise


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("generation_intro", max_prompt_chars=MAX_PROMPT_CHARS))
    with gr.Row():
        with gr.Column(scale=2):
            model, custom_model = model_picker(runtime, TASK)
        with gr.Column(scale=3):
            with gr.Row():
                # min_width: on a phone each setting takes its own line instead of a squeezed half
                max_new_tokens = gr.Slider(1, MAX_NEW_TOKENS, value=DEFAULT_SAMPLING.max_new_tokens, step=1,
                                           min_width=220, label=ui_text("generation_max_new_tokens"))
                temperature = gr.Slider(0, 2, value=DEFAULT_SAMPLING.temperature, step=0.05, min_width=220,
                                        label=ui_text("generation_temperature"))
            with gr.Row():
                top_p = gr.Slider(MIN_TOP_P, 1, value=DEFAULT_SAMPLING.top_p, step=0.01, min_width=220,
                                  label=ui_text("generation_top_p"))
                seed = gr.Number(value=DEFAULT_SAMPLING.seed, precision=0, minimum=0, maximum=MAX_SEED,
                                 min_width=220, label=ui_text("generation_seed"))
    settings = [model, custom_model, max_new_tokens, temperature, top_p, seed]
    _chat(runtime, settings)
    _completion(runtime, settings)


def _chat(runtime: ModelRuntime, settings: list) -> None:
    chatbot = gr.Chatbot(label=ui_text("generation_chat"), height=380, elem_id="text-generation-output")
    message_box = gr.Textbox(show_label=False, lines=1, max_lines=8, elem_id="chat-message",
                             placeholder=ui_text("generation_chat_hint"))
    with gr.Row():
        send = gr.Button(ui_text("generation_send"), variant="primary")
        stop_chat = gr.Button(ui_text("generation_stop"), variant="stop")
    message = message_area()
    gr.Examples(examples=[[example] for example in CHAT_EXAMPLES], inputs=[message_box],
                label=ui_text("examples_label"))
    serve(ENDPOINTS[0], runtime, None, [message_box, *settings], [gr.Textbox(visible=False)])
    workbench = WORKBENCH.get()
    if workbench is not None:  # two models' replies to one message, side by side
        workbench.offer_compare(ENDPOINTS[0], [message_box, *settings],
                                [gr.Textbox(label=ui_text("generation_reply"), lines=6, interactive=False,
                                            render=False)])
    # The page shows the whole conversation: the same endpoint, with the page's own function.
    in_page = bound(replace(ENDPOINTS[0], fn=chat_in_page,
                            params={"message": MESSAGE, "history": Conversation("param_history"), **MODEL_PARAMS}),
                    runtime)
    replying = gr.on([message_box.submit, send.click], page_handler(in_page, 2), [message_box, chatbot, *settings],
                     [message_box, chatbot, message], api_visibility="private",
                     **event_options(ENDPOINTS[0], runtime))
    # Cancelling closes the stream, which sets the stop signal: the model stops computing too.
    stop_chat.click(None, None, None, cancels=[replying])


def _completion(runtime: ModelRuntime, settings: list) -> None:
    with gr.Accordion(ui_text("generation_complete_title"), open=False):
        gr.Markdown(ui_text("generation_complete_intro"))
        prompt = gr.Textbox(label=ui_text("generation_prompt"), lines=4, placeholder=ui_text("generation_prompt_hint"))
        with gr.Row():
            generate_button = gr.Button(ui_text("generation_generate"), variant="primary")
            stop_button = gr.Button(ui_text("generation_stop"), variant="stop")
        completion = gr.Textbox(label=ui_text("generation_completion"), lines=8, interactive=False)
        message = message_area()
    generation = serve(ENDPOINTS[1], runtime, generate_button.click, [prompt, *settings], [completion], message)
    # Cancelling closes the stream, which sets the stop signal: the model stops computing too.
    stop_button.click(None, None, None, cancels=[generation])
