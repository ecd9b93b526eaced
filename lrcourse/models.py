"""Small models for the chapters: an MLP, a 1-D CNN for MNIST-1D, a small ResNet for images.

Each is an ``nn.Sequential`` (so its children are the layer groups that discriminative
learning rates and gradual unfreezing work with) and takes ``norm=None | "batch"``, or
``"layer"`` (LayerNorm over each example's features, Ba et al. 2016) or ``"group"`` (GroupNorm,
Wu & He 2018: each example's channels in groups of ``channels // 8``), which use no batch statistics.
Each lands on the profile's device (:func:`lrcourse.device`: CUDA under the ``gpu``
profile when there is one) unless ``device=`` says otherwise, the device
:func:`lrcourse.load` puts the data on; and called on an input on another device, it moves
there first (so a model built on the GPU also serves a chapter's small CPU tensors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .profiles import device as default_device


def _on(model: nn.Sequential, device: torch.device | str | None) -> nn.Sequential:
    model.register_forward_pre_hook(_follow_input)
    return model.to(device if device is not None else default_device())


def _follow_input(model: nn.Module, args: tuple) -> None:
    """Move the model to its input's device before a forward pass that would otherwise fail.

    A chapter that keeps a small set on the CPU under the ``gpu`` profile then calls a model
    built on the GPU without a device error; the model stays where it was moved.
    """
    x = args[0] if args else None
    p = next(model.parameters(), None)
    if torch.is_tensor(x) and p is not None and p.device != x.device:
        model.to(x.device)


def _norm(kind: str | None, channels: int, dims: int) -> nn.Module:
    if kind is None:
        return nn.Identity()
    if kind == "batch":
        return {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims](channels)
    if kind == "layer":
        # over the features of each example; for images, over all channels and positions
        return nn.LayerNorm(channels) if dims == 1 else nn.GroupNorm(1, channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(channels, 8), channels)
    raise ValueError(f"norm must be None, 'batch', 'layer' or 'group', got {kind!r}.")


def mlp(
    in_features: int,
    num_classes: int,
    hidden: Sequence[int] = (128, 128),
    *,
    norm: str | None = None,
    activation: type[nn.Module] = nn.ReLU,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """A multilayer perceptron: ``Flatten``, then ``Linear -> norm -> activation`` per hidden layer.

    Used in: chapters 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14.

    >>> mlp(40, 10, hidden=(32,))(torch.zeros(5, 40)).shape
    torch.Size([5, 10])
    >>> [type(m).__name__ for m in mlp(40, 10, hidden=(32,), norm="group")[1]]
    ['Linear', 'GroupNorm', 'ReLU']
    """
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        block = [nn.Linear(width, h), _norm(norm, h, 1), activation()]
        layers.append(nn.Sequential(*[m for m in block if not isinstance(m, nn.Identity)]))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return _on(nn.Sequential(*layers), device)


def cnn1d(
    length: int = 40,
    num_classes: int = 10,
    channels: int = 32,
    *,
    norm: str | None = None,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """A three-layer 1-D convolutional net for MNIST-1D sequences of shape ``(N, length)``.

    Used in: chapters 12, 15.

    >>> cnn1d()(torch.zeros(2, 40)).shape
    torch.Size([2, 10])
    """

    def block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
        mods = [nn.Conv1d(c_in, c_out, 5, stride=stride, padding=2), _norm(norm, c_out, 1), nn.ReLU()]
        return nn.Sequential(*[m for m in mods if not isinstance(m, nn.Identity)])

    return _on(nn.Sequential(
        nn.Unflatten(1, (1, length)),
        block(1, channels, 2),
        block(channels, channels, 2),
        block(channels, channels, 2),
        nn.Sequential(nn.Flatten(), nn.Linear(channels * ((length + 7) // 8), num_classes)),
    ), device)


class Residual(nn.Module):
    """``x + f(x)``: the skip connection of a ResNet block.

    Used in: no chapter.

    >>> Residual(nn.Identity())(torch.ones(1)).item()
    2.0
    """

    def __init__(self, f: nn.Module) -> None:
        super().__init__()
        self.f = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f(x)


def _conv(c_in: int, c_out: int, norm: str | None) -> nn.Sequential:
    mods = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=norm is None), _norm(norm, c_out, 2), nn.ReLU()]
    return nn.Sequential(*[m for m in mods if not isinstance(m, nn.Identity)])


def resnet(
    in_channels: int = 3,
    num_classes: int = 10,
    width: int = 32,
    *,
    norm: str | None = "batch",
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """A small ResNet in the style of the fast CIFAR-10 recipes (prep, three stages, head).

    Used in: no chapter.

    >>> resnet(width=8)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    w = width
    return _on(nn.Sequential(
        _conv(in_channels, w, norm),
        nn.Sequential(_conv(w, 2 * w, norm), nn.MaxPool2d(2), Residual(nn.Sequential(_conv(2 * w, 2 * w, norm), _conv(2 * w, 2 * w, norm)))),
        nn.Sequential(_conv(2 * w, 4 * w, norm), nn.MaxPool2d(2)),
        nn.Sequential(_conv(4 * w, 8 * w, norm), nn.MaxPool2d(2), Residual(nn.Sequential(_conv(8 * w, 8 * w, norm), _conv(8 * w, 8 * w, norm)))),
        nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8 * w, num_classes)),
    ), device)


def pretrained_resnet18(
    num_classes: int = 10, weights: str | None = "IMAGENET1K_V1", *, device: torch.device | str | None = None
) -> nn.Sequential:
    """torchvision's ResNet-18 as six layer groups for fine-tuning: stem, four stages, a new head.

    Used in: no chapter.

    ``weights`` names torchvision's pretrained weights (downloaded on first use, then cached
    by torch); ``None`` gives random ones. The head is a new ``Linear`` layer for
    ``num_classes``. As an ``nn.Sequential`` of groups it fits :mod:`lrcourse.finetune`:
    ``discriminative_groups`` gives each group its learning rate and ``GradualUnfreeze``
    opens them from the head down.

    >>> m = pretrained_resnet18(num_classes=4, weights=None)
    >>> len(m), m(torch.zeros(2, 3, 32, 32)).shape
    (6, torch.Size([2, 4]))
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
    import torchvision  # here, not at the top: importing it costs a second most chapters never need

    try:
        r = torchvision.models.resnet18(weights=weights)
    except Exception as err:  # noqa: BLE001 - no network, a blocked URL, a bad cache file: all one message
        raise RuntimeError(
            f"torchvision's ResNet-18 weights {weights!r} could not be had ({type(err).__name__}); "
            "connect to the internet once (torch caches them), or pass weights=None for random weights."
        ) from err
    stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
    head = nn.Sequential(r.avgpool, nn.Flatten(), nn.Linear(r.fc.in_features, num_classes))
    return _on(nn.Sequential(stem, r.layer1, r.layer2, r.layer3, r.layer4, head), device)


def for_data(data: object, kind: str = "auto", **kwargs: object) -> nn.Sequential:
    """A sensible model for a :class:`lrcourse.data.Data`: MLP for vectors, ResNet for images.

    Used in: chapter 15.

    ``kind`` is ``"auto"``, ``"mlp"``, ``"cnn1d"`` or ``"resnet"``; the model lands on the
    data's device.

    >>> from lrcourse.data import load
    >>> for_data(load("blobs", n_train=8, n_test=8))(torch.zeros(1, 2)).shape
    torch.Size([1, 3])
    """
    shape = data.input_shape  # type: ignore[attr-defined]
    k = data.num_classes  # type: ignore[attr-defined]
    kwargs.setdefault("device", data.x_train.device)  # type: ignore[attr-defined]
    if kind == "auto":
        kind = "resnet" if len(shape) == 3 else "mlp"
    if kind == "mlp":
        return mlp(int(torch.tensor(shape).prod()), k, **kwargs)  # type: ignore[arg-type]
    if kind == "cnn1d":
        return cnn1d(shape[0], k, **kwargs)  # type: ignore[arg-type]
    if kind == "resnet":
        return resnet(shape[0], k, **kwargs)  # type: ignore[arg-type]
    raise ValueError(f"kind must be 'auto', 'mlp', 'cnn1d' or 'resnet', got {kind!r}.")
