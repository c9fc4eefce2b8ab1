"""Image classification: the ImageNet-1k class of a photo, top five with their probabilities."""
from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from engines import contract
from engines.context import Context
from engines.endpoint import BATCHED, Endpoint
from engines.kinds import LOCAL, REMOTE, Engine
from engines.media import client_file, open_image, upload_path
from engines.outcome import ranked, same_top_label
from engines.params import PICKED_MODEL, TYPED_MODEL, Upload, Whole
from engines.refusal import refuse
from engines.runtime import ModelRuntime
from tasks import task

TASK = "image_classification"
TOP_K = 5
EXAMPLES = [str(path) for path in task(TASK).example_files()]


def top_classes(classifier, pictures: list[Image.Image]) -> list[dict[str, float]]:
    """One forward pass over RGB pictures -> each one's {label: probability} for its five likeliest classes,
    as gr.Label shows them."""
    batch = classifier.preprocess(pictures).to(device=classifier.device, dtype=classifier.dtype)
    with torch.inference_mode():
        output = classifier.model(batch)
    probabilities = getattr(output, "logits", output).float().softmax(dim=-1).cpu()
    top = probabilities.topk(min(TOP_K, probabilities.shape[-1]))
    return [{classifier.labels[i]: round(p, 4) for p, i in zip(values, indices)}
            for values, indices in zip(top.values.tolist(), top.indices.tolist())]


class ClassifierHere(Engine):
    kind = LOCAL

    def classes(self, image: Path, context: Context) -> dict[str, float]:
        """The photo's five likeliest classes, with the requests that wait with it."""
        classifier = self.runtime.load(self.spec, context)  # first: how large the picture must be decoded depends on it
        picture = open_image(image, decode_at_least=classifier.input_side)
        return self.runtime.run_batched(self.spec, picture, lambda pictures: top_classes(classifier, pictures))


class ClassifierRemote(Engine):
    kind = REMOTE

    def classes(self, image: Path, context: Context) -> dict[str, float]:
        """The photo's five likeliest classes: the file as sent (the engine decodes it as this process would)."""
        try:
            photo = image.read_bytes()
        except OSError:
            raise refuse("refuse_unreadable_image") from None
        return self.backend.call(lambda client: scores_of(client.image_classification(photo, top_k=TOP_K)),
                                 context.progress, context.deadline)


def scores_of(answer) -> dict[str, float]:
    """The contract's [{label, score}], likeliest first, as {label: probability}."""
    return {str(item.label): float(item.score) for item in answer}


KINDS = {LOCAL: ClassifierHere, REMOTE: ClassifierRemote}


def classify(runtime: ModelRuntime, image, model=None, custom_model=None,
             context: Context | None = None) -> dict[str, float]:
    """{label: probability} for the five likeliest classes. Requests waiting together share one forward pass."""
    image = upload_path(image)  # no photo is refused before any load
    engine = runtime.engine(TASK, model, custom_model)
    return runtime.remembered(engine.spec, ("classify", image),
                              lambda: engine.classes(image, runtime.context(context)))


def classify_image(runtime: ModelRuntime, image: dict, model: str | None = None, custom_model: str | None = None,
                   context: Context | None = None):
    """Classify a photo into the 1,000 ImageNet classes; returns the five likeliest with probabilities.

    Args:
        image: the photo (PNG, JPEG, WebP...; at most 40 megapixels).
        model: a listed model, e.g. torchvision:resnet50:IMAGENET1K_V2 or google/vit-base-patch16-224.
        custom_model: optional Hugging Face id of another image-classification model.
    """
    return classify(runtime, client_file(image), model, custom_model, context)


ENDPOINTS = (Endpoint("classify_image", classify_image, TASK,
                      {"image": Upload("param_image", required=True), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL},
                      run=BATCHED, sample=lambda model: (Path(EXAMPLES[1]), model, ""),
                      reads=ranked, agreement=same_top_label),)

MEDIA_INPUTS = True


def answer(runtime: ModelRuntime, request: contract.Request, context: Context):
    """Contract's image-classification: [{label, score}], likeliest first; at most the five the tab shows
    (`top_k`, 1 to 5, default 5)."""
    top_k = Whole("param_top_k", 1, TOP_K).check(request.parameters.get("top_k", TOP_K))
    with contract.media_file(request.inputs) as path:
        scores = runtime.engine(TASK).classes(path, context)
    return [{"label": label, "score": score} for label, score in list(scores.items())[:top_k]]
