"""The hub's tasks: one record per task, holding what the task is. Everything that lists tasks reads them: the
tabs and their order, the command line's task keys, --download and --preload, the Spaces front matter, the
tests' tiny-model runtime, the load test and the benchmark.

Light on purpose: the command line reads these records before it imports gradio or torch, so the loaders are
imported here but import their heavy libraries on first use, and a tab is named by its module.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from models import detection, diffusion, digits, gan, hf, vision
from models.registry import BUNDLED, LOCAL, ModelSpec, is_hub_id, is_local_path

EXAMPLES_DIR = Path(__file__).resolve().parent / "assets" / "examples"
MAX_SEED = 2**31 - 1  # every seed field and parameter: the range torch.Generator and the UI's numbers share

# (spec, its files on this machine, device, dtype) -> the loaded model, ready to call
Loader = Callable[[ModelSpec, Path, str, Any], Any]


@dataclass(frozen=True)
class Task:
    key: str  # the command line's TASK, the i18n key of its title (tab_<key>), the cache's kind of model
    loader: Loader
    models: tuple[ModelSpec, ...]  # what its model picker lists; exactly one is the default
    tab: str  # the module under demos/ that serves it (one tab may serve several tasks)
    examples: str | None = None  # a glob under assets/examples; None: its inputs are numbers (seeds, counts)
    # How the class names in a model's config.json ("architectures") end when its loader can run it; a model
    # naming others is refused as of another kind before it loads. Empty: our own networks, not checked.
    kinds: tuple[str, ...] = ()
    # Its requests that wait together share one forward (its endpoint runs BATCHED: tests/test_tasks.py checks),
    # which --max-batch-size sizes: the command line names these tasks without importing their engines.
    batched: bool = False
    # Its checkpoints of an architecture CTranslate2 runs are converted to it on first load (unless the operator
    # turned that off: --no-ctranslate2); its loader then loads the converted folder.
    converts: bool = False

    def __post_init__(self):
        object.__setattr__(self, "models", tuple(replace(spec, task=self.key) for spec in self.models))

    @property
    def default(self) -> ModelSpec:
        return next(spec for spec in self.models if spec.default)

    def example_files(self) -> list[Path]:
        return sorted(EXAMPLES_DIR.glob(self.examples)) if self.examples else []


def _opus_mt(source: str, target: str) -> ModelSpec:
    return ModelSpec(f"Helsinki-NLP/opus-mt-{source}-{target}", f"Opus-MT {source}→{target}", size_mb=300,
                     default=(source, target) == ("en", "de"), pair=(source, target))


def _huggan_pix2pix(name: str, label: str) -> ModelSpec:
    return ModelSpec(f"huggan/pix2pix-{name}", f"pix2pix · {label}", size_mb=218, default=name == "edge2shoes")


# In the order of the tabs.
TASKS: tuple[Task, ...] = (
    Task("image_classification", vision.load_image_classifier, (
        ModelSpec("torchvision:resnet50:IMAGENET1K_V2", "ResNet-50 · 80.9% top-1", size_mb=98, default=True),
        ModelSpec("torchvision:mobilenet_v3_large:IMAGENET1K_V2", "MobileNet V3 · 75.3% top-1", size_mb=21),
        ModelSpec("google/vit-base-patch16-224", "ViT-Base/16 · Hugging Face", size_mb=346),
    ), tab="image_classification", examples="images/*.jpg", kinds=("ForImageClassification",), batched=True),
    Task("object_detection", detection.load_object_detector, (
        ModelSpec("torchvision:ssdlite320_mobilenet_v3_large:COCO_V1", "SSDlite · MobileNet V3 · fastest", size_mb=14,
                  default=True),
        ModelSpec("torchvision:fasterrcnn_mobilenet_v3_large_fpn:COCO_V1", "Faster R-CNN · MobileNet V3",
                  size_mb=74),
        ModelSpec("PekingU/rtdetr_r18vd", "RT-DETR R18 · Hugging Face", size_mb=81),
    ), tab="object_detection", examples="images/*.jpg", kinds=("ForObjectDetection",), batched=True),
    Task("digits", digits.load_digit_classifier, (
        ModelSpec(f"{BUNDLED}digits-cnn", "LeNet-5-style CNN · ours, offline", size_mb=1, default=True),
        ModelSpec(f"{BUNDLED}digits-cnn-student", "Distilled · 7× smaller, offline", size_mb=1),
    ), tab="digits", examples="digits/*.png", batched=True),
    Task("ner", hf.load_token_classification, (
        ModelSpec("dslim/bert-base-NER", "BERT base NER · English", size_mb=430, default=True),
        ModelSpec("Davlan/bert-base-multilingual-cased-ner-hrl", "mBERT NER · 10 languages", size_mb=710),
    ), tab="ner", examples="ner.json", kinds=("ForTokenClassification",), batched=True),
    Task("sentiment", hf.load_text_classification, (
        ModelSpec("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "DistilBERT SST-2 · English",
                  size_mb=268, default=True),
        ModelSpec("lxyuan/distilbert-base-multilingual-cased-sentiments-student",
                  "DistilBERT · multilingual", size_mb=541),
    ), tab="sentiment", examples="sentiment.json", kinds=("ForSequenceClassification",), batched=True),
    Task("translation", hf.load_seq2seq, (
        *(_opus_mt(source, target) for source, target in
          [("en", "de"), ("de", "en"), ("en", "zh"), ("zh", "en"), ("en", "fr"), ("fr", "en")]),
        ModelSpec("facebook/m2m100_418M", "M2M100 418M · any pair", size_mb=1940),
    ), tab="translation", examples="translation.json", kinds=("ForConditionalGeneration", "MTModel"),
       converts=True),
    Task("speech_to_text", hf.load_speech_recognition, (
        # CTranslate2 (faster-whisper) reads speech several times faster than PyTorch on a CPU; PyTorch's Whisper
        # serves a GPU (half precision) and any Whisper on the Hub.
        ModelSpec("Systran/faster-whisper-base", "Whisper base · CTranslate2", size_mb=145,
                  default=True),
        ModelSpec("Systran/faster-whisper-tiny", "Whisper tiny · CTranslate2 · fastest", size_mb=75),
        ModelSpec("Systran/faster-whisper-small", "Whisper small · CTranslate2", size_mb=485),
        ModelSpec("openai/whisper-base", "Whisper base · PyTorch", size_mb=290),
        ModelSpec("openai/whisper-small", "Whisper small · PyTorch", size_mb=970),
        ModelSpec("facebook/wav2vec2-base-960h", "wav2vec 2.0 · English only", size_mb=360),
    ), tab="speech_to_text", examples="audio/*.wav", kinds=("ForConditionalGeneration", "ForCTC")),
    Task("gan", gan.load_dcgan, (
        ModelSpec("huggan/dcgan-mnist", "DCGAN · MNIST digits", size_mb=14, default=True),
        ModelSpec(f"{BUNDLED}dcgan-digits", "DCGAN · our digits, offline", size_mb=4),
    ), tab="image_generation"),
    Task("pix2pix", gan.load_pix2pix, (
        _huggan_pix2pix("edge2shoes", "shoe edges → shoe photo"),
        _huggan_pix2pix("maps", "map → aerial photo"),
        _huggan_pix2pix("night2day", "night → day"),
        ModelSpec(f"{BUNDLED}pix2pix-scenes", "pix2pix · our scenes, offline", size_mb=14),
    ), tab="image_generation", examples="sketches/*.png"),
    Task("image_editing", diffusion.load_instruct_pix2pix, (
        ModelSpec("timbrooks/instruct-pix2pix", "InstructPix2Pix · SD 1.5", size_mb=4300, default=True,
                  gpu_recommended=True),
    ), tab="image_generation", examples="editing.json", kinds=("Pipeline",)),  # diffusers: no config.json
    Task("text_generation", hf.load_causal_lm, (
        ModelSpec("Qwen/Qwen2.5-0.5B-Instruct", "Qwen2.5 0.5B chat · en, zh", size_mb=990, default=True),
        ModelSpec("HuggingFaceTB/SmolLM2-360M-Instruct", "SmolLM2 360M chat · en", size_mb=720),
        ModelSpec("distilbert/distilgpt2", "DistilGPT-2 · completion only", size_mb=350),
    ), tab="text_generation", examples="text_generation.json", kinds=("ForCausalLM", "LMHeadModel"),
       converts=True),
)
TASK_KEYS = tuple(task.key for task in TASKS)
MODEL_SPECS = tuple(spec for task in TASKS for spec in task.models)
_BY_KEY = {task.key: task for task in TASKS}


def task(key: str) -> Task:
    return _BY_KEY[key]


def specs_for(key: str) -> tuple[ModelSpec, ...]:
    return _BY_KEY[key].models


def default_spec(key: str) -> ModelSpec:
    return _BY_KEY[key].default


def example_hub_id(key: str) -> str | None:
    """A Hub id of the task's kind, to show how a typed-in id looks; None: the task takes no typed-in ids (its
    models are the project's own)."""
    return next((spec.source for spec in specs_for(key) if is_hub_id(spec.source)), None)


def listed_spec(source: str) -> ModelSpec | None:
    """Our table's entry for a source, if it lists one."""
    return next((spec for spec in MODEL_SPECS if spec.source == source), None)


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
