"""Reference answers of chapter 3's checkers (lrcourse.check.range_test), kept out of the package."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from lrcourse import lr_finder


def _first_unstable_step(curvatures: Sequence[float], start_lr: float, end_lr: float, num_iter: int) -> int | None:
    """Walk the exponential schedule until some direction's factor |1 - lr h| exceeds 1."""
    top = max(curvatures)
    return next((i for i, lr in enumerate(lr_finder.lr_schedule_exp(start_lr, end_lr, num_iter)) if lr * top > 2), None)


def _ema_lag_decades(step: int, beta: float, start_lr: float, end_lr: float, num_iter: int) -> float:
    weights = [beta**k for k in range(step + 1)]
    age = sum(k * w for k, w in enumerate(weights)) / sum(weights)
    return age * math.log10(end_lr / start_lr) / (num_iter - 1)


REFERENCES = {
    "range_growth_factor": lr_finder.growth_factor,
    "range_smoothing": lambda losses, beta: torch.tensor(lr_finder.smooth_losses(losses, beta), dtype=torch.float64),
    "range_unstable_step": _first_unstable_step,
    "range_fastai_valley": lr_finder.fastai_valley,
    "range_ema_lag": _ema_lag_decades,
}

HIDDEN = {
    "range_growth_factor": [(1e-5, 3.0, 50), (0.01, 0.02, 7)],
    "range_smoothing": [([4.0, 0.5, 2.5, 2.5], 0.8)],
    "range_unstable_step": [([1.0, 20.0], 1e-6, 10.0, 200), ([0.1], 1e-3, 1.0, 40)],
    "range_ema_lag": [(60, 0.95, 1e-6, 1.0, 200)],
}
