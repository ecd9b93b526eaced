"""Reference answers of chapter 3's checkers (lrcourse.check.range_test), kept out of the package."""

from __future__ import annotations

import math
from collections.abc import Sequence

from lrcourse import lr_finder


def _steps_between(lo: float, hi: float, start_lr: float, end_lr: float, num_iter: int, linear: bool) -> int:
    """Walk the schedule itself and count (the public cases keep lo and hi well away from any step's rate)."""
    plan = lr_finder.lr_schedule_linear if linear else lr_finder.lr_schedule_exp
    return sum(lo <= lr < hi for lr in plan(start_lr, end_lr, num_iter))


def _fastai_pick(n: int, plateau_end: int, minimum: int, drift: bool) -> int:
    """Closed form (tests/test_check_range_test.py runs lr_finder.fastai_valley on such curves and agrees).

    The rule keeps steps n // 10 .. n - 6. A strictly decreasing subsequence takes every point of a
    drifting plateau but only one of a constant one, so the longest ends at the minimum and begins at
    the first kept step (drift, or a plateau cut off) or at the plateau's last step; fastai's
    max_start is one step before that begin.
    """
    cut = n // 10
    begin = cut if drift else max(plateau_end, cut)
    sections = (minimum - begin + 1) / 3
    return begin - 1 + int(sections) + int(sections / 2)


def _first_unstable_step(curvatures: Sequence[float], start_lr: float, end_lr: float, num_iter: int) -> int | None:
    """Walk the exponential schedule until some direction's factor |1 - lr h| exceeds 1."""
    top = max(curvatures)
    return next((i for i, lr in enumerate(lr_finder.lr_schedule_exp(start_lr, end_lr, num_iter)) if lr * top > 2), None)


def _ema_lag_decades(step: int, beta: float, start_lr: float, end_lr: float, num_iter: int) -> float:
    weights = [beta**k for k in range(step + 1)]
    age = sum(k * w for k, w in enumerate(weights)) / sum(weights)
    return age * math.log10(end_lr / start_lr) / (num_iter - 1)


REFERENCES = {
    "range_steps_between": _steps_between,
    "range_unstable_step": _first_unstable_step,
    "range_fastai_pick": _fastai_pick,
    "range_ema_lag": _ema_lag_decades,
}

HIDDEN = {
    "range_steps_between": [(0.01, 0.1, 1e-5, 1.0, 60, False), (0.05, 0.2, 0.001, 0.5, 30, True),
                            (2e-4, 5e-4, 1e-4, 10.0, 100, False)],
    "range_unstable_step": [([1.0, 20.0], 1e-6, 10.0, 200), ([0.1], 1e-3, 1.0, 40)],
    "range_fastai_pick": [(50, 10, 40, True), (200, 30, 34, False), (1000, 50, 900, False), (120, 2, 80, True)],
    "range_ema_lag": [(60, 0.95, 1e-6, 1.0, 200)],
}
