"""Write the example drawings the project makes itself:

    python -m training.make_examples   # -> assets/examples/sketches/scene-*.png, assets/examples/digits/*.png

pix2pix: edge maps of scenes the bundled model never saw in training. Digits: strokes as a mouse draws them
on the digit tab's pad (black, a brush 20 pixels wide, on a white 280x280 canvas).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks import EXAMPLES_DIR  # noqa: E402
from training.synthetic import scene  # noqa: E402

OUT = EXAMPLES_DIR / "sketches"
DIGITS_OUT = EXAMPLES_DIR / "digits"
EXAMPLE_SEED = 20_000  # training draws from seed 0's stream and evaluation from 10_000's: these are apart


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> list:
    """Points along an ellipse from angle `start` to `end` (degrees; y grows downwards, as on a screen)."""
    angles = np.radians(np.linspace(start, end, steps))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles)))


# Each digit: its strokes, each a list of points on a unit canvas.
DIGIT_STROKES = {
    3: [_arc(0.5, 0.34, 0.17, 0.14, 200, 450) + _arc(0.5, 0.63, 0.19, 0.16, -90, 150)],
    5: [[(0.68, 0.22), (0.36, 0.22), (0.33, 0.47)] + _arc(0.5, 0.62, 0.18, 0.16, -140, 150)],
    7: [[(0.28, 0.25), (0.72, 0.25), (0.45, 0.8)]],
    9: [_arc(0.52, 0.36, 0.15, 0.14, 0, 360), [(0.67, 0.36), (0.6, 0.8)]],
}


def digit_drawing(strokes: list, side: int = 280, width: int = 20) -> Image.Image:
    picture = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(picture)
    for stroke in strokes:
        points = [(x * side, y * side) for x, y in stroke]
        draw.line(points, fill="black", width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round ends, as a round brush leaves
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill="black")
    return picture


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(EXAMPLE_SEED)
    for index in range(3):
        edges, _ = scene(rng)
        Image.fromarray(edges[:, :, 0]).save(OUT / f"scene-{index + 1}.png", optimize=True)
    DIGITS_OUT.mkdir(parents=True, exist_ok=True)
    for digit, strokes in DIGIT_STROKES.items():
        digit_drawing(strokes).save(DIGITS_OUT / f"drawn-{digit}.png", optimize=True)
    print(f"wrote {OUT} and {DIGITS_OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
