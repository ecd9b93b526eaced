"""Checkers for chapter 8, batch size and the learning rate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from . import CheckFailed, compare

__all__ = ["minibatch_noise", "adam_batch_rule", "batch_for_step_budget", "lars_relative_step"]


def minibatch_noise(fn: Callable[[torch.Tensor, int], float]) -> None:
    """Check ``fn(per_example_grads, b)``: expected ``‖ĝ_b − g‖²`` for a batch of ``b`` drawn with replacement.

    ``per_example_grads`` has one row per example, the whole population the batch is drawn from.

    >>> minibatch_noise(lambda g, b: 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ minibatch_noise([[-2.3104116916656494, -0.3732508718967438, -1.0608166456..., 1): expected 2.9901159594891205, got 0.0. Hint: ...
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(50, 3, generator=gen, dtype=torch.float64).float()
    b = 3.0 + 0.1 * torch.randn(200, 7, generator=gen, dtype=torch.float64).float()
    compare(
        "minibatch_noise",
        fn,
        None,
        [
            (a, 1),
            (a, 10),
            (b, 64),  # a large mean must not leak into the noise
            (torch.ones(5, 2), 4),  # identical gradients: no noise at all
            (torch.tensor([[1.0], [-1.0]]), 2),
        ],
        hint="the noise of a mean of b independent draws is the noise of one draw divided by b; one draw's "
        "noise is the spread of the rows around their mean (centre them, and average over N, not N - 1).",
        tol=1e-5,
    )


def batch_for_step_budget(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(s_min, b_noise, max_steps)``: the smallest whole batch that needs at most ``max_steps`` steps.

    In McCandlish et al.'s model a batch ``B`` needs ``S = s_min * (1 + b_noise / B)`` steps;
    return ``math.inf`` when no batch is large enough.

    >>> batch_for_step_budget(lambda s_min, b_noise, max_steps: 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ batch_for_step_budget(1000, 100, 2000): expected 100, got 1. Hint: ...
    """
    compare(
        "batch_for_step_budget",
        fn,
        None,
        [(1000, 100, 2000), (1000, 100, 1100), (1000, 100, 1300), (1000, 300, 1400), (1000, 100, 1000), (500, 64, 300)],
        hint="solve the step model for the batch and take the smallest whole batch that fits (round the "
        "right way); no batch, however large, takes fewer than s_min steps.",
    )


def _four(fn: Callable[..., Any]) -> Callable[..., torch.Tensor]:
    def wrapped(*args: Any) -> torch.Tensor:
        out = fn(*args)
        if not isinstance(out, tuple | list) or len(out) != 4:
            raise CheckFailed(f"❌ adam_batch_rule: return a tuple (lr, beta1, beta2, eps), got {out!r}.")
        return torch.tensor([float(v) for v in out], dtype=torch.float64)

    return wrapped


def adam_batch_rule(fn: Callable[[float, float, float, float, int, int], tuple[float, float, float, float]]) -> None:
    """Check ``fn(lr, beta1, beta2, eps, base_batch, batch) -> (lr, beta1, beta2, eps)``: Adam's hyperparameters
    for ``batch`` under Malladi et al.'s square-root scaling rule (given ``batch / base_batch`` times
    ``1 - beta1`` stays at most 1).

    >>> adam_batch_rule(lambda lr, b1, b2, eps, b0, b: (lr * (b / b0) ** 0.5, b1, b2, eps))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ adam_batch_rule(0.001, 0.9, 0.999, 1e-08, 256, 1024): expected [0.002, 0.6000000000000001, 0.996, 5e-09], got [0.002, 0.9, 0.999, 1e-08]. Hint: ...
    """
    compare(
        "adam_batch_rule",
        fn if fn is None or fn is Ellipsis else _four(fn),
        None,
        [
            (1e-3, 0.9, 0.999, 1e-8, 256, 1024),  # PyTorch's defaults, a batch 4 times larger
            (3e-4, 0.9, 0.98, 1e-6, 64, 64),  # the same batch: nothing changes
            (1e-3, 0.9, 0.999, 1e-8, 1024, 256),  # a smaller batch: longer memories
            (1e-3, 0.9, 0.999, 1e-8, 32, 320),  # 10 times: the momentum average forgets at once
            (2e-3, 0.95, 0.99, 1e-6, 100, 900),
        ],
        hint="in the noise-dominated regime, count per example, not per step: how must the step's mean and "
        "variance change so that the drift and the noise over one epoch stay put, how many steps must each "
        "average remember to cover the same examples, and how does sqrt(v) scale with the batch (eps must follow it)?",
        tol=1e-10,
    )


def lars_relative_step(fn: Callable[[float, float, float, float, float, float], float]) -> None:
    """Check ``fn(w_norm, g_norm, cos, lr, trust, wd)``: ``‖Δw‖ / ‖w‖`` for one LARS step without momentum
    (``scaling.LARS``), from the norms of ``w`` and ``g`` and the cosine of the angle between them.

    >>> lars_relative_step(lambda w, g, cos, lr, trust, wd: lr * trust)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ lars_relative_step(5.0, 0.01, -1.0, 2.0, 0.001, 0.005): expected 0.000857142857142857..., got 0.002. Hint: ...
    """
    compare(
        "lars_relative_step",
        fn if fn is None or fn is Ellipsis else (lambda *a: float(fn(*a))),
        None,
        [
            (5.0, 0.01, 0.3, 2.0, 1e-3, 0.0),  # no decay: the gradient's size does not matter...
            (5.0, 100.0, -0.7, 2.0, 1e-3, 0.0),  # ...nor its direction
            (5.0, 0.01, 1.0, 2.0, 1e-3, 5e-3),  # decay along the gradient
            (5.0, 0.01, -1.0, 2.0, 1e-3, 5e-3),  # decay against it: they cancel in part
            (5.0, 0.01, 0.0, 2.0, 1e-3, 2e-3),  # at a right angle
            (5.0, 0.0, 0.0, 2.0, 1e-3, 1e-4),  # no gradient: the decay alone
            (5.0, 0.0, 0.0, 2.0, 1e-3, 0.0),  # no gradient, no decay
            (30.0, 2.0, 0.5, 10.0, 0.02, 1e-3),
        ],
        hint="write the step's length with the trust ratio in it: ||w|| cancels out of the relative step, "
        "and what is left needs the length of g + wd * w, which the two norms and the angle give (law of "
        "cosines); read what scaling.LARS does when a norm is 0.",
        tol=1e-9,
    )
