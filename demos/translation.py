"""Translation: Opus-MT models for common pairs, M2M100 for any pair among its languages."""
from __future__ import annotations

import json
import re
import time

import gradio as gr
import torch

from demos.common import choice, custom_model_field, refuse
from demos.endpoints import STEPS, Endpoint, message_area, serve
from demos.i18n import ui_text
from demos.params import PICKED_MODEL, TYPED_MODEL, OneOf, Text
from models.runtime import ModelRuntime
from tasks import specs_for, task

TASK = "translation"
RUN_BUTTON = "translation_run"  # the catalog key of the button that runs it
RESULT = "#translation-output"  # where its result shows (a CSS selector)
MAX_CHARS = 5_000
MAX_SENTENCE_TOKENS = 256
BATCH_SIZE = 16
OPUS_MT = "opus-mt"  # the picker's entry for "the Opus-MT model of the chosen pair"
LANGUAGES = {
    "en": "English", "de": "German", "fr": "French", "zh": "Chinese", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "ru": "Russian", "uk": "Ukrainian", "pl": "Polish", "ja": "Japanese",
    "ko": "Korean", "ar": "Arabic", "hi": "Hindi", "tr": "Turkish", "vi": "Vietnamese", "sv": "Swedish",
}
# Multi-target Marian models need the target language as a first token; these are the ones we know.
MARIAN_TARGET_TOKENS = {"zh": ">>cmn_Hans<<"}
NO_SPACE_LANGUAGES = {"zh", "ja"}  # their sentences are joined without spaces
EXAMPLES = json.loads(task(TASK).example_files()[0].read_text("utf-8"))["examples"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


def split_text(text: str) -> list[list[str]]:
    """Lines, each a list of its sentences (an empty list for a blank line)."""
    return [[s.strip() for s in _SENTENCE_END.split(line.rstrip("\r")) if s.strip()] for line in text.split("\n")]


def join_text(lines: list[list[str]], translations: list[str], target: str) -> str:
    """Put translated sentences back in their lines, keeping the original line breaks."""
    separator = "" if target in NO_SPACE_LANGUAGES else " "
    pieces = iter(translations)
    return "\n".join(separator.join(next(pieces) for _ in line) for line in lines)


def opus_pairs() -> dict[tuple[str, str], str]:
    return {spec.pair: spec.source for spec in specs_for(TASK) if spec.pair}


def language_setup(tokenizer, sentences: list[str], source: str, target: str) -> tuple[list[str], dict]:
    """The sentences as the model expects them, and the generate() arguments that pick the target language."""
    if hasattr(tokenizer, "get_lang_id"):  # M2M100-style: source code on the tokenizer, target as first token
        if source not in tokenizer.lang_code_to_id or target not in tokenizer.lang_code_to_id:
            raise refuse("refuse_model_lacks_pair", source=source, target=target)
        tokenizer.src_lang = source
        return sentences, {"forced_bos_token_id": tokenizer.get_lang_id(target)}
    vocab = tokenizer.get_vocab()
    if any(token.startswith(">>") and token.endswith("<<") for token in vocab):  # multi-target Marian
        prefix = MARIAN_TARGET_TOKENS.get(target)
        if prefix not in vocab:
            raise refuse("refuse_no_target_token", target_name=LANGUAGES.get(target, target))
        return [f"{prefix} {sentence}" for sentence in sentences], {}
    return sentences, {}


def translate_batch(seq2seq, prepared: list[str], language_kwargs: dict, max_seconds: float) -> list[str]:
    tokenizer, model = seq2seq.tokenizer, seq2seq.model
    # M2M100's language codes are not always marked special; they must not show in the text.
    language_ids = set(getattr(tokenizer, "lang_code_to_id", {}).values())
    positions = getattr(model.config, "max_position_embeddings", 512)
    sentence_limit = min(MAX_SENTENCE_TOKENS, positions)
    batch = tokenizer(prepared, return_tensors="pt", padding=True)
    longest = int(batch["attention_mask"].sum(dim=1).max())
    if longest > sentence_limit:
        raise refuse("refuse_sentence_too_long", tokens=longest, max_tokens=sentence_limit)
    with torch.inference_mode():
        output = model.generate(
            **batch.to(model.device),
            num_beams=4,
            # bounded by the input (no runaway output) and by the decoder's position table
            max_new_tokens=min(3 * longest + 16, positions - 1),
            max_time=max_seconds,
            **language_kwargs,
        )
    decoded = tokenizer.batch_decode([[i for i in row if i not in language_ids] for row in output.tolist()],
                                     skip_special_tokens=True)
    return [t.strip() for t in decoded]


def translate_sentences(runtime: ModelRuntime, seq2seq, sentences: list[str], source: str, target: str) -> list[str]:
    """Batch by batch, each on a torch thread (other tabs' requests take their turns in between), within the
    request's time: past it, refused in plain words rather than cut."""
    timeout = runtime.settings.request_timeout_s
    deadline = time.monotonic() + timeout
    prepared, language_kwargs = language_setup(seq2seq.tokenizer, sentences, source, target)
    translations = []
    for start in range(0, len(prepared), BATCH_SIZE):
        left = deadline - time.monotonic()
        if left <= 0:
            raise refuse("refuse_out_of_time_sentences", seconds=timeout, done=len(translations),
                         total=len(prepared))
        translations += runtime.torch_threads.run(translate_batch, seq2seq, prepared[start:start + BATCH_SIZE],
                                                  language_kwargs, left)
    return translations


def translate_text(runtime: ModelRuntime, text: str, source: str, target: str, model: str = OPUS_MT,
                   custom_model: str | None = None, progress=None) -> str:
    """Translate a text from one language to another, keeping its line breaks.

    Args:
        text: the text to translate, at most 5,000 characters.
        source: source language code, e.g. "en".
        target: target language code, e.g. "zh".
        model: "opus-mt" for the Opus-MT model of the pair, or a listed model id such as facebook/m2m100_418M.
        custom_model: optional Hugging Face id of another translation model.
    """
    if source == target:
        raise refuse("refuse_same_languages")
    backend = runtime.remote(TASK)
    if backend is not None:  # the engine's one model translates the whole text: no model of a pair is picked here
        runtime.spec(TASK, None if model == OPUS_MT else model, custom_model)  # typed-in ids are refused
        return backend.call(lambda client: str(client.translation(text, src_lang=source, tgt_lang=target)
                                               .translation_text), progress)
    if model == OPUS_MT and not (custom_model or "").strip():
        source_id = opus_pairs().get((source, target))
        if source_id is None:
            pairs = ", ".join(f"{a}→{b}" for a, b in opus_pairs())
            raise refuse("refuse_opus_mt_pair", pairs=pairs, source_name=LANGUAGES[source],
                         target_name=LANGUAGES[target])
        model = source_id
    spec = runtime.spec(TASK, model, custom_model)
    return runtime.remembered(spec, ("translate", text, source, target),
                              lambda: translation_here(runtime, spec, text, source, target, progress))


def translation_here(runtime: ModelRuntime, spec, text: str, source: str, target: str, progress=None) -> str:
    """The text translated by the model in this process, sentence batch by sentence batch, its line breaks kept."""
    seq2seq = runtime.load(spec, progress)
    lines = split_text(text)
    sentences = [sentence for line in lines for sentence in line]
    return join_text(lines, translate_sentences(runtime, seq2seq, sentences, source, target), target)


# Short (a random-weight translator writes until its length bound), and English → Chinese: the load test's tiny
# Marian model is an en-zh one.
ENDPOINTS = (Endpoint("translate", translate_text, TASK,
                      {"text": Text("param_text", MAX_CHARS),
                       "source": OneOf("param_source_language", tuple(LANGUAGES)),
                       "target": OneOf("param_target_language", tuple(LANGUAGES)), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL},
                      run=STEPS, sample=lambda model: ("Good morning.", "en", "zh", model, "")),)


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
    if runtime.remote(TASK) is None:
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
