"""Translation and chat models on CTranslate2: int8 on a CPU (several times PyTorch's speed there: README, How fast),
float16 on a GPU it can use. A Hub checkpoint of an architecture it runs is converted once, by CTranslate2's own
converter, into a folder beside the Hub cache; a folder already in its format loads as it is. Whisper's loader, which
faster-whisper wraps, is models/ctranslate2_whisper.py."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.torch_threads import openmp_default_policy

# CTranslate2 keeps a model's weights in one file of its own flat tensor format: read by its C++ loader, not a
# pickle, so nothing in it runs. PyTorch's pickles are named pytorch_model.bin, never this.
CTRANSLATE2_WEIGHTS = "model.bin"
# The converted folder keeps the checkpoint's own config under this name (CTranslate2 writes a config.json of its
# own): the context length and the end tokens are read from it.
TRANSFORMERS_CONFIG = "transformers_config.json"
# The architectures converted, each tried on a tiny model in the tests; others stay on PyTorch.
CONVERTED_ARCHITECTURES = ("MarianMTModel", "M2M100ForConditionalGeneration", "Qwen2ForCausalLM", "LlamaForCausalLM",
                           "GPT2LMHeadModel")
FORMAT_VERSION = "1"  # part of a converted folder's name: a change to how folders are made here makes new ones

log = logging.getLogger(__name__)


def import_ctranslate2():
    """ctranslate2, whose own libgomp reads OpenMP's settings as it loads (models/torch_threads.py says which)."""
    with openmp_default_policy():
        import ctranslate2
    return ctranslate2


def is_ctranslate2_dir(directory: Path) -> bool:
    return (directory / CTRANSLATE2_WEIGHTS).is_file()


def _architectures(model_dir: Path) -> list[str]:
    try:
        architectures = json.loads((model_dir / "config.json").read_text("utf-8")).get("architectures")
    except (OSError, ValueError, AttributeError):
        return []
    return [a for a in architectures or [] if isinstance(a, str)]


def converts(model_dir: Path) -> bool:
    """Whether the checkpoint is of an architecture converted here (and not in CTranslate2's format already)."""
    return not is_ctranslate2_dir(model_dir) and any(a in CONVERTED_ARCHITECTURES for a in _architectures(model_dir))


def on_gpu(device: str) -> bool:
    return device.startswith("cuda") and import_ctranslate2().get_cuda_device_count() > 0


def conversions_dir() -> Path:
    """Beside the Hub cache (~/.cache/huggingface/ctranslate2 by default)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE).parent / "ctranslate2"


def _fingerprint(model_dir: Path) -> str:
    """The checkpoint's files (names, sizes, times): a Hub snapshot's folder is its commit; a local one may change."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\n{model_dir.resolve()}".encode())
    for path in sorted(model_dir.iterdir()):
        if path.is_file():
            stat = path.stat()
            digest.update(f"\n{path.name} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def converted_dir(model_dir: Path, name: str, device: str) -> Path:
    """The checkpoint in CTranslate2's format: converted now (int8 weights for a CPU, float16 for a GPU) unless it
    was before. Written to a temporary folder and renamed, so a conversion cut short leaves nothing half made."""
    quantization = "float16" if on_gpu(device) else "int8"
    target = conversions_dir() / "".join(c if c.isalnum() or c in "-_." else "--" for c in name) / \
        f"{_fingerprint(model_dir)}-{quantization}"
    if is_ctranslate2_dir(target):
        return target
    import_ctranslate2()
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoTokenizer

    _read_m2m100_vocabulary_by_ids()
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        TransformersConverter(str(model_dir), low_cpu_mem_usage=True, trust_remote_code=False).convert(
            str(partial), quantization=quantization, force=True)
        AutoTokenizer.from_pretrained(model_dir).save_pretrained(partial)
        shutil.copyfile(model_dir / "config.json", partial / TRANSFORMERS_CONFIG)
        if (model_dir / "generation_config.json").is_file():
            shutil.copyfile(model_dir / "generation_config.json", partial / "generation_config.json")
        try:
            partial.rename(target)
        except OSError:  # another process made it meanwhile
            if not is_ctranslate2_dir(target):
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log.info("converted %s to CTranslate2 (%s) in %s", name, quantization, target)
    return target


def _read_m2m100_vocabulary_by_ids() -> None:
    """CTranslate2's M2M100 converter reads the vocabulary from `get_vocab()`, which in transformers 5 lacks the
    __xx__ language codes: the converted model then refuses its own size. The vocabulary, id by id, is what the
    embedding rows are."""
    from ctranslate2.converters import transformers as converters

    class M2M100ByIds(converters.M2M100Loader):
        def get_vocabulary(self, model, tokenizer):
            tokens = tokenizer.convert_ids_to_tokens(list(range(model.config.vocab_size)))
            return [token if token is not None else f"madeupword{i}" for i, token in enumerate(tokens)]

    converters.register_loader("M2M100Config")(M2M100ByIds)


def _config(model_dir: Path, name: str) -> dict:
    try:
        return json.loads((model_dir / name).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _ids(value) -> list[int]:
    return [] if value is None else [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int)]


def open_on_device(make, model_dir: Path, device: str) -> tuple[Any, str]:
    """`make(path, device, compute_type, threads)`'s model and its precision as the Models tab shows it: float16
    on a CUDA GPU it can use, else int8 on the CPU on as many threads as torch's."""
    import torch

    if on_gpu(device):
        try:
            return make(str(model_dir), "cuda", "float16", 0), "float16 · CTranslate2"
        except (RuntimeError, ValueError) as error:  # e.g. the CUDA libraries it was built for are missing
            log.warning("CTranslate2 cannot use the GPU (%s); the model runs on the CPU", error)
    return make(str(model_dir), "cpu", "int8", torch.get_num_threads()), "int8 · CTranslate2"


@dataclass(eq=False)  # a loaded model: one is equal to itself only (and so can be a key)
class Translator:
    """A translation model on CTranslate2 and the checkpoint's tokenizer."""

    translator: Any  # ctranslate2.Translator
    tokenizer: Any
    max_positions: int
    precision: str
    memory_bytes: int

    def translate(self, sources: list[list[str]], **options) -> list:
        """CTranslate2's translate_batch: the sentences' tokens in, ctranslate2.TranslationResult out."""
        return self.translator.translate_batch(sources, **options)


@dataclass(eq=False)
class Generator:
    """A language model on CTranslate2, the checkpoint's tokenizer and what ends or is never in its text."""

    generator: Any  # ctranslate2.Generator
    tokenizer: Any
    context_length: int
    end_tokens: list[str]
    suppressed_tokens: list[str]  # the generation config's suppress_tokens, as PyTorch's generate() honours them
    precision: str
    memory_bytes: int
    tokens_generated: int = field(default=0)  # over the model's life, as models.hf.CausalLM counts them

    @property
    def is_chat(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def generate(self, prompt: list[str], on_token: Callable[[Any], bool], **options) -> None:
        """The model's continuation of `prompt` (tokens), handed token by token to `on_token` (a
        ctranslate2.GenerationStepResult), which ends it by returning True; ends and never-generated tokens are
        the checkpoint's."""
        self.generator.generate_batch(
            [prompt], beam_size=1, include_prompt_in_result=False, end_token=self.end_tokens or None,
            suppress_sequences=[[token] for token in self.suppressed_tokens] or None, callback=on_token, **options)


def load_translator(model_dir: Path, device: str) -> Translator:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    translator, precision = open_on_device(
        lambda path, on, compute, threads: import_ctranslate2().Translator(path, device=on, compute_type=compute,
                                                                  intra_threads=threads), model_dir, device)
    max_positions = _config(model_dir, TRANSFORMERS_CONFIG).get("max_position_embeddings")
    return Translator(translator, tokenizer, max_positions if isinstance(max_positions, int) else 512, precision,
                      (model_dir / CTRANSLATE2_WEIGHTS).stat().st_size)


def load_generator(model_dir: Path, device: str) -> Generator:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    generator, precision = open_on_device(
        lambda path, on, compute, threads: import_ctranslate2().Generator(path, device=on, compute_type=compute,
                                                                 intra_threads=threads), model_dir, device)
    config, generation = _config(model_dir, TRANSFORMERS_CONFIG), _config(model_dir, "generation_config.json")
    context_length = config.get("max_position_embeddings") or config.get("n_positions") or 2048
    end_ids = {*_ids(tokenizer.eos_token_id), *_ids(generation.get("eos_token_id"))}
    return Generator(generator, tokenizer, int(context_length), tokenizer.convert_ids_to_tokens(sorted(end_ids)),
                     tokenizer.convert_ids_to_tokens(_ids(generation.get("suppress_tokens"))), precision,
                     (model_dir / CTRANSLATE2_WEIGHTS).stat().st_size)
