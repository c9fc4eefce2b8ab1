"""Train the bundled DCGAN on synthetic digits (training/synthetic.py), seeded, on the CPU.

    python -m training.train_dcgan                       # ~16 min on 2 cores -> assets/weights/dcgan-digits
    python -m training.train_dcgan --steps 3 --out /tmp/x  # a smoke run

The generator is models.gan_networks.DCGANGenerator (1 channel, hidden size 32); the discriminator below mirrors it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.gan_networks import DCGANGenerator, image_grid  # noqa: E402
from training.gan_training import init_weights, optimizers, save_network  # noqa: E402
from training.synthetic import digits  # noqa: E402

DEFAULT_OUT = ROOT / "assets/weights/dcgan-digits"


class Discriminator(nn.Module):
    """64x64 image -> one logit: is it a real (synthetic) digit?"""

    def __init__(self, num_channels: int = 1, hidden_size: int = 32):
        super().__init__()
        h = hidden_size
        self.model = nn.Sequential(
            nn.Conv2d(num_channels, h, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(h, 2 * h, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * h), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * h, 4 * h, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * h), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * h, 8 * h, 4, 2, 1, bias=False), nn.BatchNorm2d(8 * h), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(8 * h, 1, 4, 1, 0, bias=False),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images).flatten()




def train_step(generator, discriminator, adam, real: torch.Tensor,
               generator_rng: torch.Generator) -> tuple[float, float]:
    """One discriminator and one generator update; returns their losses."""
    optimizer_g, optimizer_d = adam
    loss = nn.BCEWithLogitsLoss()
    n = real.shape[0]
    noise = torch.randn(n, generator.latent_dim, 1, 1, generator=generator_rng)
    fake = generator(noise)
    # one-sided label smoothing (real = 0.9) keeps the discriminator from overpowering the generator
    loss_d = loss(discriminator(real), torch.full((n,), 0.9)) + loss(discriminator(fake.detach()), torch.zeros(n))
    optimizer_d.zero_grad()
    loss_d.backward()
    optimizer_d.step()
    loss_g = loss(discriminator(fake), torch.ones(n))
    optimizer_g.zero_grad()
    loss_g.backward()
    optimizer_g.step()
    return loss_g.item(), loss_d.item()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    data_rng = torch.Generator().manual_seed(args.seed)
    noise_rng = torch.Generator().manual_seed(args.seed + 1)
    generator = DCGANGenerator(num_channels=1, hidden_size=args.hidden_size)
    discriminator = Discriminator(num_channels=1, hidden_size=args.hidden_size)
    generator.apply(init_weights)
    discriminator.apply(init_weights)
    adam = optimizers(generator, discriminator)
    fixed_noise = torch.randn(32, generator.latent_dim, 1, 1, generator=torch.Generator().manual_seed(1234))
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for step in range(1, args.steps + 1):
        real, _ = digits(args.batch_size, data_rng)
        loss_g, loss_d = train_step(generator, discriminator, adam, real, noise_rng)
        if step % 100 == 0 or step == args.steps:
            print(f"step {step}/{args.steps}  loss_g {loss_g:.3f}  loss_d {loss_d:.3f}  "
                  f"{time.monotonic() - started:.0f}s", flush=True)
        if step % 500 == 0 or step == args.steps:
            generator.eval()
            with torch.no_grad():
                image_grid(generator(fixed_noise), columns=8).save(args.out / "samples.png")
            generator.train()
    save_network(generator, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
