"""The two image generators of the GAN / pix2pix tab: a DCGAN generator and a pix2pix U-Net.

Their parameter names follow the layout of the huggan checkpoints (`huggan/dcgan-mnist`,
`huggan/pix2pix-*`), so those state dicts load with strict=True; the width arguments let us train small
ones of our own (assets/weights) with the same classes, saved by PyTorchModelHubMixin (config.json and
model.safetensors) and loaded by models/gan.py's load_network.
"""
from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

LATENT_DIM = 100


class Placed:
    """Where a loaded network runs and in which precision: what a tab asks of it, not its parameters."""

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype


class DCGANGenerator(Placed, nn.Module, PyTorchModelHubMixin):
    """z of shape (N, latent_dim, 1, 1) -> images (N, num_channels, 64, 64) in [-1, 1]."""

    def __init__(self, num_channels: int = 3, latent_dim: int = LATENT_DIM, hidden_size: int = 64):
        super().__init__()
        widths = [hidden_size * 8, hidden_size * 4, hidden_size * 2, hidden_size]
        layers: list[nn.Module] = []
        previous = latent_dim
        for index, width in enumerate(widths):
            # the first layer grows 1x1 to 4x4; each later one doubles the side
            stride, padding = (1, 0) if index == 0 else (2, 1)
            layers += [nn.ConvTranspose2d(previous, width, 4, stride, padding, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(True)]
            previous = width
        layers += [nn.ConvTranspose2d(previous, num_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.latent_dim = latent_dim

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.model(noise)

    @staticmethod
    def arguments_for(state_dict: dict) -> dict:
        """The constructor arguments a checkpoint was saved from (for checkpoints without config.json)."""
        first, last = state_dict["model.0.weight"], state_dict["model.12.weight"]  # (in, out, 4, 4) each
        return {"latent_dim": first.shape[0], "hidden_size": last.shape[0], "num_channels": last.shape[1]}


class _Down(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, normalize: bool = True, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False)]
        if normalize:
            layers.append(nn.InstanceNorm2d(out_channels))
        layers.append(nn.LeakyReLU(0.2))
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class _Up(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=False),
                                   nn.InstanceNorm2d(out_channels), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.model(x), skip), 1)


class Pix2PixUNet(Placed, nn.Module, PyTorchModelHubMixin):
    """The pix2pix U-Net: (N, in_channels, 256, 256) in [-1, 1] -> (N, out_channels, 256, 256) in [-1, 1].

    Eight stride-2 convolutions take 256x256 down to 1x1, so the input side must be a multiple of 256.
    `features` is the first layer's width (64 in the paper); deeper layers have up to 8x that.
    """

    SIDE = 256

    def __init__(self, in_channels: int = 3, out_channels: int = 3, features: int = 64):
        super().__init__()
        f = features
        down = [(in_channels, f), (f, 2 * f), (2 * f, 4 * f), (4 * f, 8 * f)] + [(8 * f, 8 * f)] * 4
        for index, (cin, cout) in enumerate(down, start=1):
            outer = index in (1, 8)  # no normalisation on the input layer or the 1x1 bottleneck
            self.add_module(f"down{index}", _Down(cin, cout, normalize=not outer, dropout=0.5 if index >= 4 else 0.0))
        up = [(8 * f, 8 * f)] + [(16 * f, 8 * f)] * 3 + [(16 * f, 4 * f), (8 * f, 2 * f), (4 * f, f)]
        for index, (cin, cout) in enumerate(up, start=1):
            self.add_module(f"up{index}", _Up(cin, cout, dropout=0.5 if index <= 4 else 0.0))
        self.final = nn.Sequential(
            nn.Upsample(scale_factor=2),
            nn.ZeroPad2d((1, 0, 1, 0)),
            nn.Conv2d(2 * f, out_channels, 4, padding=1),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index in range(1, 9):
            x = getattr(self, f"down{index}")(x)
            skips.append(x)
        x = skips.pop()  # the bottleneck
        for index in range(1, 8):
            x = getattr(self, f"up{index}")(x, skips.pop())
        return self.final(x)

    @staticmethod
    def arguments_for(state_dict: dict) -> dict:
        """The constructor arguments a checkpoint was saved from (for checkpoints without config.json)."""
        first = state_dict["down1.model.0.weight"]  # (features, in_channels, 4, 4)
        return {"in_channels": first.shape[1], "out_channels": state_dict["final.2.weight"].shape[0],
                "features": first.shape[0]}


def to_images(batch: torch.Tensor) -> list:
    """(N, C, H, W) in [-1, 1] -> N PIL images (grayscale for one channel, else RGB)."""
    from PIL import Image

    pixels = ((batch.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(p[:, :, 0] if p.shape[2] == 1 else p[:, :, :3]) for p in pixels]


def image_grid(batch: torch.Tensor, columns: int, gap: int = 2):
    """The batch as one picture, `columns` images per row, separated by `gap` dark pixels."""
    from PIL import Image

    images = to_images(batch)
    width, height = images[0].size
    rows = -(-len(images) // columns)
    columns = min(columns, len(images))
    grid = Image.new(images[0].mode, (columns * width + (columns - 1) * gap, rows * height + (rows - 1) * gap), 0)
    for index, image in enumerate(images):
        grid.paste(image, ((index % columns) * (width + gap), (index // columns) * (height + gap)))
    return grid
