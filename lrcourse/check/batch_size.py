"""Checkers for chapter 8, batch size and the learning rate."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import compare

__all__ = ["scaled_lr", "warmup_length", "minibatch_noise", "noise_preserving_lr", "batch_for_step_budget", "lars_update"]


def scaled_lr(fn: Callable[[float, int, int], float]) -> None:
    """Check ``fn(base_lr, base_batch, batch)``: the linear scaling rule ``base_lr · batch / base_batch``.

    >>> scaled_lr(lambda lr, b0, b: lr * b / b0)
    ✅ scaled_lr: right on all 5 cases.
    """
    compare(
        "scaled_lr",
        fn,
        lambda lr, b0, b: lr * b / b0,
        [(0.1, 256, 1024), (0.1, 256, 256), (0.1, 256, 64), (0.05, 128, 8192), (1.0, 1, 3)],
        hint="the learning rate grows by the same factor as the batch: lr * batch / base_batch.",
    )


def warmup_length(fn: Callable[[float, int, int, int], int]) -> None:
    """Check ``fn(warmup_epochs, n_train, per_device, world_size)``: warmup steps of a data-parallel run.

    >>> import math
    >>> warmup_length(lambda e, n, b, w: math.ceil(e * n / (b * w)))
    ✅ warmup_length: right on all 5 cases.
    """
    compare(
        "warmup_length",
        fn,
        lambda e, n, b, w: math.ceil(e * n / (b * w)),
        [(5, 50_000, 128, 8), (5, 50_000, 128, 1), (1, 4000, 64, 2), (0, 4000, 64, 4), (0.5, 1000, 30, 1)],
        hint="one step consumes per_device * world_size examples; count the steps in warmup_epochs "
        "epochs and round up (math.ceil).",
    )


def _noise(g: torch.Tensor, b: int) -> float:
    g = g.double()
    return float(((g - g.mean(0)) ** 2).sum(1).mean() / b)


def minibatch_noise(fn: Callable[[torch.Tensor, int], float]) -> None:
    """Check ``fn(per_example_grads, b)``: expected ``‖ĝ_b − g‖²`` for a batch of ``b`` drawn with replacement.

    ``per_example_grads`` has one row per example; the answer is ``tr(Σ) / b`` with ``Σ``
    their covariance (divided by ``N``).

    >>> minibatch_noise(lambda g, b: float(((g - g.mean(0)) ** 2).sum(1).mean() / b))
    ✅ minibatch_noise: right on all 5 cases.
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(50, 3, generator=gen)
    b = 3.0 + 0.1 * torch.randn(200, 7, generator=gen)
    compare(
        "minibatch_noise",
        fn,
        _noise,
        [
            (a, 1),
            (a, 10),
            (b, 64),  # a large mean must not leak into the noise
            (torch.ones(5, 2), 4),  # identical gradients: no noise at all
            (torch.tensor([[1.0], [-1.0]]), 2),
        ],
        hint="average over examples the squared distance of each row from the mean row "
        "(that is tr(Σ), with Σ divided by N), then divide by b.",
        tol=1e-5,
    )


def noise_preserving_lr(fn: Callable[[float, int, int], float]) -> None:
    """Check ``fn(base_lr, base_batch, batch)``: the rate that keeps the variance of an SGD update fixed.

    An update is ``lr`` times a mini-batch gradient whose noise has variance ``tr Σ / batch``.

    >>> noise_preserving_lr(lambda lr, b0, b: lr * (b / b0) ** 0.5)
    ✅ noise_preserving_lr: right on all 4 cases.
    """
    compare(
        "noise_preserving_lr",
        fn,
        lambda lr, b0, b: lr * math.sqrt(b / b0),
        [(0.1, 256, 1024), (0.1, 256, 64), (3e-4, 32, 4096), (0.5, 100, 100)],
        hint="the update's noise variance is lr² · tr Σ / B; hold lr² / B fixed and solve for lr.",
    )


def _batch_for_budget(s_min: float, b_noise: float, max_steps: float) -> float:
    if max_steps <= s_min:
        return math.inf
    return math.ceil(b_noise / (max_steps / s_min - 1) - 1e-9)


def batch_for_step_budget(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(s_min, b_noise, max_steps)``: the smallest whole batch that needs at most ``max_steps`` steps.

    In McCandlish et al.'s model a batch ``B`` needs ``S = s_min * (1 + b_noise / B)`` steps;
    return ``math.inf`` when no batch is large enough.

    >>> batch_for_step_budget(lambda s, bn, m: math.inf if m <= s else math.ceil(bn / (m / s - 1) - 1e-9))
    ✅ batch_for_step_budget: right on all 6 cases.
    """
    compare(
        "batch_for_step_budget",
        fn,
        _batch_for_budget,
        [(1000, 100, 2000), (1000, 100, 1100), (1000, 100, 1300), (1000, 300, 1400), (1000, 100, 1000), (500, 64, 300)],
        hint="solve s_min * (1 + b_noise / B) <= max_steps for B and round up; "
        "no batch can go below s_min steps.",
    )


def _lars_update(w: torch.Tensor, g: torch.Tensor, lr: float, trust: float, wd: float) -> torch.Tensor:
    w, g = w.double(), g.double()
    w_norm, g_norm = w.norm(), g.norm()
    ratio = w_norm / (g_norm + wd * w_norm) if w_norm > 0 and g_norm > 0 else 1.0
    return -lr * trust * ratio * (g + wd * w)


def lars_update(fn: Callable[[torch.Tensor, torch.Tensor, float, float, float], torch.Tensor]) -> None:
    """Check ``fn(w, g, lr, trust, wd)``: the change of one tensor ``w`` in a LARS step without momentum.

    ``-lr * trust * ‖w‖ / (‖g‖ + wd ‖w‖) * (g + wd w)``, with the ratio taken as 1 when ``‖w‖`` or
    ``‖g‖`` is 0.

    >>> def ref(w, g, lr, trust, wd):
    ...     ratio = w.norm() / (g.norm() + wd * w.norm()) if w.norm() > 0 and g.norm() > 0 else 1.0
    ...     return -lr * trust * ratio * (g + wd * w)
    >>> lars_update(ref)
    ✅ lars_update: right on all 6 cases.
    """
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(8, 5, generator=gen, dtype=torch.float64)
    g = 1e-3 * torch.randn(8, 5, generator=gen, dtype=torch.float64)
    compare(
        "lars_update",
        fn,
        _lars_update,
        [
            (w, g, 2.0, 0.001, 0.0),
            (w, 100 * g, 2.0, 0.001, 0.0),  # the same step: only the gradient's direction counts
            (3 * w, g, 2.0, 0.001, 0.0),  # three times the step: it is a fraction of the weight norm
            (w, g, 2.0, 0.001, 5e-4),  # weight decay enters the denominator and the direction
            (torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64), 1.0, 0.01, 0.0),  # a zero tensor: ratio 1
            (w[0], g[0], 10.0, 0.02, 1e-3),
        ],
        hint="the local rate is trust * ||w|| / (||g|| + wd * ||w||) (1 if a norm is 0); the step is "
        "-lr * local * (g + wd * w).",
        tol=1e-5,
    )
