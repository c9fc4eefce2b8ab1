"""The handwritten-digit tab's data as its network sees it: 28x28 fields made by the tab's own preprocessing
(models/digit_network.py) from the project's synthetic digits and from UCI's real handwritten ones.

UCI's 1,797 digits (8x8, 16 grey levels) ship with scikit-learn (`sklearn.datasets.load_digits`), a dev
requirement only. They are split once, stratified and seeded: one half may train, the other is held out and
is the only half any accuracy is reported on.
"""
from __future__ import annotations

import numpy as np
import torch

from models.digit_network import to_fields, uci_ink
from training.synthetic import digits

UCI_SPLIT_SEED = 0


def synthetic_fields(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n synthetic digits (training/synthetic.py: rendered, then bent) as fields, and their labels."""
    images, labels = digits(n, generator)
    return to_fields(list(((images[:, 0] + 1) / 2).numpy())), labels


def uci_fields() -> tuple[torch.Tensor, torch.Tensor]:
    """All of UCI's digits as fields (ink = grey level / 16, enlarged bicubically), and their labels."""
    from sklearn.datasets import load_digits

    uci = load_digits()
    return to_fields([uci_ink(scan) for scan in uci.images]), torch.from_numpy(uci.target)


def uci_split(labels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Indices of UCI's training half and held-out half."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(labels)), test_size=0.5, stratify=labels.numpy(),
                            random_state=UCI_SPLIT_SEED)


def write_held_out_scans(path) -> None:
    """UCI's held-out half as its raw scans and labels, for the optimisation lab, which reports accuracy on the
    same digits as training/quality.json without needing scikit-learn."""
    from sklearn.datasets import load_digits

    uci = load_digits()
    _, held_out = uci_split(torch.from_numpy(uci.target))
    np.savez_compressed(path, scans=uci.images[held_out].astype(np.uint8), labels=uci.target[held_out].astype(np.uint8))


if __name__ == "__main__":
    from demos.lab_subjects import UCI_HELD_OUT

    UCI_HELD_OUT.parent.mkdir(parents=True, exist_ok=True)
    write_held_out_scans(UCI_HELD_OUT)
    print(UCI_HELD_OUT)
