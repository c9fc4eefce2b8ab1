"""Write the pix2pix tab's example drawings: edge maps of scenes the bundled model never saw in training.

    python -m training.make_examples   # -> assets/examples/sketches/scene-*.png
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks import EXAMPLES_DIR  # noqa: E402
from training.synthetic import scene  # noqa: E402

OUT = EXAMPLES_DIR / "sketches"
EXAMPLE_SEED = 20_000  # training draws from seed 0's stream and evaluation from 10_000's: these are apart


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(EXAMPLE_SEED)
    for index in range(3):
        edges, _ = scene(rng)
        Image.fromarray(edges[:, :, 0]).save(OUT / f"scene-{index + 1}.png", optimize=True)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
