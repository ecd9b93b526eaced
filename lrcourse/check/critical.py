"""Checkers for chapter 2 (critical points and momentum) that need a run to confirm them."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from . import CheckFailed, compare

__all__ = ["nesterov_max_lr", "predicted_cliff"]


def _nesterov_converges(h: float, mu: float, lr: float, steps: int = 3000) -> bool:
    """Run ``torch.optim.SGD(nesterov=True)`` on ``½ h x²`` from ``x = 1``; did it get below 1e-3?"""
    x = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
    opt = torch.optim.SGD([x], lr=lr, momentum=mu, nesterov=True)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * h * x**2).sum().backward()
        opt.step()
        if not torch.isfinite(x).all() or x.abs().item() > 1e6:
            return False
    return x.abs().item() < 1e-3


def nesterov_max_lr(fn: Callable[[float, float], float]) -> None:
    """Check ``fn(h, mu)``: the largest learning rate at which Nesterov momentum converges on ``½ h x²``.

    The answer is checked on five ``(h, mu)`` pairs and then by runs of ``torch.optim.SGD(nesterov=True)``
    2 % below and 2 % above the student's value.

    >>> nesterov_max_lr(lambda h, mu: 2 / h)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ nesterov_max_lr(1.0, 0.9): expected 1.3571428571428572, got 2.0. Hint: ...
    """
    compare(
        "nesterov_max_lr",
        fn,
        None,
        [(1.0, 0.0), (1.0, 0.9), (4.0, 0.5), (10.0, 0.99), (0.5, 0.3)],
        hint="eliminate the momentum buffer to get a linear recursion in x_t and x_{t-1}; it converges while both "
        "roots of its characteristic polynomial lie inside the unit circle: find the rate at which one first leaves "
        "it (mu = 0 must give chapter 1's 2/h).",
        tol=1e-4,
    )
    h, mu = 1.0, 0.9
    limit = float(fn(h, mu))
    if not (_nesterov_converges(h, mu, 0.98 * limit) and not _nesterov_converges(h, mu, 1.02 * limit)):
        raise CheckFailed("❌ nesterov_max_lr: the runs of torch.optim.SGD(nesterov=True) disagree with your limit.")
    print("✅ nesterov_max_lr: torch.optim.SGD(nesterov=True) converges 2% below your limit and diverges 2% above it.")


def _test_problem(seed: int, hidden: int) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 20, generator=g, dtype=torch.float64).float()
    y = torch.randint(0, 5, (256,), generator=g)
    with torch.random.fork_rng(devices=[]):  # the student's global random state is left alone
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(20, hidden), nn.ReLU(), nn.Linear(hidden, 5))
    return model, x, y


def predicted_cliff(fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], float]) -> None:
    """Check ``fn(model, x, y)``: the stability limit ``2 / λ_max`` of gradient descent on the cross-entropy.

    ``λ_max`` is the largest eigenvalue of the Hessian of ``F.cross_entropy(model(x), y)`` with
    respect to all parameters.

    >>> predicted_cliff(lambda m, x, y: 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ predicted_cliff(0, 8): expected 4.548927218987719, got 1.0. Hint: ...
    """
    def student(seed: int, hidden: int) -> float:
        model, x, y = _test_problem(seed, hidden)
        return float(fn(model, x, y))

    compare(
        "predicted_cliff",
        student,
        None,
        [(0, 8), (1, 32), (2, 64)],
        hint="λ_max is the top eigenvalue of the Hessian of the mean cross-entropy (power iteration or "
        "Lanczos on Hessian-vector products); the limit is chapter 1's 2/L with L = λ_max.",
        tol=0.02,
    )
