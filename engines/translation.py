"""Translation: Opus-MT models for common pairs, M2M100 for any pair among its languages."""
from __future__ import annotations

import json
import re

import torch

from engines import contract
from engines.context import Context
from engines.endpoint import STEPS, Endpoint
from engines.kinds import LOCAL, REMOTE, Engine
from engines.outcome import Outcome, translations_agree
from engines.params import PICKED_MODEL, TYPED_MODEL, OneOf, Text
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from models.ctranslate2_models import Translator
from tasks import specs_for, task

TASK = "translation"
MAX_CHARS = 5_000
MAX_SENTENCE_TOKENS = 256
BATCH_SIZE = 16
BEAMS = 4
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
TEXT = Text("param_text", MAX_CHARS)

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


def opus_model(source: str, target: str) -> str:
    """The Opus-MT model of the pair (the picker's OPUS_MT entry), or a refusal that lists the pairs there are."""
    source_id = opus_pairs().get((source, target))
    if source_id is None:
        pairs = ", ".join(f"{a}→{b}" for a, b in opus_pairs())
        raise refuse("refuse_opus_mt_pair", pairs=pairs, source_name=LANGUAGES[source],
                     target_name=LANGUAGES[target])
    return source_id


def refuse_languages(source: str, target: str, pair: tuple[str, str] | None = None) -> None:
    """Refuses, before any model work, a text to translate into its own language, or (`pair`: the one pair a
    model of one pair translates) a pair that is not the model's."""
    if source == target:
        raise refuse("refuse_same_languages")
    if pair is not None and pair != (source, target):
        raise refuse("refuse_model_lacks_pair", source=source, target=target)


def language_setup(tokenizer, sentences: list[str], source: str, target: str) -> tuple[list[str], str | None]:
    """The sentences as the model expects them, and the token its translation must start with (M2M100's target
    language code), if any."""
    if hasattr(tokenizer, "get_lang_id"):  # M2M100-style: source code on the tokenizer, target as first token
        if source not in tokenizer.lang_code_to_id or target not in tokenizer.lang_code_to_id:
            raise refuse("refuse_model_lacks_pair", source=source, target=target)
        tokenizer.src_lang = source
        return sentences, tokenizer.convert_ids_to_tokens(tokenizer.get_lang_id(target))
    vocab = tokenizer.get_vocab()
    if any(token.startswith(">>") and token.endswith("<<") for token in vocab):  # multi-target Marian
        prefix = MARIAN_TARGET_TOKENS.get(target)
        if prefix not in vocab:
            raise refuse("refuse_no_target_token", target_name=LANGUAGES.get(target, target))
        return [f"{prefix} {sentence}" for sentence in sentences], None
    return sentences, None


def _encoded(tokenizer, prepared: list[str], max_positions: int) -> tuple[dict, int]:
    """The batch as the tokenizer encodes it, and its longest sentence's token count; refused beyond the limit."""
    sentence_limit = min(MAX_SENTENCE_TOKENS, max_positions)
    batch = tokenizer(prepared, return_tensors="pt", padding=True)
    longest = int(batch["attention_mask"].sum(dim=1).max())
    if longest > sentence_limit:
        raise refuse("refuse_sentence_too_long", tokens=longest, max_tokens=sentence_limit)
    return batch, longest


def _decoded(tokenizer, rows: list[list[int]]) -> list[str]:
    # M2M100's language codes are not always marked special; they must not show in the text.
    language_ids = set(getattr(tokenizer, "lang_code_to_id", {}).values())
    decoded = tokenizer.batch_decode([[i for i in row if i not in language_ids] for row in rows],
                                     skip_special_tokens=True)
    return [t.strip() for t in decoded]


def _output_bound(longest: int, max_positions: int) -> int:
    """Bounded by the input (no runaway output) and by the decoder's position table."""
    return min(3 * longest + 16, max_positions - 1)


def translate_batch(seq2seq, prepared: list[str], target_token: str | None, max_seconds: float) -> list[str]:
    """On PyTorch: beam search, stopped at `max_seconds`."""
    tokenizer, model = seq2seq.tokenizer, seq2seq.model
    positions = getattr(model.config, "max_position_embeddings", 512)
    batch, longest = _encoded(tokenizer, prepared, positions)
    language = {} if target_token is None else {"forced_bos_token_id": tokenizer.convert_tokens_to_ids(target_token)}
    with torch.inference_mode():
        output = model.generate(**batch.to(model.device), num_beams=BEAMS,
                                max_new_tokens=_output_bound(longest, positions), max_time=max_seconds, **language)
    return _decoded(tokenizer, output.tolist())


def translate_batch_ctranslate2(translator: Translator, prepared: list[str], target_token: str | None,
                                max_seconds: float) -> list[str]:
    """On CTranslate2: the same beam search on the same tokens (a batch runs whole: BATCH_SIZE bounds it)."""
    tokenizer = translator.tokenizer
    batch, longest = _encoded(tokenizer, prepared, translator.max_positions)
    sources = [tokenizer.convert_ids_to_tokens([i for i, kept in zip(row, mask) if kept])
               for row, mask in zip(batch["input_ids"].tolist(), batch["attention_mask"].tolist())]
    results = translator.translate(
        sources, beam_size=BEAMS, max_decoding_length=_output_bound(longest, translator.max_positions),
        max_input_length=0, target_prefix=None if target_token is None else [[target_token]] * len(sources))
    return _decoded(tokenizer, [tokenizer.convert_tokens_to_ids(result.hypotheses[0]) for result in results])


def translate_sentences(runtime: ModelRuntime, seq2seq, sentences: list[str], source: str, target: str,
                        context: Context) -> list[str]:
    """Batch by batch, each on a torch thread (other tabs' requests take their turns in between), within the
    request's time: past it, refused in plain words rather than cut."""
    prepared, target_token = language_setup(seq2seq.tokenizer, sentences, source, target)
    forward = translate_batch_ctranslate2 if isinstance(seq2seq, Translator) else translate_batch
    translations = []
    for start in range(0, len(prepared), BATCH_SIZE):
        left = context.left()
        if left <= 0:
            raise refuse("refuse_out_of_time_sentences", seconds=context.timeout_s, done=len(translations),
                         total=len(prepared))
        translations += runtime.torch_threads.run(forward, seq2seq, prepared[start:start + BATCH_SIZE],
                                                  target_token, left)
    return translations


class TranslationHere(Engine):
    kind = LOCAL

    def translate(self, text: str, source: str, target: str, context: Context) -> str:
        """The text translated sentence batch by sentence batch, its line breaks kept."""
        seq2seq = self.runtime.load(self.spec, context)
        lines = split_text(text)
        sentences = [sentence for line in lines for sentence in line]
        return join_text(lines, translate_sentences(self.runtime, seq2seq, sentences, source, target, context),
                         target)


class TranslationRemote(Engine):
    kind = REMOTE

    def translate(self, text: str, source: str, target: str, context: Context) -> str:
        """The text translated by the engine's one model, whole."""
        return self.backend.call(lambda client: str(client.translation(text, src_lang=source, tgt_lang=target)
                                                    .translation_text), context.progress, context.deadline)


KINDS = {LOCAL: TranslationHere, REMOTE: TranslationRemote}


def default_model(runtime: ModelRuntime) -> str:
    """What the tab picks first: the operator's --model, else Opus-MT's model of the pair."""
    return runtime.default(TASK).name if TASK in runtime.settings.model_overrides else OPUS_MT


def translate_text(runtime: ModelRuntime, text: str, source: str, target: str, model: str = OPUS_MT,
                   custom_model: str | None = None, context: Context | None = None) -> str:
    """Translate a text from one language to another, keeping its line breaks.

    Args:
        text: the text to translate, at most 5,000 characters.
        source: source language code, e.g. "en".
        target: target language code, e.g. "zh".
        model: "opus-mt" for the Opus-MT model of the pair, or a listed model id such as facebook/m2m100_418M.
        custom_model: optional Hugging Face id of another translation model.
    """
    context = runtime.context(context)
    refuse_languages(source, target)
    if model == OPUS_MT and not (custom_model or "").strip():
        # A remote engine's one model translates the whole text: no model of a pair is picked here.
        model = opus_model(source, target) if runtime.kind(TASK) == LOCAL else None
    engine = runtime.engine(TASK, model, custom_model)  # (a remote engine's tab refuses typed-in ids)
    return runtime.remembered(engine.spec, ("translate", text, source, target),
                              lambda: engine.translate(text, source, target, context))


# Short (a random-weight translator writes until its length bound), and English → Chinese: the load test's tiny
# Marian model is an en-zh one.
ENDPOINTS = (Endpoint("translate", translate_text, TASK,
                      {"text": TEXT, "source": OneOf("param_source_language", tuple(LANGUAGES)),
                       "target": OneOf("param_target_language", tuple(LANGUAGES)), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL},
                      run=STEPS, sample=lambda model: ("Good morning.", "en", "zh", model, ""),
                      reads=Outcome, agreement=translations_agree),)

MEDIA_INPUTS = False


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's translation: [{translation_text}] for `inputs`, the tab's own text, from `src_lang` to
    `tgt_lang` (codes of the tab's languages; a model of one pair takes its own pair when they are left out). A
    pair the model lacks is refused in the tab's words."""
    engine = runtime.engine(TASK)
    source, target = engine.spec.pair or (None, None)
    text = TEXT.check(request.inputs)
    source, target = contract.checked(ENDPOINTS[0], {"src_lang": source, "tgt_lang": target, **request.parameters},
                                      {"source": "src_lang", "target": "tgt_lang"})
    refuse_languages(source, target, engine.spec.pair)
    return [{"translation_text": engine.translate(text, source, target, context)}]
