"""Loaders for Hugging Face transformers models. transformers is imported here only, on first load.

Every loader takes (spec, local path, device, dtype); these need the path, and the spec only to name the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.ctranslate2_models import Generator, Translator, is_ctranslate2_dir, load_generator, load_translator
from models.ctranslate2_whisper import load_faster_whisper
from models.errors import ModelLoadError
from models.llama_cpp_models import LlamaCppModel, gguf_file, load_llama_cpp

if TYPE_CHECKING:
    import torch

ENTITY_GROUPING = "simple"  # the pipeline's aggregation: word pieces and B-/I- tags merged into whole entities


def load_token_classification(spec, model_dir: Path, device: str, dtype: torch.dtype):
    """A token-classification pipeline that groups word pieces into whole entities."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if not tokenizer.is_fast:  # entities are placed in the text by a fast tokenizer's character offsets
        raise ModelLoadError("load_no_fast_tokenizer", name=spec.name)
    model = AutoModelForTokenClassification.from_pretrained(model_dir, dtype=dtype, trust_remote_code=False)
    # Some tokenizers declare no length limit; the position table is the real one, and striding needs it.
    max_positions = getattr(model.config, "max_position_embeddings", None)
    if max_positions and tokenizer.model_max_length > max_positions:
        tokenizer.model_max_length = max_positions
    return pipeline(
        "token-classification",
        model=model.eval(),
        tokenizer=tokenizer,
        aggregation_strategy=ENTITY_GROUPING,
        device=device,
    )


@dataclass
class TextClassifier:
    model: Any
    tokenizer: Any

    @property
    def labels(self) -> list[str]:
        return [self.model.config.id2label[i] for i in range(self.model.config.num_labels)]


def load_text_classification(spec, model_dir: Path, device: str, dtype: torch.dtype) -> TextClassifier:
    """A sequence classifier (sentiment: BERT, DistilBERT...) and its tokenizer; the caller runs the forward."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=dtype, trust_remote_code=False)
    return TextClassifier(model.to(device).eval(), tokenizer)


@dataclass
class Seq2Seq:
    model: Any
    tokenizer: Any


def load_seq2seq(spec, model_dir: Path, device: str, dtype: torch.dtype) -> Seq2Seq | Translator:
    """An encoder-decoder (Marian, M2M100...) and its tokenizer, on CTranslate2 where the directory is in its
    format (models/ctranslate2_models.py), else on PyTorch (the caller runs generate())."""
    if is_ctranslate2_dir(model_dir):
        return load_translator(model_dir, device)
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, dtype=dtype, trust_remote_code=False)
    return Seq2Seq(model.to(device).eval(), tokenizer)


@dataclass
class CausalLM:
    model: Any
    tokenizer: Any
    tokens_generated: int = 0  # over the model's life: lets tests and benchmarks see what really ran

    @property
    def is_chat(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def context_length(self) -> int:
        config = self.model.config
        return getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None) or 2048


def load_causal_lm(spec, model_dir: Path, device: str, dtype: torch.dtype) -> CausalLM | Generator | LlamaCppModel:
    """A decoder-only language model and its tokenizer: on CTranslate2 where the directory is in its format, on
    llama.cpp where it holds one GGUF file (models/llama_cpp_models.py), else on PyTorch (the caller runs
    generate())."""
    if is_ctranslate2_dir(model_dir):
        return load_generator(model_dir, device)
    if (gguf := gguf_file(model_dir)) is not None:
        return load_llama_cpp(gguf, device)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, trust_remote_code=False)
    return CausalLM(model.to(device).eval(), tokenizer)


def load_speech_recognition(spec, model_dir: Path, device: str, dtype: torch.dtype):
    """Whisper on CTranslate2 (a directory in its format: models/ctranslate2_whisper.py), or else an
    automatic-speech-recognition pipeline: Whisper (seq2seq) or wav2vec2-style CTC."""
    if is_ctranslate2_dir(model_dir):
        return load_faster_whisper(model_dir, device)
    from transformers import (
        AutoConfig,
        AutoFeatureExtractor,
        AutoModelForCTC,
        AutoModelForSpeechSeq2Seq,
        AutoTokenizer,
        pipeline,
    )

    config = AutoConfig.from_pretrained(model_dir)
    model_class = AutoModelForSpeechSeq2Seq if config.is_encoder_decoder else AutoModelForCTC
    model = model_class.from_pretrained(model_dir, dtype=dtype, trust_remote_code=False)
    return pipeline(
        "automatic-speech-recognition",
        model=model.eval(),
        tokenizer=AutoTokenizer.from_pretrained(model_dir),
        feature_extractor=AutoFeatureExtractor.from_pretrained(model_dir),
        device=device,
    )
