"""Text generation: chat with an instruction-tuned model, or let any language model continue a text.

Tokens stream as they are generated. Stop really stops: closing the stream sets a signal that a stopping
criterion checks at every step, so the model stops computing, not just the page updating.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterator

import gradio as gr
import torch

from demos.common import (
    clean_text,
    message_area,
    model_handler,
    model_picker,
    on_device,
    page_handler,
    progress_callback,
    refuse,
    refuse_lone_surrogates,
    require_number,
    serve,
)
from demos.i18n import ui_text
from models.runtime import ModelRuntime

TASK = "text_generation"
TITLE, TITLE_ZH = "Text generation", "文本生成"
MAX_PROMPT_CHARS = 20_000
# What a request may carry of its earlier conversation beside its message; older messages are left out.
MAX_HISTORY_MESSAGES = 200
MAX_HISTORY_CHARS = 2 * MAX_PROMPT_CHARS
MAX_NEW_TOKENS = 1024
MAX_SEED = 2**31 - 1
CHAT_EXAMPLES = [
    "Explain in three sentences what a neural network is.",
    "用三句话解释什么是卷积神经网络。",
    "Write a haiku about gradient descent.",
]
# Seeding the global generator and sampling must not interleave between two requests.
_SAMPLING_LOCK = threading.Lock()


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int = 0


def check_sampling(max_new_tokens, temperature, top_p, seed) -> Sampling:
    """The request's sampling settings, refused in plain words when out of range (the API can send anything)."""
    numbers = {("max new tokens", "最多新词元"): max_new_tokens, ("temperature", "温度"): temperature,
               ("top-p", "Top-p"): top_p, ("seed", "种子"): seed}
    for (name, chinese_name), value in numbers.items():
        require_number(value, name, chinese_name)
    if not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise refuse(f"Max new tokens must be between 1 and {MAX_NEW_TOKENS}.", f"最多新词元必须在 1 到 {MAX_NEW_TOKENS} 之间。")
    if not 0 <= temperature <= 2:
        raise refuse("Temperature must be between 0 (always the likeliest token) and 2.", "温度必须在 0（总是选最可能的词元）到 2 之间。")
    if not 0 < top_p <= 1:
        raise refuse("Top-p must be above 0 and at most 1.", "Top-p 必须大于 0 且不超过 1。")
    if not 0 <= seed <= MAX_SEED:
        raise refuse(f"The seed must be between 0 and {MAX_SEED}.", f"种子必须在 0 到 {MAX_SEED} 之间。")
    return Sampling(int(max_new_tokens), float(temperature), float(top_p), int(seed))


class StopSignal:
    """A stopping criterion that ends generate() once set; it also counts the steps that really ran."""

    def __init__(self):
        self.event = threading.Event()
        self.steps = 0

    def __call__(self, input_ids, scores, **kwargs):
        self.steps += 1
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def fit_context(lm, input_ids: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Keep the prompt's last tokens when prompt and reply would not fit the model's context; say so."""
    budget = lm.context_length - max_new_tokens
    if budget < 1:
        raise refuse(f"This model's context is {lm.context_length} tokens; ask for fewer new tokens.",
                     f"这个模型的上下文只有 {lm.context_length} 个词元，请减少新词元数。")
    if input_ids.shape[1] > budget:
        gr.Warning(f"The text was longer than this model reads; its first {input_ids.shape[1] - budget} tokens "
                   f"were left out. / 文本超出模型的上下文，前 {input_ids.shape[1] - budget} 个词元被略去。")
        input_ids = input_ids[:, -budget:]
    return input_ids


def stream_generate(runtime: ModelRuntime, lm, input_ids: torch.Tensor, sampling: Sampling) -> Iterator[str]:
    """Yield the growing generated text, generated on a torch thread. Closing the iterator stops the model
    within one step; so does running longer than the server's limit."""
    from transformers import StoppingCriteriaList, TextIteratorStreamer

    stop = StopSignal()
    tokenizer = lm.tokenizer
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    sampling_kwargs = (
        {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p}
        if sampling.temperature > 0
        else {"do_sample": False}
    )
    input_ids = input_ids.to(lm.model.device)
    failures: list[BaseException] = []

    def generate():
        try:
            with _SAMPLING_LOCK, torch.inference_mode():
                torch.manual_seed(sampling.seed)
                lm.model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    max_new_tokens=sampling.max_new_tokens,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([stop]),
                    max_time=runtime.settings.max_generation_seconds,
                    pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
                    **sampling_kwargs,
                )
        except BaseException as error:  # handed to the consumer, which raises it in the request
            failures.append(error)
            streamer.end()

    job = runtime.torch_threads.submit(generate)
    text = ""
    try:
        for piece in streamer:
            if piece:
                text += piece
                yield text
        if failures:
            raise failures[0]
        if not text:
            yield text
    finally:
        stop.event.set()
        if not job.cancel():  # not started yet (waiting for the device): it never will
            job.result()
        lm.tokens_generated += stop.steps


def _message_text(content) -> str:
    """Gradio chat messages carry text as a string or as a list of typed parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, (list, tuple)) else [content]
    return "".join(part if isinstance(part, str) else str(part.get("text") or "")
                   for part in parts if isinstance(part, (str, dict)))


def shown_messages(history) -> list[dict]:
    """The conversation on the page as {"role", "content"} text messages, whatever shape the browser sent."""
    if not isinstance(history, (list, tuple)):
        return []
    return [{"role": turn["role"], "content": _message_text(turn.get("content"))} for turn in history
            if isinstance(turn, dict) and turn.get("role") in ("user", "assistant")]


def recent_turns(history) -> list[dict]:
    """The conversation's latest messages, at most MAX_HISTORY_MESSAGES of them and MAX_HISTORY_CHARS in all:
    older ones are left out (the user is told) before a tokenizer sees them, so whatever history a request
    carries, its cost is bounded like its message's."""
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise refuse("The history must be a list of messages.", "历史记录必须是消息列表。")
    first = max(0, len(history) - MAX_HISTORY_MESSAGES)
    kept, chars = [], 0
    for position in range(len(history) - 1, first - 1, -1):
        turn = history[position]
        if not (isinstance(turn, dict) and turn.get("role") in ("user", "assistant", "system")):
            continue
        text = _message_text(turn.get("content"))
        refuse_lone_surrogates(text)
        chars += len(text)
        if chars > MAX_HISTORY_CHARS:
            first = position + 1
            break
        kept.append({"role": turn["role"], "content": text})
    if first > 0:
        gr.Warning(f"The conversation was long: its {first} oldest messages were left out. / "
                   f"对话太长，最早的 {first} 条消息被略去。")
    return kept[::-1]


def chat_input_ids(lm, message: str, history: list) -> torch.Tensor:
    if not lm.is_chat:
        raise refuse(
            "This model has no chat template: it only continues text. Use the Complete box below, or pick a chat model.",
            "这个模型没有对话模板，只能续写文本。请使用下方的续写框，或选择对话模型。",
        )
    messages = recent_turns(history) + [{"role": "user", "content": message}]
    encoded = lm.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    return encoded["input_ids"]


def chat(runtime: ModelRuntime, message, history, model=None, custom_model=None, max_new_tokens=256,
         temperature=0.7, top_p=0.9, seed=0, progress=None) -> Iterator[str]:
    message = clean_text(message, MAX_PROMPT_CHARS)
    sampling = check_sampling(max_new_tokens, temperature, top_p, seed)
    lm = runtime.load(runtime.spec(TASK, model, custom_model), progress)
    input_ids = fit_context(lm, chat_input_ids(lm, message, history), sampling.max_new_tokens)
    yield from stream_generate(runtime, lm, input_ids, sampling)


def complete(runtime: ModelRuntime, prompt, model=None, custom_model=None, max_new_tokens=256,
             temperature=0.7, top_p=0.9, seed=0, progress=None) -> Iterator[str]:
    prompt = clean_text(prompt, MAX_PROMPT_CHARS)
    sampling = check_sampling(max_new_tokens, temperature, top_p, seed)
    lm = runtime.load(runtime.spec(TASK, model, custom_model), progress)
    input_ids = fit_context(lm, lm.tokenizer(prompt, return_tensors="pt")["input_ids"], sampling.max_new_tokens)
    for text in stream_generate(runtime, lm, input_ids, sampling):
        yield prompt + text


def build(runtime: ModelRuntime) -> None:
    gr.Markdown(ui_text(
        "generation_intro",
        f"Chat with an instruction-tuned model, or let any language model continue your text. Replies stream "
        f"as they are written; **Stop** halts the model itself. Prompts up to {MAX_PROMPT_CHARS:,} characters; "
        f"a conversation longer than the model's context keeps its most recent part (you are told). The same "
        f"seed and settings give the same text; temperature 0 always picks the likeliest token.",
        f"与指令微调模型对话，或让任意语言模型续写文本。回复边生成边显示；**停止**会真正停下模型的计算。提示最多 "
        f"{MAX_PROMPT_CHARS:,} 个字符；超出模型上下文的对话只保留最近的部分（会提示）。相同的种子和设置生成相同的文本；"
        f"温度为 0 时总是选最可能的词元。",
    ))
    with gr.Row():
        with gr.Column(scale=2):
            model, custom_model = model_picker(runtime, TASK)
        with gr.Column(scale=3):
            with gr.Row():
                # min_width: on a phone each setting takes its own line instead of a squeezed half
                max_new_tokens = gr.Slider(1, MAX_NEW_TOKENS, value=256, step=1, min_width=220,
                                           label=ui_text("max_new_tokens", "Max new tokens", "最多新词元"))
                temperature = gr.Slider(0, 2, value=0.7, step=0.05, min_width=220, label=ui_text("temperature", "Temperature", "温度"))
            with gr.Row():
                top_p = gr.Slider(0.05, 1, value=0.9, step=0.05, min_width=220, label=ui_text("top_p", "Top-p", "Top-p"))
                seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, min_width=220, label=ui_text("seed", "Seed", "种子"))
    settings = [model, custom_model, max_new_tokens, temperature, top_p, seed]

    def chat_reply(message: str, history: list, model: str, custom_model: str, max_new_tokens: int,
                   temperature: float, top_p: float, seed: int, progress=gr.Progress()):
        """Chat with an instruction-tuned language model; the reply streams as it is generated.

        Args:
            message: the user's message.
            history: earlier turns as {"role", "content"} messages.
            model: a listed model id, e.g. Qwen/Qwen2.5-0.5B-Instruct.
            custom_model: optional Hugging Face id of another chat model.
            max_new_tokens: at most this many tokens in the reply (1 to 1024).
            temperature: 0 for the likeliest tokens, up to 2 for more varied text.
            top_p: sample only among the likeliest tokens that make up this probability (0 to 1].
            seed: the same seed and settings give the same reply.
        """
        yield from chat(runtime, message, history, model, custom_model, max_new_tokens, temperature, top_p, seed,
                        progress_callback(progress))

    def chat_in_page(message, history, model, custom_model, max_new_tokens, temperature, top_p, seed,
                     progress=gr.Progress()):
        """The page's chat: the message moves from its box into the conversation at once and the reply grows
        under it; if that fails, the conversation is as it was and the message is back in its box."""
        earlier = shown_messages(history)
        asked = earlier + [{"role": "user", "content": message if isinstance(message, str) else ""}]
        yield "", asked
        try:
            for text in chat(runtime, message, earlier, model, custom_model, max_new_tokens, temperature, top_p, seed,
                             progress_callback(progress)):
                yield gr.skip(), asked + [{"role": "assistant", "content": text}]
        except Exception:
            yield message, earlier
            raise

    chatbot = gr.Chatbot(label=ui_text("chat", "Chat", "对话"), height=380, elem_id="text-generation-output")
    message_box = gr.Textbox(show_label=False, lines=1, max_lines=8, elem_id="chat-message",
                             placeholder=ui_text("chat_hint", "Type a message and press Enter…", "输入消息，按回车发送……"))
    with gr.Row():
        send = gr.Button(ui_text("send", "Send", "发送"), variant="primary")
        stop_chat = gr.Button(ui_text("stop", "Stop", "停止"), variant="stop")
    message = message_area()
    gr.Examples(examples=[[example] for example in CHAT_EXAMPLES], inputs=[message_box])
    # The API's /chat: the message and the settings in, the reply out (a conversation's history is the page's).
    gr.Button(visible=False).click(model_handler(chat_reply), [message_box, gr.State([]), *settings],
                                   gr.Textbox(visible=False), api_name="chat", **on_device(runtime))
    replying = gr.on([message_box.submit, send.click], page_handler(chat_in_page, 2), [message_box, chatbot, *settings],
                     [message_box, chatbot, message], api_visibility="private", **on_device(runtime))
    # Cancelling closes the stream, which sets the stop signal: the model stops computing too.
    stop_chat.click(None, None, None, cancels=[replying])

    with gr.Accordion(ui_text("complete_title", "Complete a text", "续写文本"), open=False):
        gr.Markdown(ui_text("complete_intro", "Any language model continues your text, plain ones like DistilGPT-2 too.",
                            "任何语言模型都能续写文本，包括 DistilGPT-2 这样的普通语言模型。"))
        prompt = gr.Textbox(label=ui_text("prompt", "Beginning of a text", "文本开头"), lines=4,
                            placeholder=ui_text("prompt_hint", "Once upon a time…", "很久很久以前……"))
        with gr.Row():
            generate_button = gr.Button(ui_text("generate", "Generate", "生成"), variant="primary")
            stop_button = gr.Button(ui_text("stop", "Stop", "停止"), variant="stop")
        completion = gr.Textbox(label=ui_text("text", "Text", "文本"), lines=8, interactive=False)
        completion_message = message_area()

    def complete_text(prompt: str, model: str, custom_model: str, max_new_tokens: int, temperature: float,
                      top_p: float, seed: int, progress=gr.Progress(track_tqdm=True)):
        """Continue a text with a language model; the prompt and its continuation stream as they grow.

        Args:
            prompt: the beginning of the text.
            model: a listed model id, e.g. distilbert/distilgpt2.
            custom_model: optional Hugging Face id of another language model.
            max_new_tokens: at most this many new tokens (1 to 1024).
            temperature: 0 for the likeliest tokens, up to 2 for more varied text.
            top_p: sample only among the likeliest tokens that make up this probability (0 to 1].
            seed: the same seed and settings give the same text.
        """
        yield from complete(runtime, prompt, model, custom_model, max_new_tokens, temperature, top_p, seed,
                            progress_callback(progress))

    generation = serve(generate_button.click, complete_text, [prompt] + settings, [completion], completion_message,
                       api_name="complete", **on_device(runtime))
    # Cancelling closes the stream, which sets the stop signal: the model stops computing too.
    stop_button.click(None, None, None, cancels=[generation])
