"""Reference answers of lrcourse.check.normalization's checkers, kept out of the package."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _bn_input_grad(x: torch.Tensor, gamma: torch.Tensor, upstream: torch.Tensor, eps: float) -> torch.Tensor:
    x = x.detach().double().requires_grad_(True)
    out = F.batch_norm(x, None, None, gamma.double(), None, training=True, eps=eps)
    (g,) = torch.autograd.grad(out, x, upstream.double())
    return g

def _equilibrium(lr: float, wd: float, g: float) -> float:
    # fixed point of s -> (1 - lr*wd)**2 * s + lr**2 * g**2 / s, with s = ||w||^2
    return lr * g / (1 - (1 - lr * wd) ** 2) ** 0.5


def _standardize(x_train: torch.Tensor, x_test: torch.Tensor) -> torch.Tensor:
    mean, std = x_train.mean(0), x_train.std(0, unbiased=False)
    return torch.cat([(x_train - mean) / std, (x_test - mean) / std])


REFERENCES = {
    "standardize": _standardize,
    "batchnorm_input_grad": _bn_input_grad,
    "equilibrium_sq_norm": _equilibrium,
}

def _draw(seed: int, *shape: int) -> torch.Tensor:
    """Standard normals drawn in float64 (the same bits on every CPU)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


_ROWS = torch.tensor([[2.0, -1.0, 0.5]]).repeat(4, 1)  # every example the same: zero batch variance
_X64 = _draw(20, 6, 3) * 2 + 1
_UP64 = _draw(21, 6, 3)
_G64 = torch.tensor([0.7, 1.3, 2.0], dtype=torch.float64)

HIDDEN = {
    "equilibrium_sq_norm": [(0.05, 1e-3, 3.0), (0.5, 0.1, 0.2)],
    "standardize": [
        # features far from 0 with a small spread: E[x²] - E[x]² cancels catastrophically in float32
        ((_draw(10, 30, 2) * torch.tensor([2.0, 0.5]) + torch.tensor([500.0, -1000.0])).float(),
         (_draw(11, 4, 2) * 3 + torch.tensor([500.0, -1000.0])).float()),
        (_draw(12, 12, 3).float(), _draw(13, 1, 3).float()),  # one test example: its own std would be 0
        (_draw(14, 3, 2).float(), (_draw(15, 20, 2) * 5).float()),  # more test than training examples
    ],
    "batchnorm_input_grad": [
        (_ROWS.double(), _G64, _UP64[:4], 1e-3),  # zero batch variance: only the mean's path is left
        (_X64, _G64, torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64).repeat(6, 1), 1e-5),  # a shift: 0
        (_X64, _G64, _X64 - _X64.mean(0), 1e-5),  # upstream along x̂: the variance's path cancels it
        (_X64[:2], _G64, _UP64[:2], 1e-5),  # two examples
    ],
}
