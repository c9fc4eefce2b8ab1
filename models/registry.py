"""The registry: every model the hub offers, one flat table. The UI, --download and --preload read it."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

# Task key -> the name shown to people. A task is listed here once its tab really exists.
TASKS = {
    "ner": "Named-entity recognition",
    "translation": "Translation",
    "text_generation": "Text generation",
    "image_classification": "Image classification",
    "speech_to_text": "Speech to text",
    "gan": "GAN sampling",
    "pix2pix": "pix2pix image-to-image",
    "image_editing": "Text-guided image editing",
}

# Sources "assets:<name>": weights this project trained itself, in assets/weights/<name>; they work offline.
BUNDLED = "assets:"
# How clients see an operator's --model directory: "local:<folder name>", never its path on the server.
LOCAL = "local:"
# Sources "torchvision:<architecture>:<weights>": weights from download.pytorch.org, kept in torch's hub cache.
TORCHVISION = "torchvision:"


@dataclass(frozen=True)
class ModelSpec:
    task: str
    source: str  # a Hugging Face Hub id, or a local directory (only from the command line)
    label: str  # what the model picker shows
    loader: str  # key of models.loaders.LOADERS
    size_mb: int = 0  # approximate download size, for the UI and the memory budget
    revision: str | None = None
    # Trusted sources (our table, the operator's --model) may fall back to pickle weights; ids typed
    # into the UI may not.
    trusted: bool = True
    default: bool = False
    pair: tuple[str, str] | None = None  # translation models made for one (source, target) language pair
    gpu_recommended: bool = False  # minutes per request on a CPU: not preloaded there, and the UI says so
    public_name: str = ""  # what clients see and send instead of the source, where the source is a server path

    @property
    def bundled(self) -> bool:
        return self.source.startswith(BUNDLED)

    @property
    def name(self) -> str:
        """The model as clients see it (pickers, API choices, messages) and name it in requests."""
        return self.public_name or self.source


MODEL_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        task="ner",
        source="dslim/bert-base-NER",
        label="BERT base NER · English",
        loader="token_classification",
        size_mb=430,
        default=True,
    ),
    ModelSpec(
        task="ner",
        source="Davlan/bert-base-multilingual-cased-ner-hrl",
        label="mBERT NER · 10 languages",
        loader="token_classification",
        size_mb=710,
    ),
    *(
        ModelSpec(
            task="translation",
            source=f"Helsinki-NLP/opus-mt-{src}-{tgt}",
            label=f"Opus-MT {src}→{tgt}",
            loader="seq2seq",
            size_mb=300,
            default=(src, tgt) == ("en", "de"),
            pair=(src, tgt),
        )
        for src, tgt in [("en", "de"), ("de", "en"), ("en", "zh"), ("zh", "en"), ("en", "fr"), ("fr", "en")]
    ),
    ModelSpec(
        task="translation",
        source="facebook/m2m100_418M",
        label="M2M100 418M · any pair",
        loader="seq2seq",
        size_mb=1940,
    ),
    ModelSpec(
        task="text_generation",
        source="Qwen/Qwen2.5-0.5B-Instruct",
        label="Qwen2.5 0.5B chat · en, zh",
        loader="causal_lm",
        size_mb=990,
        default=True,
    ),
    ModelSpec(
        task="text_generation",
        source="HuggingFaceTB/SmolLM2-360M-Instruct",
        label="SmolLM2 360M chat · en",
        loader="causal_lm",
        size_mb=720,
    ),
    ModelSpec(
        task="text_generation",
        source="distilbert/distilgpt2",
        label="DistilGPT-2 · completion only",
        loader="causal_lm",
        size_mb=350,
    ),
    ModelSpec(
        task="image_classification",
        source="torchvision:resnet50:IMAGENET1K_V2",
        label="ResNet-50 · 80.9% top-1",
        loader="image_classifier",
        size_mb=98,
        default=True,
    ),
    ModelSpec(
        task="image_classification",
        source="torchvision:mobilenet_v3_large:IMAGENET1K_V2",
        label="MobileNet V3 · 75.3% top-1",
        loader="image_classifier",
        size_mb=21,
    ),
    ModelSpec(
        task="image_classification",
        source="google/vit-base-patch16-224",
        label="ViT-Base/16 · Hugging Face",
        loader="image_classifier",
        size_mb=346,
    ),
    ModelSpec(
        task="speech_to_text",
        source="openai/whisper-base",
        label="Whisper base · 99 languages",
        loader="speech_recognition",
        size_mb=290,
        default=True,
    ),
    ModelSpec(
        task="speech_to_text",
        source="openai/whisper-tiny",
        label="Whisper tiny · fastest",
        loader="speech_recognition",
        size_mb=150,
    ),
    ModelSpec(
        task="speech_to_text",
        source="openai/whisper-small",
        label="Whisper small · more accurate",
        loader="speech_recognition",
        size_mb=970,
    ),
    ModelSpec(
        task="speech_to_text",
        source="facebook/wav2vec2-base-960h",
        label="wav2vec 2.0 · English only",
        loader="speech_recognition",
        size_mb=360,
    ),
    ModelSpec(
        task="gan",
        source="huggan/dcgan-mnist",
        label="DCGAN · MNIST digits",
        loader="dcgan",
        size_mb=14,
        default=True,
    ),
    ModelSpec(
        task="gan",
        source=f"{BUNDLED}dcgan-digits",
        label="DCGAN · our digits, offline",
        loader="dcgan",
        size_mb=4,
    ),
    *(
        ModelSpec(
            task="pix2pix",
            source=f"huggan/pix2pix-{name}",
            label=f"pix2pix · {label}",
            loader="pix2pix",
            size_mb=218,
            default=name == "edge2shoes",
        )
        for name, label in [("edge2shoes", "shoe edges → shoe photo"), ("maps", "map → aerial photo"),
                            ("night2day", "night → day")]
    ),
    ModelSpec(
        task="pix2pix",
        source=f"{BUNDLED}pix2pix-scenes",
        label="pix2pix · our scenes, offline",
        loader="pix2pix",
        size_mb=14,
    ),
    ModelSpec(
        task="image_editing",
        source="timbrooks/instruct-pix2pix",
        label="InstructPix2Pix · SD 1.5",
        loader="instruct_pix2pix",
        size_mb=4300,
        default=True,
        gpu_recommended=True,
    ),
)

# The file name each torchvision source of ours has in torch's hub cache (the last part of its download URL), so
# that the command line can tell whether it is downloaded without importing torchvision. A test holds it to
# torchvision's own URLs.
TORCHVISION_CHECKPOINTS = {
    "torchvision:resnet50:IMAGENET1K_V2": "resnet50-11ad3fa6.pth",
    "torchvision:mobilenet_v3_large:IMAGENET1K_V2": "mobilenet_v3_large-5c1a4163.pth",
}

# owner/name, as the Hub spells repository ids; no "..", no leading "/" or "~", no scheme.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def is_hub_id(text: str) -> bool:
    return bool(_HUB_ID.match(text)) and ".." not in text


def is_local_path(source: str) -> bool:
    """Whether an operator's --model source means a place on this machine rather than a Hub id."""
    return source.startswith((".", "/", "~")) or Path(source).expanduser().exists()


def download_size(megabytes: int) -> str:
    """A table size as people read it: "430 MB", "4.3 GB"."""
    return f"{megabytes / 1000:.1f} GB" if megabytes >= 1000 else f"{megabytes} MB"


def example_hub_id(task: str) -> str:
    """A Hub id of the task's kind, to show how a typed-in id looks."""
    return next(spec.source for spec in MODEL_SPECS if spec.task == task and is_hub_id(spec.source))


def specs_for(task: str) -> list[ModelSpec]:
    return [spec for spec in MODEL_SPECS if spec.task == task]


def default_spec(task: str) -> ModelSpec:
    return next(spec for spec in specs_for(task) if spec.default)


def override_spec(task: str, source: str) -> ModelSpec:
    """The operator's `--model TASK=SOURCE`: a hub id or a local directory, trusted like our own table."""
    public_name = f"{LOCAL}{Path(source).expanduser().resolve().name}" if is_local_path(source) else ""
    base = default_spec(task)
    return replace(base, source=source, label=f"{public_name or source} · --model", size_mb=0, revision=None,
                   pair=None, public_name=public_name)


def custom_spec(task: str, hub_id: str) -> ModelSpec:
    """A model id typed into the UI: hub ids only (never a server path), safetensors only."""
    base = default_spec(task)
    return replace(base, source=hub_id, label=hub_id, size_mb=0, revision=None, trusted=False, default=False,
                   pair=None)
