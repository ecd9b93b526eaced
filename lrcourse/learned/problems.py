"""Toy problems for judging update rules, batched so that many runs go at once.

A :class:`Problem` holds ``n`` small problems of the same family; :func:`simulate` runs a rule on
all of them at every learning rate of a grid in one vectorized loop, and :func:`score` turns the
runs into one number (lower is better) that the search minimizes.

>>> suite = toy_suite(2, dim=3)
>>> [p.name for p in suite], simulate("g", suite[0], [0.1], steps=3).shape
(['quadratic', 'noisy quadratic', 'rosenbrock'], torch.Size([4, 1, 2]))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..toys import Rosenbrock
from .rules import Expr, adam_moments, as_rule

# --------------------------------------------------------------------------------------
# Toy problems, batched: many small problems optimized at once
# --------------------------------------------------------------------------------------


@dataclass
class Problem:
    """A batch of toy problems: ``loss(x)`` of shape ``x.shape[:-1]``, ``grad(x)`` like ``x``, a start ``x0``.

    Used in: no chapter.

    ``x`` may carry extra leading dimensions (one per learning rate, say) in front of the
    batch of problems. ``noise`` is the standard deviation of Gaussian noise added to the
    gradient (a stand-in for minibatch noise).

    >>> p = rotated_quadratics(3, dim=4, seed=0)
    >>> p.loss(p.x0).shape, p.grad(p.x0).shape
    (torch.Size([3]), torch.Size([3, 4]))
    """

    name: str
    loss: Callable[[torch.Tensor], torch.Tensor]
    grad: Callable[[torch.Tensor], torch.Tensor]
    x0: torch.Tensor
    noise: float = 0.0


def rotated_quadratics(
    n: int, dim: int = 10, max_condition: float = 1000.0, noise: float = 0.0, seed: int = 0
) -> Problem:
    """``n`` quadratics ``½ xᵀ Q diag(h) Qᵀ x`` with random rotations ``Q`` and curvatures ``h`` in ``[1/κ, 1]``.

    Used in: chapter 13.

    Each problem's condition number ``κ`` is log-uniform in ``[1, max_condition]``.

    >>> p = rotated_quadratics(2, dim=3, seed=1)
    >>> bool((p.loss(torch.zeros(2, 3)) == 0).all())
    True
    """
    gen = torch.Generator().manual_seed(seed)
    kappa = max_condition ** torch.rand(n, 1, generator=gen)
    frac = torch.linspace(0, 1, dim).expand(n, dim)
    h = kappa ** (-frac)  # from 1 down to 1/kappa
    q, _ = torch.linalg.qr(torch.randn(n, dim, dim, generator=gen))
    a = q @ torch.diag_embed(h) @ q.transpose(-1, -2)
    x0 = torch.randn(n, dim, generator=gen)

    def grad(x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("pij,...pj->...pi", a, x)

    def loss(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x * grad(x)).sum(-1)

    return Problem("noisy quadratic" if noise else "quadratic", loss, grad, x0, noise)


def rosenbrocks(n: int, seed: int = 0) -> Problem:
    """``n`` copies of Rosenbrock's valley ``(1 − x)² + 100 (y − x²)²`` from random starts near ``(−1, 1)``.

    Used in: no chapter.

    >>> p = rosenbrocks(2)
    >>> p.loss(torch.ones(2, 2)).tolist()
    [0.0, 0.0]
    """
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.tensor([-1.0, 1.0]) + 0.5 * torch.randn(n, 2, generator=gen)
    valley = Rosenbrock()  # lrcourse.toys: the loss and its gradient, batched over leading dimensions
    return Problem("rosenbrock", valley.loss, valley.grad, x0)


def toy_suite(n: int = 8, dim: int = 10, seed: int = 0) -> list[Problem]:
    """The search's benchmark: quadratics, noisy quadratics and Rosenbrock, ``n`` problems each.

    Used in: chapter 13.

    >>> [p.name for p in toy_suite(2)]
    ['quadratic', 'noisy quadratic', 'rosenbrock']
    """
    return [
        rotated_quadratics(n, dim, seed=seed),
        rotated_quadratics(n, dim, noise=0.1, seed=seed + 1),
        rosenbrocks(n, seed=seed + 2),
    ]


def simulate(
    rule: Expr | str,
    problem: Problem,
    lrs: Sequence[float],
    steps: int,
    betas: tuple[float, float] = (0.9, 0.999),
    seed: int = 0,
) -> torch.Tensor:
    """Losses of ``rule`` on every problem at every learning rate: shape ``(steps + 1, len(lrs), n)``.

    Used in: no chapter.

    The same arithmetic as :class:`RuleOptimizer`, vectorized over learning rates and
    problems (the search calls it thousands of times). A run that diverges (some
    ``|x_i| > 10⁶``, or a NaN) is stopped and records loss ``inf`` from then on.

    >>> p = rotated_quadratics(2, dim=3)
    >>> simulate("g", p, [0.1, 1.0], steps=5).shape
    torch.Size([6, 2, 2])
    """
    rule = as_rule(rule)
    b1, b2 = betas
    gen = torch.Generator().manual_seed(seed)
    lr = torch.as_tensor(list(lrs), dtype=problem.x0.dtype).view(-1, 1, 1)
    x = problem.x0.expand(len(lr), *problem.x0.shape).clone()
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    dead = torch.zeros(x.shape[:-1], dtype=torch.bool)
    inf = torch.tensor(math.inf, dtype=x.dtype)
    losses = [problem.loss(x)]
    for t in range(1, steps + 1):
        g = problem.grad(x)
        if problem.noise:
            g = g + problem.noise * torch.randn(g.shape, generator=gen)
        m_hat, v_hat = adam_moments(m, v, g, t, b1, b2)
        x = x - lr * rule(g, m_hat, v_hat)
        # a run that leaves the box |x| <= 1e6 (or overflows) has diverged: it stays dead, at loss inf
        dead = dead | ~(x.abs() <= 1e6).all(-1)
        x = torch.where(dead.unsqueeze(-1), torch.zeros_like(x), x)
        m.masked_fill_(dead.unsqueeze(-1), 0.0)
        v.masked_fill_(dead.unsqueeze(-1), 0.0)
        losses.append(torch.where(dead, inf, problem.loss(x)))
    out = torch.stack(losses)
    return torch.where(torch.isnan(out), inf, out)


LR_GRID = tuple(10.0 ** (k / 4) for k in range(-16, 5))  # 1e-4 ... 10, a quarter decade apart


def score(
    rule: Expr | str,
    problems: Sequence[Problem],
    steps: int = 100,
    lrs: Sequence[float] = LR_GRID,
    worst: float = 1.0,
) -> float:
    """How well ``rule`` optimizes the toy ``problems`` (lower is better).

    Used in: chapter 13.

    For each problem family: the mean over its problems of ``log10(final loss / initial loss)``,
    at the family's best learning rate from ``lrs``; a run that diverges or ends above its
    start counts as ``worst``. The score is the mean over families, so ``-2`` means
    "a hundredfold decrease, typically".

    >>> suite = toy_suite(4, dim=5)
    >>> score("g", suite, steps=50) < score("-g", suite, steps=50)
    True
    """
    totals = []
    for problem in problems:
        loss = simulate(rule, problem, lrs, steps)
        start, end = loss[0], loss[-1]
        ratio = torch.log10(end.clamp_min(1e-12) / start.clamp_min(1e-12))
        ratio = torch.where(torch.isfinite(ratio), ratio, torch.full_like(ratio, worst)).clamp(max=worst)
        totals.append(ratio.mean(-1).min().item())
    return sum(totals) / len(totals)
