"""Train the handwritten-digit tab's CNN (models/digit_network.py), seeded, on the CPU:

    python -m training.train_digits                        # ~3 min on 2 cores -> assets/weights/digits-cnn
    python -m training.train_digits --steps 3 --out /tmp/x  # a smoke run

Its data: the project's synthetic digits and the training half of UCI's real handwritten digits
(training/digit_data.py), both as the tab's preprocessing makes them, each batch three parts synthetic to one part
UCI, every field moved a little by a random affine map. `python -m training.quality digits` measures it on UCI's
held-out half.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.digit_network import DigitCNN  # noqa: E402
from training.digit_data import synthetic_fields, uci_fields, uci_split  # noqa: E402
from training.gan_training import save_network  # noqa: E402

DEFAULT_OUT = ROOT / "assets/weights/digits-cnn"


def jitter(fields: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each field turned up to 10 degrees, scaled 0.9-1.1 and moved up to 2 pixels: as drawings differ."""
    n = len(fields)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle, zoom = uniform(-0.17, 0.17), uniform(0.9, 1.1)
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    theta = torch.stack([torch.stack([cos, -sin, uniform(-0.14, 0.14)], 1),
                         torch.stack([sin, cos, uniform(-0.14, 0.14)], 1)], 1)
    grid = F.affine_grid(theta, list(fields.shape), align_corners=False)
    return F.grid_sample(fields, grid, align_corners=False)


def training_batches(steps: int, synthetic: int, seed: int, batch: int = 128) -> Iterator[tuple[torch.Tensor, ...]]:
    """`steps` batches of (fields, labels), each three parts synthetic digits to one part UCI's training half,
    jittered. The digits are made here, at the call; the batches are drawn as they are taken."""
    data = torch.Generator().manual_seed(seed + 100)
    synthetic_x, synthetic_y = synthetic_fields(synthetic, data)
    uci_x, uci_y = uci_fields()
    train_half, _ = uci_split(uci_y)
    uci_x, uci_y = uci_x[train_half], uci_y[train_half]
    from_uci = batch // 4

    def drawn():
        for _ in range(steps):
            s = torch.randint(len(synthetic_x), (batch - from_uci,), generator=data)
            u = torch.randint(len(uci_x), (from_uci,), generator=data)
            yield jitter(torch.cat([synthetic_x[s], uci_x[u]]), data), torch.cat([synthetic_y[s], uci_y[u]])

    return drawn()


def train(steps: int, synthetic: int, seed: int = 0) -> DigitCNN:
    torch.manual_seed(seed)
    batches = training_batches(steps, synthetic, seed)
    model = DigitCNN()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=max(steps, 1))
    for fields, labels in batches:
        loss = F.cross_entropy(model(fields), labels, label_smoothing=0.05)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--synthetic", type=int, default=30_000, help="synthetic digits made for training")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    started = time.monotonic()
    model = train(args.steps, args.synthetic)
    save_network(model, args.out)
    print(f"trained in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
