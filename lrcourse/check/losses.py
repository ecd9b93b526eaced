"""Checkers for chapter 10, MSE versus cross-entropy for classification."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from . import compare

__all__ = ["stable_softmax", "ce_logit_grad", "mse_logit_grad", "uniform_grad_ratio", "logit_square_grad"]


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


def _uniform_ratio(k: int) -> float:
    """‖∇ squared error on softmax‖ / ‖∇ cross-entropy‖ at all-zero logits, by autograd."""
    z, y = torch.zeros(1, k, dtype=torch.float64), torch.tensor([0])
    return float(_grad(ce_mse, z, y).norm() / _grad(F.cross_entropy, z, y).norm())


def uniform_grad_ratio(fn: Callable[[int], float]) -> None:
    """Check ``fn(K)``: the ratio of the two gradient norms at a uniform prediction over K classes.

    The ratio ‖∂ℓ_MSE/∂z‖ / ‖∂ℓ_CE/∂z‖ for one example with all logits equal (p = 1/K).

    >>> uniform_grad_ratio(lambda k: 2 / k)
    ✅ uniform_grad_ratio: right on all 5 cases.
    """
    compare(
        "uniform_grad_ratio",
        fn,
        _uniform_ratio,
        [(2,), (3,), (10,), (100,), (1000,)],
        hint="at p = 1/K, compute pᵀe for e = p - t first: it vanishes, so the softmax Jacobian "
        "acts on e as a multiple of the identity.",
        tol=1e-6,
    )


def logit_square(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The squared error on the logits, ``Σ_k (z_k − onehot_k)²``, averaged over the batch.

    >>> float(logit_square(torch.zeros(1, 2), torch.tensor([0])))
    1.0
    """
    return ((z - F.one_hot(y, z.shape[-1]).to(z.dtype)) ** 2).sum(-1).mean()


def logit_square_grad(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(z, y)``: the gradient of :func:`logit_square` with respect to the logits.

    >>> logit_square_grad(lambda z, y: 2 * (z - F.one_hot(y, z.shape[-1])) / len(y))
    ✅ logit_square_grad: right on all 4 cases.
    """
    compare(
        "logit_square_grad",
        fn,
        lambda z, y: _grad(logit_square, z, y),
        _cases(),
        hint="no softmax in the way: differentiate (z_k - t_k)² and remember the batch mean.",
        tol=1e-5,
    )
