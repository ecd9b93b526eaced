"""Reference answers of lrcourse.check.losses's checkers, kept out of the package."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F


def _grad(loss: Callable, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    z = z.detach().double().requires_grad_(True)
    loss(z, y).backward()
    return z.grad

def _uniform_ratio(k: int) -> float:
    """‖∇ squared error on softmax‖ / ‖∇ cross-entropy‖ at all-zero logits, by autograd."""
    z, y = torch.zeros(1, k, dtype=torch.float64), torch.tensor([0])
    return float(_grad(ce_mse, z, y).norm() / _grad(F.cross_entropy, z, y).norm())

def ce_mse(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The chapter's MSE: ``Σ_k (softmax(z)_k − onehot_k)²``, averaged over the batch.

    >>> float(ce_mse(torch.zeros(1, 2), torch.tensor([0])))
    0.5
    """
    p = z.softmax(-1)
    return ((p - F.one_hot(y, z.shape[-1]).to(p.dtype)) ** 2).sum() / len(y)

def logit_square(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The squared error on the logits, ``Σ_k (z_k − onehot_k)²``, averaged over the batch.

    >>> float(logit_square(torch.zeros(1, 2), torch.tensor([0])))
    1.0
    """
    return ((z - F.one_hot(y, z.shape[-1]).to(z.dtype)) ** 2).sum(-1).mean()


REFERENCES = {
    "stable_softmax": lambda z: torch.softmax(z, -1),
    "uniform_grad_ratio": _uniform_ratio,
    "logit_square_grad": lambda z, y: _grad(logit_square, z, y),
}

def _logits(seed: int, n: int, k: int, scale: float = 1.0) -> torch.Tensor:
    """Random logits drawn in float64 (the same bits on every CPU), cast to float32 as the public cases."""
    return (scale * torch.randn(n, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)).float()


HIDDEN = {
    "stable_softmax": [
        (torch.tensor([[1000.0, 999.0, -5.0]]),),
        (torch.tensor([[1000.0, 0.0], [-1000.0, -999.0]]),),  # rows far apart: one shift for all underflows a row
        (torch.tensor([[[1000.0, 0.0, -1.0], [5.0, 6.0, 7.0]], [[-800.0, -801.0, -900.0], [0.0, 0.0, 0.0]]]),),  # 3-D
    ],
    "uniform_grad_ratio": [(7,), (1000,)],
    "logit_square_grad": [
        (_logits(42, 7, 3, 5.0), torch.tensor([2, 0, 1, 1, 2, 0, 0])),  # N = 7, K = 3: the mean is over N
        (torch.tensor([[0.0, 0.0]]), torch.tensor([1])),  # one example, two classes
        (torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), torch.tensor([0, 1])),  # logits equal to the targets: 0
        (_logits(43, 2, 10, 20.0), torch.tensor([9, 0])),  # large logits: no softmax to saturate
    ],
}
