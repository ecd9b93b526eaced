"""Reference answers of lrcourse.check.finetune's checkers, kept out of the package."""

from __future__ import annotations

import math


def _slice_lrs(lr_lo: float, lr_hi: float, n_groups: int) -> list[float]:
    if n_groups == 1:
        return [lr_hi]
    return [lr_lo * (lr_hi / lr_lo) ** (k / (n_groups - 1)) for k in range(n_groups)]

def _stlr(max_lr: float, total: int, cut_frac: float, ratio: float, step: int) -> float:
    cut = math.floor(total * cut_frac)
    t = min(step, total)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return max_lr * (1 + p * (ratio - 1)) / ratio


REFERENCES = {
    "discriminative_lr_list": lambda lr, n, f: [lr / f ** (n - 1 - k) for k in range(n)],
    "slanted_triangular_lr": _stlr,
    "unfrozen_after": lambda n, e: [k >= n - 1 - e for k in range(n)],
    "slice_lrs": _slice_lrs,
    "stlr_mean": lambda lr, r: lr * (1 + r) / (2 * r),
}

HIDDEN = {
    "discriminative_lr_list": [(0.02, 5, 3.0)],
    "slanted_triangular_lr": [(0.1, 200, 0.25, 20, 30), (0.1, 200, 0.25, 20, 150)],
    "unfrozen_after": [(6, 2), (3, 5)],
    "slice_lrs": [(1e-5, 1e-3, 5), (0.2, 0.2, 2)],
    "stlr_mean": [(0.5, 4.0)],
}
