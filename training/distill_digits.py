"""Distil the digit tab's CNN into a much smaller student, seeded, on the CPU:

    python -m training.distill_digits                        # ~3 min on 2 cores -> assets/weights/digits-cnn-student
    python -m training.distill_digits --steps 3 --out /tmp/x  # a smoke run

Knowledge distillation as Hinton et al. (2015) teach it: the student learns the teacher's answers softened by a
temperature T (KL divergence between the two softened distributions, scaled by T² so that its gradients keep
their size), mixed with the ordinary cross-entropy on the true labels: loss = α·T²·KL + (1 − α)·CE. The soft
answers carry what the teacher knows beyond the label (a 7 that looks a little like a 1), which a network this
small would not find alone in as many steps. The teacher's own data, jitter and batches
(training/train_digits.py); `python -m training.quality digits` compares the two.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.digit_network import DigitCNN  # noqa: E402
from training.gan_training import save_network  # noqa: E402
from training.train_digits import DEFAULT_OUT as TEACHER  # noqa: E402
from training.train_digits import training_batches  # noqa: E402

DEFAULT_OUT = ROOT / "assets/weights/digits-cnn-student"
STUDENT_SHAPE = {"channels": (6, 12), "hidden_size": 48}
TEMPERATURE = 4.0
ALPHA = 0.7  # the share of the teacher's soft answers in the loss


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float = TEMPERATURE, alpha: float = ALPHA) -> torch.Tensor:
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=-1),
                    F.log_softmax(teacher_logits / temperature, dim=-1), log_target=True, reduction="batchmean")
    return alpha * temperature**2 * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)


def distill(teacher: DigitCNN, steps: int, synthetic: int, seed: int = 0, alpha: float = ALPHA) -> DigitCNN:
    torch.manual_seed(seed)
    batches = training_batches(steps, synthetic, seed)
    teacher = teacher.eval()
    student = DigitCNN(**STUDENT_SHAPE)
    optimizer = torch.optim.AdamW(student.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3, total_steps=max(steps, 1))
    for fields, labels in batches:
        with torch.inference_mode():
            teacher_logits = teacher(fields)
        loss = distillation_loss(student(fields), teacher_logits.clone(), labels, alpha=alpha)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return student.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--synthetic", type=int, default=30_000, help="synthetic digits made for training")
    parser.add_argument("--teacher", type=Path, default=TEACHER)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--alpha", type=float, default=ALPHA,
                        help="the teacher's share of the loss (default: %(default)s; 0: the labels alone, to compare)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    student = distill(DigitCNN.from_pretrained(args.teacher, strict=True), args.steps, args.synthetic,
                      alpha=args.alpha)
    save_network(student, args.out)
    print(f"distilled in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
