"""Handwritten digits: a digit drawn with the mouse or a finger (or a picture of one) -> which of 0-9 it is."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engines import contract
from engines.context import Context
from engines.endpoint import BATCHED, Endpoint
from engines.image_classification import scores_of
from engines.kinds import LOCAL, REMOTE, Engine
from engines.media import drawing_file, open_image, upload_path
from engines.outcome import ranked, same_top_label
from engines.params import PICKED_MODEL, Upload, Whole
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from models.digit_network import DIGITS, ink_of, mnist_field
from tasks import task

TASK = "digits"
EXAMPLES = [str(path) for path in task(TASK).example_files()]
# A picture is reduced to this before its ink is read: a digit needs no more, and it bounds the work.
MAX_SIDE = 1024
SHOWN_SIDE = 140  # the field as the page shows it, five times its size


def field_of(upload) -> np.ndarray:
    """The 28x28 field the network reads, made from the picture as MNIST made its digits; refuses a blank one."""
    picture = open_image(upload, decode_at_least=MAX_SIDE // 2)  # a large JPEG is decoded at a fraction
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    field = mnist_field(ink_of(picture))
    if field is None:
        raise refuse("refuse_no_digit")
    return field


def read_digits(network, fields: list[np.ndarray]) -> list[dict[str, float]]:
    """One forward pass over fields -> each one's {digit: probability} for the ten digits."""
    batch = torch.from_numpy(np.stack(fields))[:, None].to(device=network.device, dtype=network.dtype)
    with torch.inference_mode():
        probabilities = network(batch).float().softmax(dim=-1).cpu()
    return [{digit: round(p, 4) for digit, p in zip(DIGITS, row)} for row in probabilities.tolist()]


def field_picture(field: np.ndarray) -> Image.Image:
    return Image.fromarray((field * 255).astype(np.uint8)).resize((SHOWN_SIDE, SHOWN_SIDE), Image.Resampling.NEAREST)


class DigitsHere(Engine):
    kind = LOCAL

    def read(self, upload, context: Context) -> tuple[dict[str, float], np.ndarray]:
        """The ten digits' probabilities for the picture, and the field the network saw, with the requests that
        wait with it."""
        field = field_of(upload)  # a blank drawing is refused before any load
        network = self.runtime.load(self.spec, context)
        return self.runtime.run_batched(self.spec, field, lambda fields: read_digits(network, fields)), field


class DigitsRemote(Engine):
    kind = REMOTE

    def read(self, upload, context: Context) -> tuple[dict[str, float], np.ndarray]:
        """The ten digits' probabilities for the picture, and the field the engine saw."""
        # The field is made here too: a blank drawing is refused before any request, and the page shows the field.
        # The engine gets the picture as sent and makes the same field from it (a PNG of the field would round it).
        field = field_of(upload)
        drawing = upload_path(upload).read_bytes()
        return self.backend.call(lambda client: digit_scores(client.image_classification(drawing, top_k=len(DIGITS))),
                                 context.progress, context.deadline), field


def digit_scores(answer) -> dict[str, float]:
    """The contract's [{label, score}] as {digit: probability}, in the digits' order."""
    scores = scores_of(answer)
    return {digit: scores[digit] for digit in DIGITS}


KINDS = {LOCAL: DigitsHere, REMOTE: DigitsRemote}


def recognize(runtime: ModelRuntime, upload, model=None,
              context: Context | None = None) -> tuple[dict[str, float], Image.Image]:
    """The ten digits' probabilities and the field the network saw. Requests waiting together share one forward."""
    if upload is None:
        raise refuse("refuse_no_digit")
    engine = runtime.engine(TASK, model)

    def answer():
        scores, field = engine.read(upload, runtime.context(context))
        return scores, field_picture(field)

    return runtime.remembered(engine.spec, ("recognize", upload_path(upload)), answer)


def recognize_digit(runtime: ModelRuntime, image: dict, model: str | None = None, context: Context | None = None):
    """Read one handwritten digit (0-9); returns the ten digits' probabilities and the 28x28 field the network
    saw.

    Args:
        image: the drawing as the Sketchpad sends it: {"background": null, "layers": [], "composite": file}; the
            file may be any picture of one digit, dark on light or light on dark (at most 40 megapixels).
        model: a listed model, e.g. assets:digits-cnn.
    """
    return recognize(runtime, drawing_file(image), model, context)


ENDPOINTS = (Endpoint("recognize_digit", recognize_digit, TASK,
                      {"image": Upload("param_drawing"), "model": PICKED_MODEL},
                      run=BATCHED,
                      sample=lambda model: ({"background": None, "layers": [], "composite": Path(EXAMPLES[0])},
                                            model),
                      reads=lambda answer: ranked(*answer), agreement=same_top_label),)

MEDIA_INPUTS = True


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's image-classification of a picture of one digit (any picture the tab takes: the field is made
    here, as the tab makes it): [{label: "0".."9", score}], likeliest first, all ten unless `top_k` (1 to 10)."""
    top_k = Whole("param_top_k", 1, len(DIGITS)).check(request.parameters.get("top_k", len(DIGITS)))
    with contract.media_file(request.inputs) as path:
        scores, _ = runtime.engine(TASK).read(path, context)
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:top_k]
    return [{"label": digit, "score": score} for digit, score in ranked]
