"""What the optimisation lab measures: models the hub serves, each with the torch module its techniques work on
and a fixed set of inputs to compare every variant's answers on (with labels where the set has them)."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from models.digit_network import to_fields, uci_ink
from models.registry import BUNDLED
from tasks import task

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "lab"
UCI_HELD_OUT = ASSETS / "uci-digits-held-out.npz"  # written by `python -m training.digit_data`
SENTENCES = ASSETS / "sentences.json"
MAX_TOKENS = 128  # a comparison sentence is read up to here, as the sentiment tab reads a line

# A set's inputs: one tensor, or the tokenizer's tensors, with the inputs along the first dimension.
Inputs = torch.Tensor | dict[str, torch.Tensor]


@dataclass(frozen=True)
class Subject:
    task: str
    name: str  # the catalog key of its name in the lab's model picker
    network: Callable[[Any], torch.nn.Module]  # the loaded model -> the module the techniques work on
    comparison: Callable[[Any], tuple[Inputs, torch.Tensor | None]]  # loaded model -> (inputs, labels or None)
    set_text: str  # the catalog key that says what the comparison set is, with {count}
    student: str | None = None  # the source of a distilled student of the default model


@functools.cache
def _uci_fields() -> tuple[torch.Tensor, torch.Tensor]:
    with np.load(UCI_HELD_OUT, allow_pickle=False) as data:
        scans, labels = data["scans"], data["labels"]
    return to_fields([uci_ink(scan) for scan in scans]), torch.from_numpy(labels.astype(np.int64))


def _digits(_network) -> tuple[Inputs, torch.Tensor]:
    return _uci_fields()


def _pictures(classifier) -> tuple[Inputs, None]:
    """The image tabs' example pictures, and each one mirrored."""
    pictures = []
    for path in task("image_classification").example_files():
        with Image.open(path) as picture:
            pictures.append(picture.convert("RGB"))
    return classifier.preprocess(pictures + [ImageOps.mirror(picture) for picture in pictures]), None


def _sentences(classifier) -> tuple[Inputs, None]:
    lines = json.loads(SENTENCES.read_text("utf-8"))["sentences"]
    tokens = classifier.tokenizer(lines, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    return dict(tokens), None


SUBJECTS: tuple[Subject, ...] = (
    Subject("digits", "lab_subject_digits", lambda network: network, _digits, "lab_set_digits",
            student=f"{BUNDLED}digits-cnn-student"),
    Subject("image_classification", "lab_subject_image_classification", lambda classifier: classifier.model,
            _pictures, "lab_set_pictures"),
    Subject("sentiment", "lab_subject_sentiment", lambda classifier: classifier.model, _sentences,
            "lab_set_sentences"),
)
SUBJECT_KEYS = tuple(subject.task for subject in SUBJECTS)


def subject(key: str) -> Subject:
    return next(s for s in SUBJECTS if s.task == key)


def count(inputs: Inputs) -> int:
    return len(next(iter(inputs.values())) if isinstance(inputs, dict) else inputs)


def take(inputs: Inputs, start: int, stop: int, device) -> Inputs:
    """Inputs start..stop on `device`; a batch larger than the set repeats the set."""
    def part(tensor: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(start, stop) % len(tensor)
        return tensor[rows].to(device)

    return {name: part(tensor) for name, tensor in inputs.items()} if isinstance(inputs, dict) else part(inputs)


def logits(network: torch.nn.Module, batch: Inputs) -> torch.Tensor:
    """The network's class scores for a batch; pictures and fields are cast to the network's precision."""
    if isinstance(batch, dict):
        output = network(**batch)
    else:
        dtype = next(p.dtype for p in network.parameters() if p.is_floating_point())
        output = network(batch.to(dtype))
    return getattr(output, "logits", output)
