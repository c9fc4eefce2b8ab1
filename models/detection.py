"""Object detectors from torchvision (SSD, Faster R-CNN; weights from download.pytorch.org) or Hugging Face
(RT-DETR, DETR...), behind one interface: pictures in, each one's boxes out, in its own pixels."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from models.registry import ModelSpec
from models.vision import processor_input_side, torchvision_state, weights_enum

if TYPE_CHECKING:
    import torch

# The lowest score a detector keeps; each request then keeps what reaches its own threshold, so requests with
# different thresholds share one forward pass.
SCORE_FLOOR = 0.05
MAX_DETECTIONS = 100
# torchvision's COCO list numbers its 80 classes 1-90, as COCO does; these fill the gaps and the 0.
_NOT_A_CLASS = {"__background__", "N/A"}


class Detection(NamedTuple):
    label: str
    score: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the picture's pixels, inside the picture


@dataclass
class ObjectDetector:
    model: Any
    # RGB pictures -> per picture, (label index, score, (x0, y0, x1, y1) as floats) at or above SCORE_FLOOR
    forward: Callable[[list], list[list[tuple[int, float, tuple]]]]
    labels: list[str]
    input_side: int | None = None  # as ImageClassifier.input_side: how small a large JPEG may be decoded

    def detect(self, pictures: list) -> list[list[Detection]]:
        """Each picture's detections, likeliest first, boxes clipped to the picture."""
        found = []
        for picture, raw in zip(pictures, self.forward(pictures)):
            detections = []
            for index, score, box in raw:
                label = self.labels[index] if 0 <= index < len(self.labels) else str(index)
                if label in _NOT_A_CLASS:
                    continue
                x0, y0, x1, y1 = (round(min(max(v, 0), side)) for v, side in
                                  zip(box, (picture.width, picture.height) * 2))
                if x1 > x0 and y1 > y0:
                    detections.append(Detection(label, round(float(score), 4), (x0, y0, x1, y1)))
            found.append(sorted(detections, key=lambda d: -d.score)[:MAX_DETECTIONS])
        return found


def _torchvision_detector(architecture: str, weights: str, state_dict: dict, device: str) -> ObjectDetector:
    import torch
    from torchvision import models
    from torchvision.transforms.v2 import functional as F

    categories = list(weights_enum(architecture, weights).meta["categories"])
    # weights_backbone=None: the backbone's ImageNet weights are in the state dict; asking for them would download
    model = models.get_model(architecture, weights=None, weights_backbone=None, num_classes=len(categories))
    model.load_state_dict(state_dict, strict=True)
    heads = getattr(model, "roi_heads", model)  # Faster R-CNN keeps its thresholds in its heads, SSD on itself
    heads.score_thresh, heads.detections_per_img = SCORE_FLOOR, MAX_DETECTIONS
    model = model.to(device).eval()

    def forward(pictures: list) -> list:
        batch = [F.to_dtype(F.pil_to_tensor(p), torch.float32, scale=True).to(device) for p in pictures]
        with torch.inference_mode():
            outputs = model(batch)  # the model resizes and normalises each picture itself
        return [list(zip(o["labels"].tolist(), o["scores"].tolist(), o["boxes"].tolist())) for o in outputs]

    # the shorter side the model's own transform scales a picture to (SSDlite 320, Faster R-CNN 800)
    return ObjectDetector(model, forward, categories, input_side=model.transform.min_size[0])


def _transformers_detector(model_dir: Path, device: str) -> ObjectDetector:
    import torch
    from transformers import AutoImageProcessor, AutoModelForObjectDetection

    processor = AutoImageProcessor.from_pretrained(model_dir)
    model = AutoModelForObjectDetection.from_pretrained(model_dir, trust_remote_code=False).to(device).eval()

    def forward(pictures: list) -> list:
        inputs = processor(images=pictures, return_tensors="pt").to(device)
        with torch.inference_mode():
            outputs = model(**inputs)
        results = processor.post_process_object_detection(
            outputs, threshold=SCORE_FLOOR, target_sizes=[(p.height, p.width) for p in pictures])
        return [list(zip(r["labels"].tolist(), r["scores"].tolist(), r["boxes"].tolist())) for r in results]

    labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
    return ObjectDetector(model, forward, labels, input_side=processor_input_side(processor))


def load_object_detector(spec: ModelSpec, model_dir: Path, device: str, dtype: torch.dtype) -> ObjectDetector:
    """Detectors run in float32 whatever the device's dtype: half precision rounds box corners past 2,048
    pixels to a multiple of 2 or more, and these detectors are small."""
    torchvision_model = torchvision_state(spec, model_dir)
    if torchvision_model is not None:
        return _torchvision_detector(*torchvision_model, device)
    return _transformers_detector(model_dir, device)
