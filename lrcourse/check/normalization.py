"""Checkers for chapter 9, input normalization and BatchNorm."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import compare

__all__ = ["standardize", "batchnorm_input_grad", "equilibrium_sq_norm"]


def standardize(fn: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Check ``fn(x_train, x_test) -> (train, test)``: both scaled with the *training* set's statistics.

    >>> standardize(lambda a, b: (a, b))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ standardize([[4.6887102127075195, -371.30303955078125, -0.00729068135..., [[2.839141368865967, 5.806790351867676, 1.851908206939697...): expected [[-0.11171619594097137, -0.5097954869270325, -0.942668080..., got [[4.6887102127075195, -371.30303955078125, -0.00729068135.... Hint: ...
    """
    gen = torch.Generator().manual_seed(1)
    wide = torch.randn(40, 3, generator=gen, dtype=torch.float64).float() * torch.tensor([1.0, 100.0, 0.01]) + torch.tensor([5.0, -300.0, 0.0])
    shifted = torch.randn(10, 3, generator=gen, dtype=torch.float64).float() * 7 + 2
    two = torch.tensor([[1.0], [3.0]])
    compare(
        "standardize",
        None if fn is None else (lambda a, b: torch.cat(list(fn(a, b)))),
        None,
        [(wide, shifted), (wide[:5], wide[5:]), (two, torch.tensor([[2.0], [5.0]]))],
        hint="take every statistic from x_train alone, one mean and one standard deviation per feature, and use "
        "them for both sets (the exercise says which standard deviation); measure the spread around the mean: "
        "E[x²] − E[x]² loses its precision for features far from 0.",
        tol=1e-4,
    )


def batchnorm_input_grad(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor],
) -> None:
    """Check ``fn(x, gamma, upstream, eps)``: ∂L/∂x through BatchNorm in training mode, ``x`` of shape ``(N, C)``.

    ``upstream`` is ∂L/∂y for the layer's output y; the batch statistics depend on x too.

    >>> batchnorm_input_grad(lambda x, gamma, upstream, eps: upstream)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ batchnorm_input_grad([[0.3467536246637075, 1.4400313894331476, 3.0072433640456..., [0.906633198261261, 1.030710220336914, 1.4571332931518555..., [[0.14725898160265186, 2.166910377200657, -1.501422579757..., 1e-05): expected [[0.152792537736..., got [[0.14725898160265186, 2.166910377200657, -1.501422579757.... Hint: ...
    """
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(16, 4, generator=gen, dtype=torch.float64) * 3 + 1
    gamma = (torch.rand(4, generator=gen) + 0.5).double()
    up = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    compare(
        "batchnorm_input_grad",
        fn,
        None,
        [(x, gamma, up, 1e-5), (x[:3], gamma, up[:3], 1e-5), (x * 1e-3, gamma, up, 1e-2)],
        hint="x reaches the output three ways: directly, through the batch mean and through the batch variance; "
        "add the three chain-rule terms, then check that each channel's result sums to zero over the batch.",
        tol=1e-6,
    )


def equilibrium_sq_norm(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(lr, wd, G)``: the squared norm at which SGD with weight decay holds a scale-invariant w.

    Each step multiplies w by (1 − lr·wd) and adds a gradient step orthogonal to w of length
    lr·G/‖w‖; the answer is the ‖w‖² that this map leaves unchanged.

    >>> equilibrium_sq_norm(lambda lr, wd, g: 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ equilibrium_sq_norm(0.1, 0.0005, 1.0): expected 10.00012500234359, got 1.0. Hint: ...
    """
    compare(
        "equilibrium_sq_norm",
        fn,
        None,
        [(0.1, 5e-4, 1.0), (0.1, 5e-3, 2.0), (1.0, 1e-4, 0.5), (0.5, 0.5, 1.0)],
        hint="write the next squared norm in terms of the current one (the two parts of a step are orthogonal: "
        "Pythagoras), then find the squared norm that this map leaves unchanged.",
        tol=1e-6,
    )
