"""The handwritten-digit tab's network and the preprocessing MNIST was made with, which training and serving
share: a digit reaches the network the same way whether it was drawn in the page, rendered by
training/synthetic.py or scanned by UCI.
"""
from __future__ import annotations

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from PIL import Image
from torch import nn

from models.gan_networks import Placed

FIELD = 28  # MNIST's field: the digit fitted in a 20x20 box, its centre of mass at the field's centre
BOX = 20
UCI_UPSCALE = 32  # each 8x8 UCI scan is enlarged to 32x32 first, as a blurry drawing would be
INK_LEVEL = 0.1  # of full ink: fainter pixels (paper grain, JPEG noise, antialiasing) are not the digit's extent
DIGITS = [str(digit) for digit in range(10)]


class DigitCNN(Placed, nn.Module, PyTorchModelHubMixin):
    """A LeNet-5-like CNN: a 28x28 field of ink in [0, 1] -> logits of the digits 0-9. Normalising to MNIST's
    mean and spread is part of the network, so every caller feeds the same [0, 1] fields."""

    def __init__(self, channels: tuple[int, int] = (16, 32), hidden_size: int = 128):
        super().__init__()
        first, second = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, first, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(first, second, 5), nn.ReLU(), nn.MaxPool2d(2),  # 14 -> 10 -> 5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(second * 5 * 5, hidden_size), nn.ReLU(), nn.Dropout(0.3),
            nn.Linear(hidden_size, len(DIGITS)),
        )

    def forward(self, fields: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features((fields - 0.1307) / 0.3081))


def ink_of(picture: Image.Image) -> np.ndarray:
    """A picture of a digit -> its ink in [0, 1] (0: paper). Dark ink on light paper (a drawing, a scan) is
    inverted; light ink on dark (MNIST's way) is kept. The paper's level, read on the border, becomes 0."""
    gray = np.asarray(picture.convert("L"), dtype=np.float32) / 255
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    if paper > 0.5:
        gray, paper = 1 - gray, 1 - paper
    return np.clip((gray - paper) / max(1 - paper, 1e-6), 0, 1)


def mnist_field(ink: np.ndarray) -> np.ndarray | None:
    """Ink (H, W) in [0, 1] -> a 28x28 float32 field as MNIST made its digits: cropped to the ink, scaled to fit a
    20x20 box keeping its aspect, placed with its centre of mass at the centre. None when there is no ink."""
    peak = float(ink.max())
    if peak <= INK_LEVEL:
        return None
    rows, columns = np.nonzero(ink > INK_LEVEL * peak)
    cropped = ink[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    height, width = cropped.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = np.asarray(Image.fromarray(cropped.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR,
                                                                                     reducing_gap=2.0))
    fitted = np.clip(fitted, 0, None)
    total = float(fitted.sum())
    centre_y = float((fitted.sum(axis=1) * np.arange(fitted.shape[0])).sum() / total)
    centre_x = float((fitted.sum(axis=0) * np.arange(fitted.shape[1])).sum() / total)
    top, left = round((FIELD - 1) / 2 - centre_y), round((FIELD - 1) / 2 - centre_x)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    # the box may reach past the field's edge when the mass is far off centre: cut what falls outside
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + fitted.shape[0], FIELD), min(left + fitted.shape[1], FIELD)
    field[y0:y1, x0:x1] = fitted[y0 - top:y1 - top, x0 - left:x1 - left]
    return field / max(float(field.max()), 1e-6)


def to_fields(inks: list[np.ndarray]) -> torch.Tensor:
    """(N, 1, 28, 28) fields; an image with no ink at all becomes an empty field."""
    fields = [mnist_field(ink) for ink in inks]
    return torch.from_numpy(np.stack([f if f is not None else np.zeros((FIELD, FIELD), np.float32)
                                      for f in fields]))[:, None]


def uci_ink(scan: np.ndarray) -> np.ndarray:
    """A UCI scan (8x8, grey levels 0-16) -> its ink in [0, 1], enlarged bicubically to UCI_UPSCALE."""
    return np.asarray(Image.fromarray((scan / 16).astype(np.float32), mode="F")
                      .resize((UCI_UPSCALE, UCI_UPSCALE), Image.Resampling.BICUBIC)).clip(0, 1)
