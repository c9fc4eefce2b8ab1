"""The handwritten-digit tab's data as its network sees it: 28x28 fields made by the tab's own preprocessing
(models/digit_network.py) from the project's synthetic digits and from UCI's real handwritten ones.

UCI's 1,797 digits (8x8, 16 grey levels) ship with scikit-learn (`sklearn.datasets.load_digits`), a dev
requirement only. They are split once, stratified and seeded: one half may train, the other is held out and
is the only half any accuracy is reported on.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from models.digit_network import mnist_field
from training.synthetic import digits

UCI_SPLIT_SEED = 0
UCI_UPSCALE = 32  # each 8x8 scan is enlarged to 32x32 first, as a blurry drawing would be


def to_fields(inks: list[np.ndarray]) -> torch.Tensor:
    """(N, 1, 28, 28) fields; an image with no ink at all becomes an empty field."""
    fields = [mnist_field(ink) for ink in inks]
    return torch.from_numpy(np.stack([f if f is not None else np.zeros((28, 28), np.float32) for f in fields]))[:, None]


def synthetic_fields(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n synthetic digits (training/synthetic.py: rendered, then bent) as fields, and their labels."""
    images, labels = digits(n, generator)
    return to_fields(list(((images[:, 0] + 1) / 2).numpy())), labels


def uci_fields() -> tuple[torch.Tensor, torch.Tensor]:
    """All of UCI's digits as fields (ink = grey level / 16, enlarged bicubically), and their labels."""
    from sklearn.datasets import load_digits

    uci = load_digits()
    inks = [np.asarray(Image.fromarray((image / 16).astype(np.float32), mode="F")
                       .resize((UCI_UPSCALE, UCI_UPSCALE), Image.Resampling.BICUBIC)).clip(0, 1)
            for image in uci.images]
    return to_fields(inks), torch.from_numpy(uci.target)


def uci_split(labels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Indices of UCI's training half and held-out half."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(labels)), test_size=0.5, stratify=labels.numpy(),
                            random_state=UCI_SPLIT_SEED)
