"""Text generation: chat with an instruction-tuned model, or let any language model continue a text.

Tokens stream as they are generated. Stop really stops: closing the stream sets a signal that a stopping
criterion checks at every step, so the model stops computing, not just the page updating (demos/generation.py).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import gradio as gr
import torch

from demos.common import model_picker, refuse
from demos.endpoints import STREAM, Endpoint, bound, event_options, message_area, page_handler, serve
from demos.generation import (
    MAX_NEW_TOKENS,
    MIN_TOP_P,
    SAMPLING_PARAMS,
    fit_context,
    sampling,
    say_how_it_ended,
    stream_generate,
)
from demos.i18n import ui_text
from demos.params import PICKED_MODEL, TYPED_MODEL, Conversation, Text, refuse_lone_surrogates
from messages import current_language, say
from models.runtime import ModelRuntime
from tasks import MAX_SEED, task

TASK = "text_generation"
RUN_BUTTON = None  # None: a message and Enter run it (the chat)
RESULT = "#text-generation-output .bot.message"  # where its result shows (a CSS selector)
MAX_PROMPT_CHARS = 20_000
# What a request may carry of its earlier conversation beside its message; older messages are left out.
MAX_HISTORY_MESSAGES = 200
MAX_HISTORY_CHARS = 2 * MAX_PROMPT_CHARS
CHAT_EXAMPLES = json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]


def _message_text(content) -> str:
    """Gradio chat messages carry text as a string or as a list of typed parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, (list, tuple)) else [content]
    return "".join(part if isinstance(part, str) else str(part.get("text") or "")
                   for part in parts if isinstance(part, (str, dict)))


def shown_messages(history) -> list[dict]:
    """The conversation on the page as {"role", "content"} text messages, whatever shape the browser sent."""
    return [{"role": turn["role"], "content": _message_text(turn.get("content"))} for turn in history
            if isinstance(turn, dict) and turn.get("role") in ("user", "assistant")]


def recent_turns(history) -> list[dict]:
    """The conversation's latest messages, at most MAX_HISTORY_MESSAGES of them and MAX_HISTORY_CHARS in all:
    older ones are left out (the user is told) before a tokenizer sees them, so whatever history a request
    carries, its cost is bounded like its message's."""
    first = max(0, len(history) - MAX_HISTORY_MESSAGES)
    kept, chars = [], 0
    for position in range(len(history) - 1, first - 1, -1):
        turn = history[position]
        if not (isinstance(turn, dict) and turn.get("role") in ("user", "assistant", "system")):
            continue
        text = _message_text(turn.get("content"))
        refuse_lone_surrogates(text, "param_history")
        chars += len(text)
        if chars > MAX_HISTORY_CHARS:
            first = position + 1
            break
        kept.append({"role": turn["role"], "content": text})
    if first > 0:
        gr.Warning(say("warning_history_cut", current_language(), count=first))
    return kept[::-1]


def chat_input_ids(lm, message: str, history: list) -> torch.Tensor:
    if not lm.is_chat:
        raise refuse("refuse_no_chat_template")
    messages = recent_turns(history) + [{"role": "user", "content": message}]
    encoded = lm.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
    return encoded["input_ids"]


def chat(runtime: ModelRuntime, message, history, model=None, custom_model=None, max_new_tokens=256,
         temperature=0.7, top_p=0.9, seed=0, progress=None) -> Iterator[str]:
    """The reply to `message` after the conversation `history` ({"role", "content"} messages), as it grows."""
    settings = sampling(max_new_tokens, temperature, top_p, seed)
    spec = runtime.spec(TASK, model, custom_model)
    backend = runtime.remote(TASK)
    if backend is not None:  # the engine fits the conversation to its model's context, or says why not
        ended = yield from backend.chat_stream(
            recent_turns(history) + [{"role": "user", "content": message}], max_tokens=settings.max_new_tokens,
            temperature=settings.temperature, top_p=settings.top_p, seed=settings.seed)
        say_how_it_ended(ended, backend.timeout_s, settings.max_new_tokens)  # as the model here says it
        return
    lm = runtime.load(spec, progress)
    input_ids = fit_context(lm, chat_input_ids(lm, message, history), settings.max_new_tokens)
    yield from stream_generate(runtime, lm, input_ids, settings)


def chat_reply(runtime: ModelRuntime, message: str, model: str | None = None, custom_model: str | None = None,
               max_new_tokens: int = 256, temperature: float = 0.7, top_p: float = 0.9, seed: int = 0,
               progress=None) -> Iterator[str]:
    """Chat with an instruction-tuned language model; the reply streams as it is generated.

    Args:
        message: the user's message.
        model: a listed model id, e.g. Qwen/Qwen2.5-0.5B-Instruct.
        custom_model: optional Hugging Face id of another chat model.
        max_new_tokens: at most this many tokens in the reply (1 to 1024).
        temperature: 0 (or under 0.01) for the likeliest tokens, up to 2 for more varied text.
        top_p: sample only among the likeliest tokens that make up this probability (0.01 to 1).
        seed: the same seed and settings give the same reply.
    """
    yield from chat(runtime, message, [], model, custom_model, max_new_tokens, temperature, top_p, seed, progress)


def chat_in_page(runtime: ModelRuntime, message, history, model, custom_model, max_new_tokens, temperature, top_p,
                 seed, progress=None):
    """The page's chat: the message moves from its box into the conversation at once and the reply grows under
    it; if that fails, the conversation is as it was and the message is back in its box."""
    earlier = shown_messages(history)
    asked = earlier + [{"role": "user", "content": message}]
    yield "", asked
    try:
        for text in chat(runtime, message, earlier, model, custom_model, max_new_tokens, temperature, top_p, seed,
                         progress):
            yield gr.skip(), asked + [{"role": "assistant", "content": text}]
    except Exception:
        yield message, earlier
        raise


def complete_text(runtime: ModelRuntime, prompt: str, model: str | None = None, custom_model: str | None = None,
                  max_new_tokens: int = 256, temperature: float = 0.7, top_p: float = 0.9, seed: int = 0,
                  progress=None) -> Iterator[str]:
    """Continue a text with a language model; the prompt and its continuation stream as they grow.

    Args:
        prompt: the beginning of the text.
        model: a listed model id, e.g. distilbert/distilgpt2.
        custom_model: optional Hugging Face id of another language model.
        max_new_tokens: at most this many new tokens (1 to 1024).
        temperature: 0 (or under 0.01) for the likeliest tokens, up to 2 for more varied text.
        top_p: sample only among the likeliest tokens that make up this probability (0.01 to 1).
        seed: the same seed and settings give the same text.
    """
    settings = sampling(max_new_tokens, temperature, top_p, seed)
    spec = runtime.spec(TASK, model, custom_model)
    if runtime.remote(TASK) is not None:  # OpenAI's chat API, which the engines share, continues no texts
        raise refuse("refuse_remote_no_completion", backend=runtime.remote(TASK).shown)
    lm = runtime.load(spec, progress)
    input_ids = fit_context(lm, lm.tokenizer(prompt, return_tensors="pt")["input_ids"], settings.max_new_tokens)
    for text in stream_generate(runtime, lm, input_ids, settings):
        yield prompt + text


SAMPLE_SETTINGS = (8, 0.7, 0.9, 0)  # max new tokens, temperature, top-p, seed
MODEL_PARAMS = {"model": PICKED_MODEL, "custom_model": TYPED_MODEL, **SAMPLING_PARAMS}
MESSAGE = Text("param_message", MAX_PROMPT_CHARS)
ENDPOINTS = (
    # The API's /chat: a message and the settings in, the reply out (a conversation's history is the page's).
    Endpoint("chat", chat_reply, TASK, {"message": MESSAGE, **MODEL_PARAMS}, run=STREAM, track_tqdm=False,
             sample=lambda model: ("Hello!", model, "", *SAMPLE_SETTINGS)),
    Endpoint("complete", complete_text, TASK, {"prompt": Text("param_prompt", MAX_PROMPT_CHARS), **MODEL_PARAMS},
             run=STREAM, sample=lambda model: ("Once upon a time", model, "", *SAMPLE_SETTINGS)),
)


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text("generation_intro", max_prompt_chars=MAX_PROMPT_CHARS))
    with gr.Row():
        with gr.Column(scale=2):
            model, custom_model = model_picker(runtime, TASK)
        with gr.Column(scale=3):
            with gr.Row():
                # min_width: on a phone each setting takes its own line instead of a squeezed half
                max_new_tokens = gr.Slider(1, MAX_NEW_TOKENS, value=256, step=1, min_width=220,
                                           label=ui_text("generation_max_new_tokens"))
                temperature = gr.Slider(0, 2, value=0.7, step=0.05, min_width=220,
                                        label=ui_text("generation_temperature"))
            with gr.Row():
                top_p = gr.Slider(MIN_TOP_P, 1, value=0.9, step=0.01, min_width=220, label=ui_text("generation_top_p"))
                seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, min_width=220,
                                 label=ui_text("generation_seed"))
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
