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

def _running(mean: torch.Tensor, var: torch.Tensor, x: torch.Tensor, momentum: float) -> torch.Tensor:
    new_mean = (1 - momentum) * mean + momentum * x.mean(0)
    new_var = (1 - momentum) * var + momentum * x.var(0, unbiased=True)
    return torch.cat([new_mean, new_var])

def _standardize(x_train: torch.Tensor, x_test: torch.Tensor) -> torch.Tensor:
    mean, std = x_train.mean(0), x_train.std(0, unbiased=False)
    return torch.cat([(x_train - mean) / std, (x_test - mean) / std])

def _batchnorm_train(x, gamma, beta, eps):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)

REFERENCES = {
    "standardize": _standardize,
    "batchnorm_train": _batchnorm_train,
    "running_update": _running,
    "batchnorm_input_grad": _bn_input_grad,
    "equilibrium_sq_norm": _equilibrium,
}

HIDDEN = {
    "equilibrium_sq_norm": [(0.05, 1e-3, 3.0), (0.5, 0.1, 0.2)],
}
