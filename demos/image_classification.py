"""Image classification: the ImageNet-1k class of a photo, top five with their probabilities."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import torch
from PIL import Image

from demos.common import model_picker, refuse
from demos.endpoints import BATCHED, Endpoint, message_area, serve
from demos.i18n import ui_text
from demos.media import MAX_IMAGE_PIXELS, client_file, open_image, upload_path
from demos.params import PICKED_MODEL, TYPED_MODEL, Upload
from models.runtime import ModelRuntime
from tasks import task

TASK = "image_classification"
RUN_BUTTON = "classification_run"  # the catalog key of the button that runs it
RESULT = "#image-classification-output"  # where its result shows (a CSS selector)
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


def classify(runtime: ModelRuntime, image, model=None, custom_model=None, progress=None) -> dict[str, float]:
    """{label: probability} for the five likeliest classes. Requests waiting together share one forward pass."""
    image = upload_path(image)  # no photo is refused before any load
    spec = runtime.spec(TASK, model, custom_model)
    backend = runtime.remote(TASK)
    if backend is not None:  # the file as sent: the engine decodes it as this process would
        try:
            photo = image.read_bytes()
        except OSError:
            raise refuse("refuse_unreadable_image") from None
        return backend.call(lambda client: scores_of(client.image_classification(photo, top_k=TOP_K)), progress)
    return runtime.remembered(spec, ("classify", image), lambda: classes_here(runtime, spec, image, progress))


def classes_here(runtime: ModelRuntime, spec, image, progress=None) -> dict[str, float]:
    """The photo's five likeliest classes, from the model in this process (with the requests that wait with it)."""
    classifier = runtime.load(spec, progress)  # first: how large the picture must be decoded depends on it
    picture = open_image(image, decode_at_least=classifier.input_side)
    return runtime.run_batched(spec, picture, lambda pictures: top_classes(classifier, pictures))


def scores_of(answer) -> dict[str, float]:
    """The contract's [{label, score}], likeliest first, as {label: probability}."""
    return {str(item.label): float(item.score) for item in answer}


def classify_image(runtime: ModelRuntime, image: dict, model: str | None = None, custom_model: str | None = None,
                   progress=None):
    """Classify a photo into the 1,000 ImageNet classes; returns the five likeliest with probabilities.

    Args:
        image: the photo (PNG, JPEG, WebP...; at most 40 megapixels).
        model: a listed model, e.g. torchvision:resnet50:IMAGENET1K_V2 or google/vit-base-patch16-224.
        custom_model: optional Hugging Face id of another image-classification model.
    """
    return classify(runtime, client_file(image), model, custom_model, progress)


ENDPOINTS = (Endpoint("classify_image", classify_image, TASK,
                      {"image": Upload("param_image", required=True), "model": PICKED_MODEL,
                       "custom_model": TYPED_MODEL},
                      run=BATCHED,
                      sample=lambda model: (Path(EXAMPLES[1]), model, "")),)


def build(runtime: ModelRuntime) -> None:
    megapixels, megabytes = MAX_IMAGE_PIXELS // 1_000_000, runtime.settings.max_upload_mb
    gr.Markdown(ui_text("classification_intro", megapixels=megapixels, megabytes=megabytes))
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=ui_text("classification_photo"), type="filepath",
                             sources=["upload", "clipboard", "webcam"], height=320)
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text(RUN_BUTTON), variant="primary")
        with gr.Column():
            labels = gr.Label(label=ui_text("classification_top5"), num_top_classes=TOP_K,
                              elem_id="image-classification-output")
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[image], label=ui_text("examples_label"))

    serve(ENDPOINTS[0], runtime, run.click, [image, model, custom_model], [labels], message)
