"""A chat model in a GGUF file, run in this process by llama.cpp (its Python binding, llama-cpp-python: an optional
extra, which builds llama.cpp from source in about 5 minutes on 2 cores). Its 4-bit weights read half the bytes of
CTranslate2's int8 ones, which is what decoding a token on a CPU waits for (README, How fast).

The chat tab's engine works with a tokenizer's interface (chat template, ids, decoding), so the loaded model
carries one that speaks llama.cpp's: the GGUF's own tokenizer and chat template."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import ModelLoadError

GGUF_WEIGHTS = "*.gguf"  # llama.cpp's flat tensor format, read by its C loader: nothing in it runs
MAX_CONTEXT, DEFAULT_CONTEXT = 8192, 2048


def gguf_file(directory: Path) -> Path | None:
    """The directory's one GGUF file, if that is what it holds."""
    found = sorted(directory.glob(GGUF_WEIGHTS))
    return found[0] if len(found) == 1 else None


class GgufTokenizer:
    """What the chat tab asks of a tokenizer, answered by llama.cpp from the GGUF."""

    def __init__(self, llm: Any):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llm = llm
        template = llm.metadata.get("tokenizer.chat_template")
        self.chat_template = template
        piece = lambda token: llm.detokenize([token], special=True).decode("utf-8", "replace")  # noqa: E731
        self._format = Jinja2ChatFormatter(template, piece(llm.token_eos()), piece(llm.token_bos())) \
            if template else None

    def __call__(self, text: str, return_tensors: str = "pt") -> dict:
        import torch

        return {"input_ids": torch.tensor([self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)])}

    def apply_chat_template(self, messages: list[dict], **_) -> dict:
        import torch

        formatted = self._format(messages=messages)
        ids = self.llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
        return {"input_ids": torch.tensor([ids])}

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self.llm.detokenize(ids, special=not skip_special_tokens).decode("utf-8", "replace")


@dataclass(eq=False)
class LlamaCppModel:
    llm: Any  # llama_cpp.Llama
    tokenizer: GgufTokenizer
    context_length: int
    end_ids: set[int]  # end of sequence, end of turn
    precision: str
    memory_bytes: int
    tokens_generated: int = field(default=0)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one llama.cpp context: one generation at a time

    @property
    def is_chat(self) -> bool:
        return bool(self.tokenizer.chat_template)


def load_llama_cpp(gguf: Path, device: str) -> LlamaCppModel:
    """The GGUF on llama.cpp, on the CPU with as many threads as torch's, its context as long as it was trained
    for, at most MAX_CONTEXT tokens (its cache grows with it)."""
    import torch

    try:
        from llama_cpp import Llama
    except ImportError as error:
        raise ModelLoadError("load_needs_llama_cpp", name=gguf.name) from error
    header = Llama(model_path=str(gguf), vocab_only=True, verbose=False)  # its metadata, without the weights
    trained = header.metadata.get(f"{header.metadata.get('general.architecture', '')}.context_length", "")
    header.close()
    context = min(int(trained), MAX_CONTEXT) if str(trained).isdigit() else DEFAULT_CONTEXT
    llm = Llama(model_path=str(gguf), n_ctx=context, n_threads=torch.get_num_threads(), verbose=False)
    ends = {llm.token_eos(), *(int(v) for k, v in llm.metadata.items()
                                if k in ("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id") and v.isdigit())}
    return LlamaCppModel(llm, GgufTokenizer(llm), llm.n_ctx(), ends, "GGUF · llama.cpp", gguf.stat().st_size)
