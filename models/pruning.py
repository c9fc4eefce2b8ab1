"""Weight pruning, as the source documents teach it, for the optimisation lab: always on a copy of a model.

Unstructured pruning zeroes the smallest weights (torch.nn.utils.prune's L1 criterion); every tensor keeps its
shape, so dense kernels do the same work. Channel pruning removes whole output channels (or hidden units) with
the smallest L2 norm, the criterion of prune.ln_structured, and then takes them out of the tensors, so the
layers really shrink; only where the architecture shows which layer reads each channel (below).
"""
from __future__ import annotations

import sys

import torch
from torch import nn
from torch.nn.utils import prune

from models.digit_network import DigitCNN
from models.measure import NO_DEADLINE, in_time


def prune_unstructured(model: nn.Module, fraction: float, deadline: float = NO_DEADLINE) -> None:
    """The smallest `fraction` of each convolution's and linear layer's weights set to zero, in place; OutOfTime
    (models/measure.py) at `deadline`, the model half pruned: a layer's sort takes a tenth of a second in
    ResNet-50, all of them seven seconds."""
    for layer in model.modules():
        if type(layer) in (nn.Conv2d, nn.Linear):  # not their int8 or other subclasses
            in_time(deadline)
            memory_format = _memory_format(layer.weight)
            # the scores in the default layout: prune flattens them with view(), which a channels-last one refuses
            prune.l1_unstructured(layer, "weight", amount=fraction, importance_scores=layer.weight.contiguous())
            prune.remove(layer, "weight")  # the zeros made permanent: no mask left to apply at each call
            layer.weight.data = layer.weight.data.contiguous(memory_format=memory_format)


def prune_channels(model: nn.Module, fraction: float, deadline: float = NO_DEADLINE) -> bool:
    """The weakest `fraction` of the hidden channels taken out, in place: the inner channels of each ResNet
    block, the feed-forward units of each BERT or DistilBERT layer, the channels and hidden units of the digit
    CNN. False, and the model untouched, for an architecture with none of these. OutOfTime (models/measure.py)
    at `deadline`, between blocks."""
    # A model with ResNet blocks has imported them; any other is pruned without importing torchvision (two
    # seconds of a lab run's time, the first time).
    resnet = sys.modules.get("torchvision.models.resnet")
    basic_block, bottleneck = (resnet.BasicBlock, resnet.Bottleneck) if resnet is not None else ((), ())
    pruned = False
    for module in list(model.modules()):  # the loop replaces layers as it goes
        in_time(deadline)
        if isinstance(module, DigitCNN):
            _prune_digit_cnn(module, fraction)
        elif isinstance(module, basic_block):
            _prune_between(module, ("conv1", "bn1"), module, "conv2", fraction)
        elif isinstance(module, bottleneck):
            _prune_between(module, ("conv1", "bn1"), module, "conv2", fraction)
            _prune_between(module, ("conv2", "bn2"), module, "conv3", fraction)
        elif _is_linear(module, "lin1") and _is_linear(module, "lin2"):  # DistilBERT's feed-forward
            _prune_between(module, ("lin1",), module, "lin2", fraction)
        elif _is_linear(getattr(module, "intermediate", None), "dense") and \
                _is_linear(getattr(module, "output", None), "dense"):  # a BERT layer
            _prune_between(module.intermediate, ("dense",), module.output, "dense", fraction)
        else:
            continue
        pruned = True
    return pruned


def _is_linear(module, name: str) -> bool:
    return type(getattr(module, name, None)) is nn.Linear


def kept_channels(weight: torch.Tensor, fraction: float) -> torch.Tensor:
    """Indices, in order, of the output channels (rows) that stay: all but the `fraction` with the smallest L2
    norm, at least one."""
    norms = weight.detach().flatten(1).float().norm(dim=1)
    keep = max(1, round(len(norms) * (1 - fraction)))
    return norms.topk(keep).indices.sort().values


def _prune_between(producer: nn.Module, layers: tuple[str, ...], consumer: nn.Module, reader: str,
                   fraction: float) -> None:
    """Channels produced by producer.<layers> (a layer, then its norm) and read by consumer.<reader> only."""
    keep = kept_channels(getattr(producer, layers[0]).weight, fraction)
    for name in layers:
        setattr(producer, name, _sliced(getattr(producer, name), outputs=keep))
    setattr(consumer, reader, _sliced(getattr(consumer, reader), inputs=keep))


def _prune_digit_cnn(network: nn.Module, fraction: float) -> None:
    first, _, _, second, _, _ = network.features
    _, hidden, _, _, last = network.classifier
    keep_first = kept_channels(first.weight, fraction)
    network.features[0] = _sliced(first, outputs=keep_first)
    keep_second = kept_channels(second.weight, fraction)
    network.features[3] = _sliced(second, inputs=keep_first, outputs=keep_second)
    # Flatten lays out each channel's 5x5 map in turn: a channel is a run of 25 of the hidden layer's inputs.
    per_channel = hidden.in_features // second.out_channels
    columns = (keep_second[:, None] * per_channel + torch.arange(per_channel)).flatten()
    keep_hidden = kept_channels(hidden.weight, fraction)
    network.classifier[1] = _sliced(hidden, inputs=columns, outputs=keep_hidden)
    network.classifier[4] = _sliced(last, inputs=keep_hidden)


def _sliced(layer: nn.Module, outputs: torch.Tensor | None = None, inputs: torch.Tensor | None = None) -> nn.Module:
    """A smaller copy of a Conv2d (groups=1), Linear or BatchNorm2d keeping only the given channels."""
    state = layer.state_dict()
    if isinstance(layer, nn.BatchNorm2d):
        new = nn.BatchNorm2d(len(outputs), eps=layer.eps, momentum=layer.momentum)
        state = {name: value[outputs] if value.dim() else value for name, value in state.items()}
    else:
        weight = layer.weight
        if outputs is not None:
            weight = weight[outputs]
        if inputs is not None:
            weight = weight[:, inputs]
        if isinstance(layer, nn.Conv2d):
            if layer.groups != 1:
                raise ValueError("grouped convolutions are not pruned here")
            new = nn.Conv2d(weight.shape[1], weight.shape[0], layer.kernel_size, layer.stride, layer.padding,
                            layer.dilation, bias=layer.bias is not None, padding_mode=layer.padding_mode)
        else:
            new = nn.Linear(weight.shape[1], weight.shape[0], bias=layer.bias is not None)
        state = {"weight": weight}
        if layer.bias is not None:
            state["bias"] = layer.bias if outputs is None else layer.bias[outputs]
    new.load_state_dict(state)
    return new.to(device=layer.weight.device, dtype=layer.weight.dtype,
                  memory_format=_memory_format(layer.weight)).train(layer.training)


def _memory_format(weight: torch.Tensor) -> torch.memory_format:
    """Channels-last where a convolution's weights are (oneDNN's faster layout: models/vision.py)."""
    channels_last = weight.dim() == 4 and weight.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if channels_last else torch.contiguous_format
