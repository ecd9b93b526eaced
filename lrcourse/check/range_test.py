"""Checkers for chapter 3, the learning-rate range test."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .. import lr_finder
from . import compare

__all__ = ["range_growth_factor", "range_smoothing", "range_stop_step"]


def _as_tensor(fn: Any) -> Any:
    """Wrap a function returning a list so that lists compare with a tolerance."""
    if fn is None or fn is Ellipsis:
        return fn

    def wrapped(*args: Any) -> Any:
        out = fn(*args)
        return None if out is None else torch.as_tensor(list(out), dtype=torch.float64)

    return wrapped


def range_growth_factor(fn: Callable[[float, float, int], float]) -> None:
    """Check ``fn(start_lr, end_lr, num_iter)``: the factor ``q`` the LR is multiplied by each step.

    >>> range_growth_factor(lambda a, b, n: (b / a) ** (1 / (n - 1)))
    ✅ range_growth_factor: right on all 5 cases.
    """
    compare(
        "range_growth_factor",
        fn,
        lr_finder.growth_factor,
        [(1e-7, 10.0, 100), (1e-3, 1e-1, 3), (1e-4, 1.0, 10), (0.5, 2.0, 2), (1e-6, 1e-5, 1000)],
        hint="after num_iter - 1 steps start * q**(num_iter - 1) must equal end, so "
        "q = (end / start) ** (1 / (num_iter - 1)); in logs, log q = (log end - log start) / (num_iter - 1).",
        tol=1e-9,
    )


def range_smoothing(fn: Callable[[Sequence[float], float], Sequence[float]]) -> None:
    """Check ``fn(losses, beta)``: the exponential moving average with bias correction.

    >>> def ema(losses, beta):
    ...     avg, out = 0.0, []
    ...     for i, x in enumerate(losses):
    ...         avg = beta * avg + (1 - beta) * x
    ...         out.append(avg / (1 - beta ** (i + 1)))
    ...     return out
    >>> range_smoothing(ema)
    ✅ range_smoothing: right on all 5 cases.
    """
    compare(
        "range_smoothing",
        _as_tensor(fn),
        lambda losses, beta: torch.tensor(lr_finder.smooth_losses(losses, beta), dtype=torch.float64),
        [
            ([2.0, 2.0, 2.0], 0.98),  # a constant stays constant: that is what bias correction is for
            ([3.0, 1.0, 4.0, 1.0, 5.0, 9.0], 0.9),
            ([1.0, 0.5], 0.0),  # beta = 0: no smoothing at all
            ([5.0], 0.98),  # one value: smoothed is the value itself
            ([math.log(10)] * 3 + [1.0, 0.5, 0.25, 8.0], 0.98),
        ],
        hint="avg = beta * avg + (1 - beta) * loss, starting from avg = 0; report avg / (1 - beta ** (i + 1)) "
        "for the i-th loss counted from 0.",
        tol=1e-9,
    )


def range_stop_step(fn: Callable[[Sequence[float], float], int | None]) -> None:
    """Check ``fn(smoothed, diverge)``: the index at which the range test stops, or ``None``.

    >>> range_stop_step(lr_finder.stop_index)
    ✅ range_stop_step: right on all 7 cases.
    """
    nan, inf = float("nan"), float("inf")
    compare(
        "range_stop_step",
        fn,
        lr_finder.stop_index,
        [
            ([2.0, 1.5, 1.0, 0.9], 4.0),  # never diverges: None
            ([2.0, 1.0, 3.0, 4.5], 4.0),  # 4.5 > 4 x best 1.0
            ([2.0, 1.0, 4.0, 4.5], 4.0),  # equal to 4 x best does not stop; above does
            ([2.0, 1.0, 2.5, 0.5, 2.2], 4.0),  # the best moves down to 0.5, so 2.2 > 2.0 stops
            ([2.0, 1.0, nan, 0.5], 4.0),  # NaN stops at once
            ([inf, 1.0], 4.0),  # so does an infinite loss, even at step 0
            ([1.0, 1.9, 2.1], 2.0),  # the best is over the steps before, not including, this one
        ],
        hint="keep best = the lowest smoothed loss so far (before this step); stop at the first i where "
        "smoothed[i] is NaN/inf or smoothed[i] > diverge * best; return None if that never happens.",
    )
