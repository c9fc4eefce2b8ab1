import numpy as np
import pytest
from PIL import Image, ImageOps

from conftest import SCREENSHOTS
from demos.digits import RUN_BUTTON
from engines import digits
from engines.media import drawing_file
from engines.refusal import Refusal
from messages import say
from models.digit_network import DIGITS, FIELD, ink_of, mnist_field


def top(probabilities: dict) -> str:
    return max(probabilities, key=probabilities.get)


def test_the_shipped_model_reads_each_example_drawing(runtime):
    for path in digits.EXAMPLES:  # drawn-<digit>.png
        probabilities, seen = digits.recognize(runtime, path)
        assert set(probabilities) == set(DIGITS) and sum(probabilities.values()) == pytest.approx(1, abs=1e-3)
        assert top(probabilities) == path.rsplit("-", 1)[-1].removesuffix(".png")
        assert seen.size == (digits.SHOWN_SIDE, digits.SHOWN_SIDE)
    assert runtime.cache.load_count == 1


def test_the_distilled_student_reads_them_too_and_is_a_separate_model(runtime):
    student = "assets:digits-cnn-student"
    for path in digits.EXAMPLES:
        assert top(digits.recognize(runtime, path, student)[0]) == path.rsplit("-", 1)[-1].removesuffix(".png")
    digits.recognize(runtime, digits.EXAMPLES[0])
    assert runtime.cache.load_count == 2


def test_distillation_mixes_the_teacher_s_softened_answers_with_the_labels():
    import torch
    import torch.nn.functional as F

    from training.distill_digits import distillation_loss

    logits, labels = torch.randn(8, 10), torch.randint(10, (8,))
    assert distillation_loss(logits, logits, labels, alpha=1.0) == pytest.approx(0, abs=1e-6)
    assert distillation_loss(logits, torch.randn(8, 10), labels, alpha=0.0) == pytest.approx(
        float(F.cross_entropy(logits, labels)))
    assert distillation_loss(logits, torch.randn(8, 10), labels, alpha=1.0) > 0


def test_the_distillation_script_runs_a_few_steps(tmp_path):
    from models.digit_network import DigitCNN
    from training import distill_digits

    assert distill_digits.main(["--steps", "2", "--synthetic", "64", "--out", str(tmp_path)]) == 0
    student = DigitCNN.from_pretrained(tmp_path, strict=True)
    assert sum(p.numel() for p in student.parameters()) * 5 < sum(p.numel() for p in DigitCNN().parameters())


def test_light_ink_on_dark_reads_as_dark_ink_on_light(runtime, tmp_path):
    inverted = tmp_path / "inverted.png"
    ImageOps.invert(Image.open(digits.EXAMPLES[0]).convert("RGB")).save(inverted)
    assert top(digits.recognize(runtime, digits.EXAMPLES[0])[0]) == top(digits.recognize(runtime, str(inverted))[0])


def test_the_field_is_made_as_mnist_made_its_digits():
    ink = np.zeros((200, 100), np.float32)
    ink[20:180, 40:60] = 1  # a tall bar, off centre
    field = mnist_field(ink)
    assert field.shape == (FIELD, FIELD) and field.max() == pytest.approx(1)
    rows, columns = np.nonzero(field > 0.1)
    assert rows.max() - rows.min() + 1 == 20, "the long side fits the 20-pixel box"
    assert columns.max() - columns.min() + 1 < 6, "the shape is kept"
    centre = np.array(np.nonzero(field)).mean(axis=1)
    assert np.allclose(centre, (FIELD - 1) / 2, atol=1), "the centre of mass is in the middle"
    assert mnist_field(np.zeros((50, 50), np.float32)) is None


def test_paper_is_found_on_the_border():
    drawing = Image.new("RGB", (50, 50), (230, 230, 230))  # grey paper, dark ink
    drawing.paste((20, 20, 20), (20, 10, 30, 40))
    ink = ink_of(drawing)
    assert ink[0, 0] == 0 and ink[25, 25] == pytest.approx((230 - 20) / 230)


def test_sketchpad_values_and_plain_uploads_are_read(tmp_path, monkeypatch):
    from gradio.utils import get_upload_folder

    upload = tmp_path / "upload.png"
    Image.open(digits.EXAMPLES[0]).save(upload)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    assert get_upload_folder() == str(tmp_path)
    for value in ({"background": None, "layers": [], "composite": {"path": str(upload)}, "id": None},
                  {"background": {"path": str(upload)}, "layers": [], "composite": None}, {"path": str(upload)}):
        assert drawing_file(value) == upload.resolve()


@pytest.mark.parametrize("value, message", [
    ({"background": None, "layers": [], "composite": None}, "Draw a digit first"), (None, "Draw a digit first"),
    ({"id": "abc"}, "Draw a digit first"), ({"composite": {"path": "/etc/passwd"}}, "not an upload"),
    ({"composite": ["a"]}, "not an upload"), (42, "not an upload"),
])
def test_no_drawing_is_refused_in_plain_words(runtime, value, message):
    with pytest.raises(Refusal, match=message):
        digits.recognize_digit(runtime, value)


def test_an_empty_drawing_is_refused(runtime, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (280, 280), "white").save(blank)
    with pytest.raises(Refusal, match="drawing is empty"):
        digits.recognize(runtime, str(blank))


# A digit as a person draws it with the mouse: strokes through points on the pad (fractions of its side).
STROKES = {"7": [[(0.3, 0.28), (0.7, 0.28), (0.45, 0.78)]],
           "3": [[(0.33, 0.3), (0.5, 0.22), (0.66, 0.32), (0.5, 0.48), (0.68, 0.62), (0.52, 0.78), (0.32, 0.72)]]}


def white_square(canvas) -> tuple[float, float, float]:
    """Where the pad's white drawing area is on the screen, x, y and side: the editor centres it in its canvas
    element, a 30-pixel margin around it (Gradio 6.31's image editor)."""
    box = canvas.bounding_box()
    side = min(box["width"], box["height"]) - 60
    return box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2, side


@pytest.mark.browser
def test_a_digit_drawn_with_the_mouse_is_read(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.get_by_role("tab", name=say("tab_digits")).click()
    for digit, strokes in STROKES.items():
        page.locator("#digits-pad button[aria-label=Brush]").click()
        x, y, side = white_square(page.locator("#digits-pad canvas").last)
        for stroke in strokes:
            page.mouse.move(x + stroke[0][0] * side, y + stroke[0][1] * side)
            page.mouse.down()
            for point in stroke[1:]:
                page.mouse.move(x + point[0] * side, y + point[1] * side, steps=3)  # as test_browser.DRAG_STEPS
            page.mouse.up()
        page.wait_for_timeout(500)  # the pad hands its strokes over when the button is pressed
        page.get_by_role("button", name=say(RUN_BUTTON), exact=True).click()
        page.locator("#digits-output .output-class").filter(has_text=digit).wait_for(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / f"digits-drawn-{digit}.png"), full_page=True)
        page.locator("#digits-pad button[aria-label='Clear canvas']").click()
    page.close()


def test_recognize_digit_through_the_api(runtime, connect):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    import app as hub_app

    client = connect(hub_app.build_app(runtime))
    model = runtime.default("digits").name
    drawing = {"background": None, "layers": [], "composite": handle_file(digits.EXAMPLES[2])}
    label, seen = client.predict(drawing, model, api_name="/recognize_digit")
    assert label["label"] == "7" and len(label["confidences"]) == 10
    assert Image.open(seen["path"]).size == (digits.SHOWN_SIDE, digits.SHOWN_SIDE)
    with pytest.raises(AppError, match="Draw a digit first"):
        client.predict({"background": None, "layers": [], "composite": None}, model, api_name="/recognize_digit")
