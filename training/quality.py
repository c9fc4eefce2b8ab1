"""Measure the bundled models against their targets, reproducibly (seeded, CPU):

    python -m training.quality            # all four; prints the figures, updates training/quality.json
    python -m training.quality digits     # one of dcgan, pix2pix, digits, digits_student

DCGAN: a digit classifier trained here on the same synthetic digits (its held-out accuracy is reported) reads
1,000 generated samples; at least 80 % must be recognised with confidence above 0.5, and every digit must be
at least 4 % of the recognised ones (no mode collapse).
pix2pix: on 200 held-out scenes, the mean L1 of the output against the target must be at most half that of
the best trivial answer: the mean training picture, or one flat mean colour.
Digits: the digit CNN must read at least 90 % of UCI's held-out handwritten digits (training/digit_data.py), and
the tab's own example drawings; the confusion matrix is drawn for README. Its distilled student
(training/distill_digits.py) must be at least 5x smaller and lose at most 2 points of UCI accuracy.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.digit_network import DigitCNN, ink_of, mnist_field  # noqa: E402
from models.gan import load_network  # noqa: E402
from models.gan_networks import DCGANGenerator, Pix2PixUNet, image_grid  # noqa: E402
from tasks import task  # noqa: E402
from training.confusion import confusion_matrix, draw_confusion  # noqa: E402
from training.digit_data import synthetic_fields, uci_fields, uci_split  # noqa: E402
from training.synthetic import digits, scenes  # noqa: E402

WEIGHTS = ROOT / "assets/weights"
RESULTS = ROOT / "training/quality.json"
SAMPLES = ROOT / "docs/samples"  # the sample grids README shows
EVAL_SEED = 10_000  # held out: training draws from seed 0's stream


class DigitClassifier(nn.Module):
    """64x64 digit -> 10 logits; a small CNN, good enough to read synthetic digits reliably."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 128, 3, 2, 1), nn.BatchNorm2d(128), nn.ReLU(), nn.Conv2d(128, 128, 3, 2, 1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, 10),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


def train_classifier(steps: int, seed: int = 0) -> DigitClassifier:
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed + 100)
    classifier = DigitClassifier()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=max(steps, 1))
    for _ in range(steps):
        images, labels = digits(64, data)
        loss = nn.functional.cross_entropy(classifier(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return classifier.eval()


@torch.inference_mode()
def probabilities(classifier: DigitClassifier, images: torch.Tensor) -> torch.Tensor:
    return torch.cat([classifier(chunk).softmax(-1) for chunk in images.split(250)])


def dcgan_quality(weights: Path, samples: int = 1000, classifier_steps: int = 1500, grids: Path = SAMPLES) -> dict:
    classifier = train_classifier(classifier_steps)
    held_out, labels = digits(2000, torch.Generator().manual_seed(EVAL_SEED))
    accuracy = float((probabilities(classifier, held_out).argmax(-1) == labels).float().mean())

    generator = load_network(DCGANGenerator, weights, "cpu", torch.float32)
    noise = torch.randn(samples, generator.latent_dim, 1, 1, generator=torch.Generator().manual_seed(EVAL_SEED))
    with torch.inference_mode():
        generated = generator(noise)
    confidence, digit = probabilities(classifier, generated).max(-1)
    recognised = digit[confidence > 0.5]
    shares = [float((recognised == d).float().mean()) if len(recognised) else 0.0 for d in range(10)]
    grids.mkdir(parents=True, exist_ok=True)
    image_grid(generated[:32], columns=8).save(grids / "dcgan-digits.png")
    result = {
        "classifier_held_out_accuracy": round(accuracy, 4),
        "samples": samples,
        "recognised_share": round(len(recognised) / samples, 4),
        "digit_shares_of_recognised": [round(s, 4) for s in shares],
    }
    result["meets_target"] = result["recognised_share"] >= 0.8 and min(shares) >= 0.04
    return result


def pix2pix_quality(weights: Path, pairs: int = 200, baseline_pictures: int = 500, grids: Path = SAMPLES) -> dict:
    generator = load_network(Pix2PixUNet, weights, "cpu", torch.float32)
    _, training_pictures = scenes(baseline_pictures, np.random.default_rng(0))
    mean_picture = training_pictures.mean(0, keepdim=True)
    mean_colour = training_pictures.mean((0, 2, 3), keepdim=True)
    edges, targets = scenes(pairs, np.random.default_rng(EVAL_SEED))
    with torch.inference_mode():
        outputs = torch.cat([generator(chunk) for chunk in edges.split(8)])

    def l1(prediction: torch.Tensor) -> float:  # on the [0, 1] pixel scale
        return float((prediction - targets).abs().mean() / 2)

    baselines = {"mean_training_picture": l1(mean_picture.expand_as(targets)),
                 "mean_colour": l1(mean_colour.expand_as(targets))}
    best = min(baselines.values())
    grids.mkdir(parents=True, exist_ok=True)
    image_grid(torch.cat([edges[:4], outputs[:4], targets[:4]]), columns=4).save(grids / "pix2pix-scenes.png")
    result = {"pairs": pairs, "model_l1": round(l1(outputs), 4),
              "baseline_l1": {k: round(v, 4) for k, v in baselines.items()},
              "ratio_to_best_baseline": round(l1(outputs) / best, 4)}
    result["meets_target"] = result["ratio_to_best_baseline"] <= 0.5
    return result


def digit_guesses(model: DigitCNN, fields: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([model(chunk).argmax(-1) for chunk in fields.split(500)])


def held_out_digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """UCI's held-out half and 2,000 synthetic digits of the held-out seed: (fields, labels) of each."""
    fields, labels = uci_fields()
    _, held_out = uci_split(labels)
    synthetic, synthetic_labels = synthetic_fields(2000, torch.Generator().manual_seed(EVAL_SEED))
    return fields[held_out], labels[held_out], synthetic, synthetic_labels


def digits_quality(weights: Path, pictures: Path = SAMPLES) -> dict:
    model = DigitCNN.from_pretrained(weights).eval()

    def predicted(fields: torch.Tensor) -> torch.Tensor:
        return digit_guesses(model, fields)

    labels = uci_fields()[1]
    train_half, held_out = uci_split(labels)
    uci_x, _, synthetic, synthetic_labels = held_out_digits()
    uci_guess = predicted(uci_x)
    drawings = task("digits").example_files()  # drawn-<digit>.png
    drawn = [mnist_field(ink_of(Image.open(path))) for path in drawings]
    drawn_guess = predicted(torch.from_numpy(np.stack(drawn))[:, None]).tolist()
    confusion = confusion_matrix(labels[held_out].tolist(), uci_guess.tolist())
    pictures.mkdir(parents=True, exist_ok=True)
    draw_confusion(confusion).save(pictures / "digits-confusion.png")
    result = {
        "trained_on": f"synthetic digits and UCI's training half ({len(train_half)} digits)",
        "uci_held_out": len(held_out),
        "uci_held_out_accuracy": round(float((uci_guess == labels[held_out]).float().mean()), 4),
        "synthetic_held_out_accuracy": round(float((predicted(synthetic) == synthetic_labels).float().mean()), 4),
        "example_drawings_read": {path.name: str(guess) for path, guess in zip(drawings, drawn_guess)},
        "parameters": sum(p.numel() for p in model.parameters()),
        "confusion": confusion,
    }
    drawings_right = all(path.stem.endswith(f"-{guess}") for path, guess in zip(drawings, drawn_guess))
    result["meets_target"] = result["uci_held_out_accuracy"] >= 0.9 and drawings_right
    return result


def median_ms(model: DigitCNN, batch: int, runs: int = 50) -> float:
    """Per input, at this batch size: the median of `runs` timed forwards after a warm-up, one thread (as a
    request runs beside others)."""
    fields = torch.rand(batch, 1, 28, 28)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for _ in range(5):
                model(fields)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                model(fields)
                times.append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)
    return 1000 * float(np.median(times)) / batch


def student_quality(student_weights: Path, teacher_weights: Path) -> dict:
    """The distilled student (training/distill_digits.py) against its teacher on the same held-out digits:
    it must be at least 5x smaller and lose at most 2 points of UCI accuracy."""
    uci_x, uci_y, synthetic, synthetic_y = held_out_digits()
    figures = {}
    for name, weights in (("teacher", teacher_weights), ("student", student_weights)):
        model = DigitCNN.from_pretrained(weights).eval()
        figures[name] = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "file_kb": round((weights / "model.safetensors").stat().st_size / 1024, 1),
            "uci_held_out_accuracy": round(float((digit_guesses(model, uci_x) == uci_y).float().mean()), 4),
            "synthetic_held_out_accuracy": round(float((digit_guesses(model, synthetic) == synthetic_y).float().mean()),
                                                 4),
            "ms_per_digit_batch_1": round(median_ms(model, 1), 4),
            "ms_per_digit_batch_64": round(median_ms(model, 64), 4),
        }
    teacher, student = figures["teacher"], figures["student"]
    result = {**figures, "times_fewer_parameters": round(teacher["parameters"] / student["parameters"], 2),
              "uci_points_lost": round(100 * (teacher["uci_held_out_accuracy"] - student["uci_held_out_accuracy"]), 2)}
    result["meets_target"] = result["times_fewer_parameters"] >= 5 and result["uci_points_lost"] <= 2
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", choices=["dcgan", "pix2pix", "digits", "digits_student", "all"],
                        default="all")
    parser.add_argument("--dcgan", type=Path, default=WEIGHTS / "dcgan-digits")
    parser.add_argument("--pix2pix", type=Path, default=WEIGHTS / "pix2pix-scenes")
    parser.add_argument("--digits", type=Path, default=WEIGHTS / "digits-cnn")
    parser.add_argument("--digits-student", type=Path, default=WEIGHTS / "digits-cnn-student")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--classifier-steps", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--samples-dir", type=Path, default=SAMPLES, help="where the sample grids go")
    args = parser.parse_args(argv)

    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.pop("seconds", None)  # a run may measure one model: each measurement says its own time
    results["machine"] = {"python": platform.python_version(), "torch": torch.__version__,
                          "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads()}
    measurements = {
        "dcgan": lambda: dcgan_quality(args.dcgan, args.samples, args.classifier_steps, args.samples_dir),
        "pix2pix": lambda: pix2pix_quality(args.pix2pix, args.pairs, grids=args.samples_dir),
        "digits": lambda: digits_quality(args.digits, args.samples_dir),
        "digits_student": lambda: student_quality(args.digits_student, args.digits),
    }
    for name, measure in measurements.items():
        if args.which in (name, "all"):
            started = time.monotonic()
            results[name] = measure()
            results[name]["seconds"] = round(time.monotonic() - started, 1)
            print(f"{name:8}", json.dumps({k: v for k, v in results[name].items() if k != "confusion"}), flush=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(results[name]["meets_target"] for name in measurements if args.which in (name, "all")) else 1


if __name__ == "__main__":
    sys.exit(main())
