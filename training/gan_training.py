"""What both training scripts share: the DCGAN paper's initialisation and optimiser, and saving the result."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) convolutions and N(1, 0.02) batch-norm scales, as in the DCGAN and pix2pix papers."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def optimizers(generator: nn.Module, discriminator: nn.Module) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam with lr 2e-4 and beta1 0.5 for both players: the papers' settings, stable for small GANs."""
    return (torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999)),
            torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999)))


def save_network(network, out: Path) -> None:
    """Any network of ours (a generator, the digit CNN): config.json + model.safetensors, loadable with the
    mixin's from_pretrained."""
    network.eval()
    network.save_pretrained(out)
    (out / "README.md").unlink(missing_ok=True)  # the mixin's model-card stub says nothing true about it
    print(f"saved {out}", flush=True)
