"""An endpoint's answer as the workbench reads it (compare, chain, keep): its text, its table and its picture, the
same for every task; and how far two answers of one task agree. Each task's endpoint declares its reading and its
measure (Endpoint.reads, Endpoint.agreement) beside its function, in its engine module."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import messages


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list]


@dataclass(frozen=True)
class Outcome:
    """`text`: what a chain hands to its next step, and what a history lists; `table`: its rows, where it has
    them (a CSV); `picture`: a PIL image, where it has one (a PNG)."""

    text: str
    table: Table | None = None
    picture: Any = None

    def as_json(self) -> dict:
        table = None if self.table is None else {"headers": self.table.headers, "data": self.table.rows}
        return {"text": self.text, "table": table}


@dataclass(frozen=True)
class Agreement:
    """`measure`: the catalog key of its name (agreement_...); `value` from 0 (none) to 1 (the same answer)."""

    measure: str
    value: float

    def said(self, language: str = messages.DEFAULT) -> str:
        return messages.say(self.measure, language, value=self.value)


# Readings shared by several tasks.

def ranked(scores: dict[str, float], picture=None) -> Outcome:
    """{label: probability} -> its likeliest label as text, and every label in a table, likeliest first."""
    rows = sorted(([label, score] for label, score in scores.items()), key=lambda row: -row[1])
    return Outcome(rows[0][0] if rows else "", Table(["label", "probability"], rows), picture)


def picture_only(picture) -> Outcome:
    return Outcome("", None, picture)


# Measures.

def same_top_label(a: Outcome, b: Outcome) -> Agreement:
    return Agreement("agreement_same_top_label" if a.text == b.text else "agreement_other_top_label",
                     float(a.text == b.text))


def f1(a: Counter, b: Counter) -> float:
    """How much two bags of items overlap: 1 when both are empty or the same."""
    if not a and not b:
        return 1.0
    common = sum((a & b).values())
    return 2 * common / (sum(a.values()) + sum(b.values()))


def same_rows(key_columns: int, measure: str):
    """Agreement of two tables as the F1 of their rows' first `key_columns` columns (NER: the entity and its type)."""
    def agreement(a: Outcome, b: Outcome) -> Agreement:
        def bag(outcome):
            return Counter(tuple(row[:key_columns]) for row in outcome.table.rows)

        return Agreement(measure, f1(bag(a), bag(b)))

    return agreement


_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


def words(text: str) -> list[str]:
    """Lower-case words without punctuation; each Chinese or Japanese character counts as a word of its own."""
    text = re.sub(rf"([{_CJK}])", r" \1 ", text.lower())
    return re.sub(r"[^\w\s']", " ", text).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Edits (substitutions, insertions, deletions) to turn the reference's words into the hypothesis's, per
    reference word."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, guess in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != guess))
    return row[-1] / max(1, len(ref))


def transcripts_agree(a: Outcome, b: Outcome) -> Agreement:
    """1 − WER of the second transcript against the first (never below 0)."""
    return Agreement("agreement_wer", max(0.0, 1.0 - word_error_rate(a.text, b.text)))


def chrf(reference: str, hypothesis: str, max_n: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015): the F-score, recall weighted `beta` times, of character n-grams (n = 1..6, spaces
    left out) averaged over n; from 0 to 1. Made for translations, it reads Chinese as well as English."""
    ref, hyp = re.sub(r"\s+", "", reference), re.sub(r"\s+", "", hypothesis)
    if ref == hyp:
        return 1.0
    precisions, recalls = [], []
    for n in range(1, max_n + 1):
        ref_grams = Counter(ref[i:i + n] for i in range(len(ref) - n + 1))
        hyp_grams = Counter(hyp[i:i + n] for i in range(len(hyp) - n + 1))
        if not ref_grams or not hyp_grams:
            continue
        common = sum((ref_grams & hyp_grams).values())
        precisions.append(common / sum(hyp_grams.values()))
        recalls.append(common / sum(ref_grams.values()))
    if not precisions:
        return 0.0
    precision, recall = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    if precision + recall == 0:
        return 0.0
    return (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def translations_agree(a: Outcome, b: Outcome) -> Agreement:
    return Agreement("agreement_chrf", chrf(a.text, b.text))


def iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


def boxes_agree(a: Outcome, b: Outcome, least_iou: float = 0.5) -> Agreement:
    """F1 of the boxes matched one to one: same label, and overlapping by at least half their union (IoU)."""
    left, right = [(row[0], row[2:6]) for row in a.table.rows], [(row[0], row[2:6]) for row in b.table.rows]
    if not left and not right:
        return Agreement("agreement_boxes", 1.0)
    matched, free = 0, list(right)
    for label, box in left:
        best = max((candidate for candidate in free if candidate[0] == label),
                   key=lambda candidate: iou(box, candidate[1]), default=None)
        if best is not None and iou(box, best[1]) >= least_iou:
            matched += 1
            free.remove(best)
    return Agreement("agreement_boxes", 2 * matched / (len(left) + len(right)))
