"""Image classification: the ImageNet-1k class of a photo, top five with their probabilities."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import torch
from PIL import Image

from demos.common import message_area, model_picker, on_device, progress_callback, serve
from demos.i18n import ui_text
from demos.media import MAX_IMAGE_PIXELS, client_file, open_image
from models.runtime import ModelRuntime

TASK = "image_classification"
TITLE, TITLE_ZH = "Image classification", "图像分类"
TOP_K = 5
EXAMPLES = sorted(str(p) for p in (Path(__file__).parent.parent / "assets/examples/images").glob("*.jpg"))


def top_classes(classifier, pictures: list[Image.Image]) -> list[dict[str, float]]:
    """One forward pass over RGB pictures -> each one's {label: probability} for its five likeliest classes,
    as gr.Label shows them."""
    parameter = next(classifier.model.parameters())
    batch = classifier.preprocess(pictures).to(device=parameter.device, dtype=parameter.dtype)
    with torch.inference_mode():
        output = classifier.model(batch)
    probabilities = getattr(output, "logits", output).float().softmax(dim=-1).cpu()
    top = probabilities.topk(min(TOP_K, probabilities.shape[-1]))
    return [{classifier.labels[i]: round(p, 4) for p, i in zip(values, indices)}
            for values, indices in zip(top.values.tolist(), top.indices.tolist())]


def classify(runtime: ModelRuntime, image, model=None, custom_model=None, progress=None) -> dict[str, float]:
    """{label: probability} for the five likeliest classes. Requests waiting together share one forward pass."""
    spec = runtime.spec(TASK, model, custom_model)
    classifier = runtime.load(spec, progress)  # first: how large the picture must be decoded depends on the model
    picture = open_image(image, decode_at_least=classifier.input_side)
    return runtime.run_batched(spec, picture, lambda pictures: top_classes(classifier, pictures))


def build(runtime: ModelRuntime) -> None:
    megapixels, megabytes = MAX_IMAGE_PIXELS // 1_000_000, runtime.settings.max_upload_mb
    gr.Markdown(ui_text(
        "image_intro",
        f"Which of the 1,000 ImageNet classes is in a photo? Any image mode (RGBA, palette, grayscale, CMYK, "
        f"16-bit) is converted to RGB and turned upright as its EXIF says. Up to {megapixels} megapixels and "
        f"{megabytes} MB.",
        f"照片里是 1000 个 ImageNet 类别中的哪一个？任何图像模式（RGBA、调色板、灰度、CMYK、16 位）都会转换为 RGB，"
        f"并按 EXIF 信息摆正。最多 {megapixels} 百万像素、{megabytes} MB。",
    ))
    with gr.Row():
        with gr.Column():
            image = gr.Image(label=ui_text("photo", "Image", "图像"), type="filepath", sources=["upload", "clipboard", "webcam"], height=320)
            model, custom_model = model_picker(runtime, TASK)
            run = gr.Button(ui_text("classify", "Classify", "分类"), variant="primary")
        with gr.Column():
            labels = gr.Label(label=ui_text("top5", "Top 5", "前 5 名"), num_top_classes=TOP_K, elem_id="image-classification-output")
            message = message_area()
    gr.Examples(examples=EXAMPLES, inputs=[image])

    def classify_image(image: dict, model: str, custom_model: str, progress=gr.Progress(track_tqdm=True)):
        """Classify a photo into the 1,000 ImageNet classes; returns the five likeliest with probabilities.

        Args:
            image: the photo (PNG, JPEG, WebP...; at most 40 megapixels).
            model: a listed model, e.g. torchvision:resnet50:IMAGENET1K_V2 or google/vit-base-patch16-224.
            custom_model: optional Hugging Face id of another image-classification model.
        """
        return classify(runtime, client_file(image), model, custom_model, progress_callback(progress))

    serve(run.click, classify_image, [image, model, custom_model], [labels], message, api_name="classify_image",
          **on_device(runtime, batched=TASK))
