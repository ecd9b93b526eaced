"""Fine-tuning helpers: layer groups, discriminative learning rates, freezing and gradual unfreezing.

The models of :mod:`lrcourse.models` are ``nn.Sequential``; their children that hold
parameters are the *layer groups*, numbered from the input (0) to the head (last).
ULMFiT (Howard and Ruder, 2018) gives each group its own learning rate, smaller for
groups nearer the input, which hold the most general features:

    lr_k = lr_head / factor ** (G − 1 − k)        (k = 0 … G−1, factor ≈ 2.6)

:func:`discriminative_groups` returns such param groups **head first**, so that
``optimizer.param_groups[0]`` is the head: :func:`lrcourse.train.fit` and
:func:`lrcourse.lr_finder.range_test` drive group 0 and keep the others at their ratio,
so a schedule or a range test speaks in the head's learning rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

__all__ = [
    "layer_groups",
    "discriminative_lrs",
    "discriminative_groups",
    "freeze",
    "unfreeze_top",
    "trainable_groups",
    "GradualUnfreeze",
]


def layer_groups(model: nn.Module) -> list[nn.Module]:
    """The children of ``model`` that hold parameters, from the input to the head.

    Used in: chapter 12.

    >>> from lrcourse.models import mlp
    >>> len(layer_groups(mlp(40, 10, hidden=(32, 32))))  # two hidden blocks and the head; Flatten has no weights
    3
    """
    children = list(model.children())
    if not children:
        raise ValueError(
            f"{type(model).__name__} has no child modules to group; use an nn.Sequential such as lrcourse.models.mlp."
        )
    groups = [c for c in children if any(True for _ in c.parameters())]
    if not groups:
        raise ValueError(f"{type(model).__name__} has no parameters.")
    return groups


def discriminative_lrs(lr_head: float, n_groups: int, factor: float = 2.6) -> list[float]:
    """Learning rates from the input group to the head: each group ``factor`` times below the next.

    Used in: no chapter.

    >>> [round(lr, 6) for lr in discriminative_lrs(0.1, 3, factor=2.0)]
    [0.025, 0.05, 0.1]
    """
    if not lr_head > 0:
        raise ValueError(f"lr_head must be positive, got {lr_head}.")
    if n_groups < 1:
        raise ValueError(f"n_groups must be at least 1, got {n_groups}.")
    if not factor >= 1:
        raise ValueError(f"factor must be at least 1 (1 means one LR for all groups), got {factor}.")
    return [lr_head / factor ** (n_groups - 1 - k) for k in range(n_groups)]


def discriminative_groups(
    model: nn.Module,
    lr_head: float,
    factor: float = 2.6,
    *,
    lrs: Sequence[float] | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """Optimizer param groups, **head first**, with discriminative learning rates.

    Used in: chapter 12.

    By default group ``k`` (counted from the input) gets ``lr_head / factor**(G-1-k)``; pass
    ``lrs`` (input to head, one per group) for any other spread. ``options`` (e.g.
    ``weight_decay``) go into every group. ``factor=1`` gives one LR for all layers.

    >>> from lrcourse.models import mlp
    >>> import torch
    >>> opt = torch.optim.SGD(discriminative_groups(mlp(4, 2, hidden=(8,)), 0.1, factor=10), lr=0.1)
    >>> [round(g["lr"], 6) for g in opt.param_groups]
    [0.1, 0.01]
    """
    groups = layer_groups(model)
    if lrs is None:
        lrs = discriminative_lrs(lr_head, len(groups), factor)
    elif len(lrs) != len(groups):
        raise ValueError(f"lrs has {len(lrs)} values but the model has {len(groups)} layer groups; give one per group.")
    out = [{"params": list(g.parameters()), "lr": float(lr), **options} for g, lr in zip(groups, lrs)]
    return out[::-1]


def freeze(model: nn.Module, frozen: int) -> nn.Module:
    """Freeze the first ``frozen`` layer groups (from the input); make the rest trainable.

    Used in: no chapter.

    >>> from lrcourse.models import mlp
    >>> trainable_groups(freeze(mlp(4, 2, hidden=(8, 8)), 2))
    [False, False, True]
    """
    groups = layer_groups(model)
    if not 0 <= frozen <= len(groups):
        raise ValueError(f"frozen must be between 0 and {len(groups)} (the number of layer groups), got {frozen}.")
    for k, g in enumerate(groups):
        for p in g.parameters():
            p.requires_grad_(k >= frozen)
    return model


def unfreeze_top(model: nn.Module, n: int) -> nn.Module:
    """Make the top ``n`` layer groups trainable and freeze the others (``n=1``: the head only).

    Used in: chapter 12.

    >>> from lrcourse.models import mlp
    >>> trainable_groups(unfreeze_top(mlp(4, 2, hidden=(8, 8)), 1))
    [False, False, True]
    """
    groups = layer_groups(model)
    if not 0 <= n <= len(groups):
        raise ValueError(f"n must be between 0 and {len(groups)} (the number of layer groups), got {n}.")
    return freeze(model, len(groups) - n)


def trainable_groups(model: nn.Module) -> list[bool]:
    """For each layer group (input to head), whether all its parameters are trainable.

    Used in: no chapter.

    >>> from lrcourse.models import mlp
    >>> trainable_groups(mlp(4, 2, hidden=(8,)))
    [True, True]
    """
    return [all(p.requires_grad for p in g.parameters()) for g in layer_groups(model)]


class GradualUnfreeze:
    """An ``on_epoch_end`` callback for :func:`lrcourse.train.fit`: start with the head, unfreeze one more group per epoch.

    Used in: chapter 12.

    ULMFiT's gradual unfreezing. Creating it freezes all but the top ``start`` groups; after
    every ``every`` epochs one more group (the next one down) becomes trainable. Frozen
    parameters get no gradient, so the optimizer (which holds all of them) leaves them alone.

    >>> from lrcourse.models import mlp
    >>> m = mlp(4, 2, hidden=(8, 8))
    >>> cb = GradualUnfreeze(m)
    >>> trainable_groups(m)
    [False, False, True]
    >>> cb(1, m, None); trainable_groups(m)
    [False, True, True]
    """

    def __init__(self, model: nn.Module, start: int = 1, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1 epoch, got {every}.")
        self.every = every
        self.n = start
        unfreeze_top(model, start)

    def __call__(self, epoch: int, model: nn.Module, hist: object = None) -> None:
        if epoch % self.every == 0:
            self.n = min(self.n + 1, len(layer_groups(model)))
            unfreeze_top(model, self.n)
