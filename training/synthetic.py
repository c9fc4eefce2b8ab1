"""The training data the project makes itself, so that our generators train with no download at all.

Digits: 0-9 rendered with the font Pillow ships, at several sizes and stroke widths, then bent by a random
affine map and an elastic distortion: 64x64, white on black like MNIST, in [-1, 1].

Scenes: procedurally drawn landscapes (sky, ground, sun, houses with roofs, windows and doors, trees) and
their edge maps, black lines on white like the edges2shoes inputs: 256x256 RGB pairs in [-1, 1]. Each kind
of shape has its own colour family, so an edge map says enough to paint the scene back.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

DIGIT_SIDE = 64
SCENE_SIDE = 256
_GLYPH_SIZES = (34, 40, 46)
_STROKES = (0, 1, 2, 3)


@functools.cache
def _glyph(digit: int, size: int, stroke: int) -> torch.Tensor:
    """One digit drawn centred on a 64x64 canvas at 4x resolution and reduced, so its edges are smooth."""
    scale = 4
    canvas = Image.new("L", (DIGIT_SIDE * scale, DIGIT_SIDE * scale), 0)
    font = ImageFont.load_default(size * scale)
    draw = ImageDraw.Draw(canvas)
    draw.text((DIGIT_SIDE * scale / 2, DIGIT_SIDE * scale / 2), str(digit), fill=255, font=font, anchor="mm",
              stroke_width=stroke * scale, stroke_fill=255)
    small = canvas.resize((DIGIT_SIDE, DIGIT_SIDE), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0)


def _smooth_noise(generator: torch.Generator, n: int, side: int, cells: int) -> torch.Tensor:
    """A smooth random field (N, 2, side, side) in about [-1, 1]: coarse noise upsampled bicubically."""
    coarse = torch.rand(n, 2, cells, cells, generator=generator) * 2 - 1
    return F.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=True)


def digits(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n random digit images (n, 1, 64, 64) in [-1, 1] and their labels (n,)."""
    labels = torch.randint(0, 10, (n,), generator=generator)
    sizes = torch.randint(0, len(_GLYPH_SIZES), (n,), generator=generator)
    strokes = torch.randint(0, len(_STROKES), (n,), generator=generator)
    glyphs = torch.stack([_glyph(int(d), _GLYPH_SIZES[s], _STROKES[w]) for d, s, w in zip(labels, sizes, strokes)])

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator)

    angle, shear = uniform(-0.26, 0.26), uniform(-0.3, 0.3)  # up to 15 degrees of rotation
    zoom = uniform(0.85, 1.15)
    shift_x, shift_y = uniform(-0.1, 0.1), uniform(-0.1, 0.1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # output -> input sampling matrix: rotation, then shear, then zoom, then shift
    theta = torch.stack([
        torch.stack([cos * zoom, (-sin + shear * cos) * zoom, shift_x], dim=1),
        torch.stack([sin * zoom, (cos + shear * sin) * zoom, shift_y], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, (n, 1, DIGIT_SIDE, DIGIT_SIDE), align_corners=False)
    elastic = _smooth_noise(generator, n, DIGIT_SIDE, cells=5).permute(0, 2, 3, 1) * 0.06
    images = F.grid_sample(glyphs.unsqueeze(1), grid + elastic, align_corners=False, padding_mode="zeros")
    return images.clamp(0, 1) * 2 - 1, labels


# Colour families (RGB centres); each drawn colour is jittered around its centre.
_SKY_TOP, _SKY_HORIZON = (40, 90, 170), (170, 205, 235)
_GRASS_NEAR, _GRASS_FAR = (60, 120, 40), (120, 170, 80)
_SUN = (250, 205, 60)
_WALLS = ((200, 80, 60), (225, 205, 160), (150, 150, 160))
_ROOF = (120, 50, 40)
_WINDOW = (190, 225, 250)
_DOOR = (90, 55, 30)
_TRUNK = (110, 75, 40)
_CROWN = (40, 110, 45)


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: int = 6) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _gradient(top: tuple, bottom: tuple, height: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, height)[:, None]
    return (np.array(top)[None, :] * (1 - t) + np.array(bottom)[None, :] * t)


class _Painter:
    """Draws each shape twice: in colour on the picture, and as a new region id on the label map."""

    def __init__(self, picture: Image.Image):
        self.picture = ImageDraw.Draw(picture)
        self.labels_image = Image.new("I", picture.size, 0)
        self.labels = ImageDraw.Draw(self.labels_image)
        self.regions = 0

    def _next(self) -> int:
        self.regions += 1
        return self.regions

    def rectangle(self, box, colour) -> None:
        self.picture.rectangle(box, fill=colour)
        self.labels.rectangle(box, fill=self._next())

    def ellipse(self, box, colour) -> None:
        self.picture.ellipse(box, fill=colour)
        self.labels.ellipse(box, fill=self._next())

    def polygon(self, points, colour) -> None:
        self.picture.polygon(points, fill=colour)
        self.labels.polygon(points, fill=self._next())


def _draw_house(painter: _Painter, rng: np.random.Generator, x: int, ground: int) -> None:
    width, height = int(rng.integers(50, 90)), int(rng.integers(40, 70))
    base = ground + int(rng.integers(5, 40))
    left, top = x - width // 2, base - height
    painter.rectangle((left, top, left + width, base), _jitter(rng, _WALLS[rng.integers(len(_WALLS))]))
    overhang, peak = int(rng.integers(4, 10)), int(rng.integers(25, 45))
    painter.polygon([(left - overhang, top), (left + width + overhang, top), (x, top - peak)], _jitter(rng, _ROOF))
    door_width = max(10, width // 5)
    door_left = left + int(rng.integers(6, max(7, width - door_width - 6)))
    painter.rectangle((door_left, base - int(height * 0.55), door_left + door_width, base), _jitter(rng, _DOOR))
    window = max(9, width // 6)
    for window_left in (left + 6, left + width - 6 - window):
        if abs(window_left - door_left) > window + 2 and abs(window_left + window - door_left - door_width) > window:
            painter.rectangle((window_left, top + 8, window_left + window, top + 8 + window), _jitter(rng, _WINDOW))


def _draw_tree(painter: _Painter, rng: np.random.Generator, x: int, ground: int) -> None:
    base = ground + int(rng.integers(5, 45))
    trunk_height, trunk_width = int(rng.integers(20, 45)), int(rng.integers(6, 12))
    painter.rectangle((x - trunk_width // 2, base - trunk_height, x + trunk_width // 2, base), _jitter(rng, _TRUNK))
    radius = int(rng.integers(16, 30))
    centre = base - trunk_height - radius + 6
    painter.ellipse((x - radius, centre - radius, x + radius, centre + radius), _jitter(rng, _CROWN))


def _edges(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Black lines on white where two regions meet, one to three pixels wide like a pen or a brush."""
    boundary = np.zeros(labels.shape, dtype=bool)
    boundary[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    boundary[1:, :] |= labels[1:, :] != labels[:-1, :]
    for _ in range(int(rng.integers(0, 2))):
        grown = boundary.copy()
        grown[1:, :] |= boundary[:-1, :]
        grown[:, 1:] |= boundary[:, :-1]
        boundary = grown
    return np.where(boundary, 0, 255).astype(np.uint8)


def scene(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One scene: its edge map and its picture, both (256, 256, 3) uint8."""
    side = SCENE_SIDE
    ground = int(rng.integers(110, 170))
    pixels = np.empty((side, side, 3))
    pixels[:ground] = _gradient(_jitter(rng, _SKY_TOP, 8), _jitter(rng, _SKY_HORIZON), ground)[:, None, :]
    pixels[ground:] = _gradient(_jitter(rng, _GRASS_FAR), _jitter(rng, _GRASS_NEAR), side - ground)[:, None, :]
    picture = Image.fromarray(pixels.astype(np.uint8))
    painter = _Painter(picture)
    painter.labels.rectangle((0, ground, side, side), fill=painter._next())  # the horizon is an edge too
    if rng.random() < 0.7:
        radius, x = int(rng.integers(12, 26)), int(rng.integers(30, side - 30))
        y = int(rng.integers(radius + 5, max(radius + 6, ground - radius - 10)))
        painter.ellipse((x - radius, y - radius, x + radius, y + radius), _jitter(rng, _SUN))
    # back to front, so nearer things are drawn over farther ones
    things = [(int(rng.integers(20, side - 20)), _draw_house if rng.random() < 0.5 else _draw_tree)
              for _ in range(int(rng.integers(1, 5)))]
    for x, draw in things:
        draw(painter, rng, x, ground)
    edges = _edges(np.asarray(painter.labels_image), rng)
    return np.repeat(edges[:, :, None], 3, axis=2), np.asarray(picture)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def scenes(n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n pairs: edge maps and pictures, each (n, 3, 256, 256) in [-1, 1]."""
    pairs = [scene(rng) for _ in range(n)]
    return to_tensor(np.stack([e for e, _ in pairs])), to_tensor(np.stack([p for _, p in pairs]))
