"""A confusion matrix and its picture (no plotting library: Pillow draws it)."""
from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

CELL = 40


def confusion_matrix(truth: list[int], guesses: list[int], classes: int = 10) -> list[list[int]]:
    """rows: the true class; columns: the class guessed."""
    matrix = [[0] * classes for _ in range(classes)]
    for true, guess in zip(truth, guesses):
        matrix[true][guess] += 1
    return matrix


def draw_confusion(matrix: list[list[int]]) -> Image.Image:
    """Each cell shaded by its share of its row, its count written in it; true digits down, guesses across."""
    classes = len(matrix)
    margin = CELL * 3 // 2
    side = margin + classes * CELL + CELL // 2
    picture = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(picture)
    font, small = ImageFont.load_default(CELL * 2 // 5), ImageFont.load_default(CELL // 3)
    draw.text((margin + classes * CELL / 2, CELL * 3 / 8), "guessed", fill="black", font=small, anchor="mm")
    draw.text((CELL * 3 / 8, margin + classes * CELL / 2), "true", fill="black", font=small, anchor="mm")
    for i in range(classes):
        draw.text((margin + i * CELL + CELL / 2, margin - CELL / 3), str(i), fill="black", font=font, anchor="mm")
        draw.text((margin - CELL / 3, margin + i * CELL + CELL / 2), str(i), fill="black", font=font, anchor="mm")
        total = max(sum(matrix[i]), 1)
        for j, count in enumerate(matrix[i]):
            share = count / total
            shade = (round(255 - 200 * share), round(255 - 150 * share), 255)
            box = (margin + j * CELL, margin + i * CELL, margin + (j + 1) * CELL, margin + (i + 1) * CELL)
            draw.rectangle(box, fill=shade, outline="#cccccc")
            if count:
                draw.text((box[0] + CELL / 2, box[1] + CELL / 2), str(count), anchor="mm", font=small,
                          fill="white" if share > 0.5 else "black")
    return picture
