"""Checkers for chapter 9, input normalization and BatchNorm."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from . import compare

__all__ = ["standardize", "batchnorm_train", "running_update", "batchnorm_input_grad", "equilibrium_sq_norm"]


def _standardize(x_train: torch.Tensor, x_test: torch.Tensor) -> torch.Tensor:
    mean, std = x_train.mean(0), x_train.std(0, unbiased=False)
    return torch.cat([(x_train - mean) / std, (x_test - mean) / std])


def standardize(fn: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Check ``fn(x_train, x_test) -> (train, test)``: both scaled with the *training* set's statistics.

    >>> def ok(a, b):
    ...     m, s = a.mean(0), a.std(0, unbiased=False)
    ...     return (a - m) / s, (b - m) / s
    >>> standardize(ok)
    ✅ standardize: right on all 3 cases.
    """
    gen = torch.Generator().manual_seed(1)
    wide = torch.randn(40, 3, generator=gen) * torch.tensor([1.0, 100.0, 0.01]) + torch.tensor([5.0, -300.0, 0.0])
    shifted = torch.randn(10, 3, generator=gen) * 7 + 2
    two = torch.tensor([[1.0], [3.0]])
    compare(
        "standardize",
        None if fn is None else (lambda a, b: torch.cat(list(fn(a, b)))),
        _standardize,
        [(wide, shifted), (wide[:5], wide[5:]), (two, torch.tensor([[2.0], [5.0]]))],
        hint="compute the per-feature mean and std (unbiased=False) on x_train only, "
        "and use those same two numbers for x_test.",
        tol=1e-4,
    )


def batchnorm_train(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(x, gamma, beta, eps)``: BatchNorm's training-mode output for ``x`` of shape ``(N, C)``.

    >>> def ok(x, g, b, eps):
    ...     m, v = x.mean(0), x.var(0, unbiased=False)
    ...     return g * (x - m) / (v + eps).sqrt() + b
    >>> batchnorm_train(ok)
    ✅ batchnorm_train: right on all 4 cases.
    """
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(16, 4, generator=gen) * 3 + 1
    g, b = torch.rand(4, generator=gen) + 0.5, torch.randn(4, generator=gen)

    def ref(x, gamma, beta, eps):
        return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)

    compare(
        "batchnorm_train",
        fn,
        ref,
        [
            (x, torch.ones(4), torch.zeros(4), 1e-5),
            (x, g, b, 1e-5),
            (x[:2], g, b, 1e-5),  # two examples: every output is ±gamma + beta
            (x * 1e-3, g, b, 1e-2),  # tiny variance: eps matters
        ],
        hint="use the batch's per-channel mean and *biased* variance (unbiased=False), "
        "divide by sqrt(var + eps), then scale by gamma and shift by beta.",
        tol=1e-5,
    )


def _running(mean: torch.Tensor, var: torch.Tensor, x: torch.Tensor, momentum: float) -> torch.Tensor:
    new_mean = (1 - momentum) * mean + momentum * x.mean(0)
    new_var = (1 - momentum) * var + momentum * x.var(0, unbiased=True)
    return torch.cat([new_mean, new_var])


def running_update(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]],
) -> None:
    """Check ``fn(running_mean, running_var, x, momentum) -> (mean, var)``: PyTorch's running estimates.

    >>> def ok(m, v, x, mom):
    ...     return (1 - mom) * m + mom * x.mean(0), (1 - mom) * v + mom * x.var(0, unbiased=True)
    >>> running_update(ok)
    ✅ running_update: right on all 4 cases.
    """
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(8, 3, generator=gen) * 2 + 4
    zeros, ones = torch.zeros(3), torch.ones(3)
    compare(
        "running_update",
        None if fn is None else (lambda m, v, x, mom: torch.cat(list(fn(m, v, x, mom)))),
        _running,
        [(zeros, ones, x, 0.1), (x.mean(0), x.var(0), x, 0.1), (zeros, ones, x, 1.0), (zeros, ones, x[:2], 0.5)],
        hint="new = (1 - momentum) * old + momentum * batch statistic; PyTorch's running variance "
        "uses the *unbiased* batch variance (divide by N - 1).",
        tol=1e-5,
    )


def _bn_input_grad(x: torch.Tensor, gamma: torch.Tensor, upstream: torch.Tensor, eps: float) -> torch.Tensor:
    x = x.detach().double().requires_grad_(True)
    out = F.batch_norm(x, None, None, gamma.double(), None, training=True, eps=eps)
    (g,) = torch.autograd.grad(out, x, upstream.double())
    return g


def batchnorm_input_grad(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor],
) -> None:
    """Check ``fn(x, gamma, upstream, eps)``: ∂L/∂x through BatchNorm in training mode, ``x`` of shape ``(N, C)``.

    ``upstream`` is ∂L/∂y for the layer's output y; the batch statistics depend on x too.

    >>> def ok(x, gamma, up, eps):
    ...     m, v = x.mean(0), x.var(0, unbiased=False)
    ...     xh = (x - m) / (v + eps).sqrt()
    ...     return gamma / (v + eps).sqrt() * (up - up.mean(0) - xh * (up * xh).mean(0))
    >>> batchnorm_input_grad(ok)
    ✅ batchnorm_input_grad: right on all 3 cases.
    """
    gen = torch.Generator().manual_seed(3)
    x = (torch.randn(16, 4, generator=gen) * 3 + 1).double()
    gamma = (torch.rand(4, generator=gen) + 0.5).double()
    up = torch.randn(16, 4, generator=gen).double()
    compare(
        "batchnorm_input_grad",
        fn,
        _bn_input_grad,
        [(x, gamma, up, 1e-5), (x[:3], gamma, up[:3], 1e-5), (x * 1e-3, gamma, up, 1e-2)],
        hint="x reaches the output three ways: directly, through the mean and through the variance. "
        "With x̂ the normalized input, the result is gamma / sqrt(var + eps) * (up - mean(up) - x̂ * mean(up * x̂)), "
        "the means over the batch.",
        tol=1e-6,
    )


def _equilibrium(lr: float, wd: float, g: float) -> float:
    # fixed point of s -> (1 - lr*wd)**2 * s + lr**2 * g**2 / s, with s = ||w||^2
    return lr * g / (1 - (1 - lr * wd) ** 2) ** 0.5


def equilibrium_sq_norm(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(lr, wd, G)``: the squared norm at which SGD with weight decay holds a scale-invariant w.

    Each step multiplies w by (1 − lr·wd) and adds a gradient step orthogonal to w of length
    lr·G/‖w‖; the answer is the ‖w‖² that this map leaves unchanged.

    >>> equilibrium_sq_norm(lambda lr, wd, g: lr * g / (1 - (1 - lr * wd) ** 2) ** 0.5)
    ✅ equilibrium_sq_norm: right on all 4 cases.
    """
    compare(
        "equilibrium_sq_norm",
        fn,
        _equilibrium,
        [(0.1, 5e-4, 1.0), (0.1, 5e-3, 2.0), (1.0, 1e-4, 0.5), (0.5, 0.5, 1.0)],
        hint="write s = ||w||²; orthogonality gives s' = (1 - lr*wd)² s + lr² G² / s. Set s' = s and solve for s.",
        tol=1e-6,
    )
