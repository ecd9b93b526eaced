"""Checkers for chapter 10, MSE versus cross-entropy for classification."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from . import compare

__all__ = ["stable_softmax", "ce_logit_grad", "mse_logit_grad"]


def _cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(4)
    return [
        (torch.randn(6, 4, generator=gen), torch.tensor([0, 1, 2, 3, 0, 1])),
        (torch.zeros(3, 5), torch.tensor([4, 4, 0])),  # uniform prediction
        (torch.tensor([[8.0, -8.0, 0.0]]), torch.tensor([1])),  # confidently wrong
        (torch.tensor([[8.0, -8.0, 0.0]]), torch.tensor([0])),  # confidently right
    ]


def stable_softmax(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(z)``: the softmax over the last dimension that survives huge logits.

    >>> stable_softmax(lambda z: (z - z.max(-1, keepdim=True).values).exp()
    ...                / (z - z.max(-1, keepdim=True).values).exp().sum(-1, keepdim=True))
    ✅ stable_softmax: right on all 5 cases.
    """
    gen = torch.Generator().manual_seed(5)
    compare(
        "stable_softmax",
        fn,
        lambda z: torch.softmax(z, -1),
        [
            (torch.randn(4, 3, generator=gen),),
            (torch.zeros(2, 10),),
            (torch.tensor([[1000.0, 0.0, -1000.0]]),),  # exp(1000) overflows
            (torch.tensor([[-1000.0, -1000.0]]),),  # exp(-1000) underflows to 0/0
            (torch.tensor([3.0, 1.0]),),  # a single vector
        ],
        hint="softmax(z) = softmax(z - max(z)): subtract the row's maximum before exp.",
    )


def _grad(loss: Callable, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    z = z.detach().double().requires_grad_(True)
    loss(z, y).backward()
    return z.grad


def ce_logit_grad(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(z, y)``: the gradient of the *mean* cross-entropy with respect to the logits.

    >>> ce_logit_grad(lambda z, y: (z.softmax(-1) - F.one_hot(y, z.shape[-1])) / len(y))
    ✅ ce_logit_grad: right on all 4 cases.
    """
    compare(
        "ce_logit_grad",
        fn,
        lambda z, y: _grad(F.cross_entropy, z, y),
        _cases(),
        hint="(softmax(z) - one_hot(y)) / N, where N is the batch size.",
        tol=1e-5,
    )


def ce_mse(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The chapter's MSE: ``Σ_k (softmax(z)_k − onehot_k)²``, averaged over the batch.

    >>> float(ce_mse(torch.zeros(1, 2), torch.tensor([0])))
    0.5
    """
    p = z.softmax(-1)
    return ((p - F.one_hot(y, z.shape[-1]).to(p.dtype)) ** 2).sum() / len(y)


def mse_logit_grad(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(z, y)``: the gradient of :func:`ce_mse` (MSE on softmax outputs) w.r.t. the logits.

    >>> def ok(z, y):
    ...     p = z.softmax(-1); e = p - F.one_hot(y, z.shape[-1])
    ...     return 2 * p * (e - (p * e).sum(-1, keepdim=True)) / len(y)
    >>> mse_logit_grad(ok)
    ✅ mse_logit_grad: right on all 4 cases.
    """
    compare(
        "mse_logit_grad",
        fn,
        lambda z, y: _grad(ce_mse, z, y),
        _cases(),
        hint="chain rule through the softmax: with p = softmax(z) and e = p - one_hot(y), "
        "the gradient is 2 * p * (e - sum(p * e)) / N (the softmax Jacobian is diag(p) - p pᵀ).",
        tol=1e-5,
    )
