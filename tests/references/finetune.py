"""Reference answers of lrcourse.check.finetune's checkers, kept out of the package."""

from __future__ import annotations


def _slice_lrs(lr_lo: float, lr_hi: float, n_groups: int) -> list[float]:
    if n_groups == 1:
        return [lr_hi]
    return [lr_lo * (lr_hi / lr_lo) ** (k / (n_groups - 1)) for k in range(n_groups)]


REFERENCES = {
    "unfrozen_after": lambda n, e: [k >= n - 1 - e for k in range(n)],
    "slice_lrs": _slice_lrs,
    "stlr_mean": lambda lr, r: lr * (1 + r) / (2 * r),
}

HIDDEN = {
    "unfrozen_after": [(6, 2), (3, 5)],
    "slice_lrs": [(1e-5, 1e-3, 5), (0.2, 0.2, 2)],
    "stlr_mean": [(0.5, 4.0)],
}
