"""Train the bundled pix2pix U-Net on synthetic scenes and their edge maps (training/synthetic.py), seeded.

    python -m training.train_pix2pix                        # ~30 min on 2 cores -> assets/weights/pix2pix-scenes
    python -m training.train_pix2pix --steps 3 --out /tmp/x   # a smoke run

Loss as in the pix2pix paper: a PatchGAN discriminator's verdict plus 100 x the L1 distance to the target.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.gan_networks import Pix2PixUNet, image_grid  # noqa: E402
from training.gan_training import init_weights, optimizers, save_network  # noqa: E402
from training.synthetic import scenes  # noqa: E402

DEFAULT_OUT = ROOT / "assets/weights/pix2pix-scenes"
L1_WEIGHT = 100.0


class PatchDiscriminator(nn.Module):
    """(edge map, picture) -> a grid of logits, each judging one patch of the picture."""

    def __init__(self, channels: int = 3, features: int = 16):
        super().__init__()
        f = features
        self.model = nn.Sequential(
            nn.Conv2d(2 * channels, f, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(f, 2 * f, 4, 2, 1), nn.InstanceNorm2d(2 * f), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * f, 4 * f, 4, 2, 1), nn.InstanceNorm2d(4 * f), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * f, 8 * f, 4, 2, 1), nn.InstanceNorm2d(8 * f), nn.LeakyReLU(0.2, inplace=True),
            nn.ZeroPad2d((1, 0, 1, 0)),
            nn.Conv2d(8 * f, 1, 4, padding=1, bias=False),
        )

    def forward(self, condition: torch.Tensor, picture: torch.Tensor) -> torch.Tensor:
        return self.model(torch.cat((condition, picture), 1))




def train_step(generator, discriminator, adam, edges: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """One generator and one discriminator update; returns the generator's L1 and the discriminator's loss."""
    optimizer_g, optimizer_d = adam
    gan_loss = nn.BCEWithLogitsLoss()
    fake = generator(edges)
    verdict = discriminator(edges, fake)
    l1 = (fake - target).abs().mean()
    loss_g = gan_loss(verdict, torch.ones_like(verdict)) + L1_WEIGHT * l1
    optimizer_g.zero_grad()
    loss_g.backward()
    optimizer_g.step()
    real_verdict, fake_verdict = discriminator(edges, target), discriminator(edges, fake.detach())
    loss_d = 0.5 * (gan_loss(real_verdict, torch.ones_like(real_verdict))
                    + gan_loss(fake_verdict, torch.zeros_like(fake_verdict)))
    optimizer_d.zero_grad()
    loss_d.backward()
    optimizer_d.step()
    return l1.item(), loss_d.item()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    data_rng = np.random.default_rng(args.seed)
    generator = Pix2PixUNet(in_channels=3, out_channels=3, features=args.features)
    discriminator = PatchDiscriminator(channels=3, features=args.features)
    generator.apply(init_weights)
    discriminator.apply(init_weights)
    adam = optimizers(generator, discriminator)
    preview_edges, preview_pictures = scenes(4, np.random.default_rng(10_000 + args.seed))
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for step in range(1, args.steps + 1):
        edges, pictures = scenes(args.batch_size, data_rng)
        l1, loss_d = train_step(generator, discriminator, adam, edges, pictures)
        if step % 50 == 0 or step == args.steps:
            print(f"step {step}/{args.steps}  l1 {l1:.3f}  loss_d {loss_d:.3f}  {time.monotonic() - started:.0f}s",
                  flush=True)
        if step % 500 == 0 or step == args.steps:
            generator.eval()
            with torch.no_grad():
                shown = torch.cat([preview_edges, generator(preview_edges), preview_pictures])
            image_grid(shown, columns=4).save(args.out / "samples.png")
            generator.train()
    save_network(generator, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
