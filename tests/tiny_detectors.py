"""Tiny object detectors of the real architectures, built offline: torchvision's SSDlite in the hub's local
torchvision format, and a small RT-DETR saved as transformers saves it; both with COCO's real category names."""
from __future__ import annotations

from pathlib import Path

import torch

SSD = ("ssdlite320_mobilenet_v3_large", "COCO_V1")
FAVOURED_SSD = [1, 17, 18, 62, 47]  # person, cat, dog, chair, cup (torchvision's COCO numbers)
FAVOURED_RTDETR = [0, 15, 16, 56, 41]  # the same classes in RT-DETR's 80


def _favoured(count: int, classes: list[int], others: float, spread: tuple[float, float]) -> torch.Tensor:
    """Class biases: `others` for all but `classes`, whose biases are spread evenly over `spread`."""
    bias = torch.full((count,), others)
    bias[classes] = torch.linspace(*spread, len(classes))
    return bias


def coco_categories() -> list[str]:
    """torchvision's 91 COCO entries: the 80 classes, numbered as COCO numbers them, the gaps 'N/A'."""
    from torchvision.models import get_model_weights

    return list(get_model_weights(SSD[0])[SSD[1]].meta["categories"])


def make_ssdlite_detector(directory: Path) -> Path:
    """SSDlite with random weights, a few classes favoured by its biases so that boxes come out at scores from
    the floor up under several labels (random weights alone score every class about 1/91, under the floor)."""
    import json

    from safetensors.torch import save_file
    from torchvision import models

    from models.vision import ARCHITECTURE_KEY, WEIGHTS_KEY

    torch.manual_seed(0)
    model = models.get_model(SSD[0], weights=None, weights_backbone=None, num_classes=len(coco_categories()))
    for block in model.head.classification_head.module_list:
        scores = block[-1]  # its last convolution: per anchor, one logit per class
        anchors = scores.out_channels // 91
        scores.bias.data = _favoured(91, FAVOURED_SSD, others=0.0, spread=(5.0, 9.0)).repeat(anchors)
    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, directory / "model.safetensors")
    (directory / "config.json").write_text(json.dumps({ARCHITECTURE_KEY: SSD[0], WEIGHTS_KEY: SSD[1]}))
    return directory


def make_rtdetr_detector(directory: Path) -> Path:
    """A random-weight RT-DETR (ResNet backbone of its own, no timm) with COCO's 80 labels, 20 queries, and the
    image processor PekingU/rtdetr_r18vd uses, at 320 pixels."""
    from transformers import RTDetrConfig, RTDetrForObjectDetection, RTDetrImageProcessor, RTDetrResNetConfig

    torch.manual_seed(0)
    labels = dict(enumerate(c for c in coco_categories() if c not in ("__background__", "N/A")))
    backbone = RTDetrResNetConfig(embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                                  layer_type="basic", out_features=["stage2", "stage3", "stage4"])
    config = RTDetrConfig(
        backbone_config=backbone, encoder_in_channels=[32, 64, 128], feat_strides=[8, 16, 32], encoder_hidden_dim=32,
        encoder_ffn_dim=64, encoder_attention_heads=2, encoder_layers=1, d_model=32, decoder_in_channels=[32, 32, 32],
        decoder_ffn_dim=64, decoder_attention_heads=2, decoder_layers=2, decoder_n_points=2, num_queries=20,
        num_denoising=0, id2label=labels, label2id={label: i for i, label in labels.items()})
    model = RTDetrForObjectDetection(config)
    for head in model.model.decoder.class_embed:
        head.bias.data = _favoured(len(labels), FAVOURED_RTDETR, others=-4.0, spread=(-1.0, 2.0))
    model.save_pretrained(directory)
    RTDetrImageProcessor(size={"height": 320, "width": 320}).save_pretrained(directory)
    return directory
