"""Reference answers of lrcourse.check.finetune's checkers, kept out of the package."""

from __future__ import annotations

import torch


def _unfreezing_mean_lrs(max_lr: float, n_groups: int, factor: float, epochs: int, cut_frac: float,
                         ratio: float) -> torch.Tensor:
    """Group j below the head: factor**-j of the head's rate, from the share u = j / epochs of the run on."""

    def area(u: float) -> float:  # the integral of the position p over the share [0, u] of the run
        c = cut_frac
        return u * u / (2 * c) if u <= c else c / 2 + (u - c) - (u - c) ** 2 / (2 * (1 - c))

    out = []
    for k in range(n_groups):
        j = n_groups - 1 - k
        u = min(j / epochs, 1.0)
        out.append(max_lr / (ratio * factor**j) * ((1 - u) + (ratio - 1) * (area(1.0) - area(u))))
    return torch.tensor(out, dtype=torch.float64)


def _slice_lrs(lr_lo: float, lr_hi: float, n_groups: int) -> list[float]:
    if n_groups == 1:
        return [lr_hi]
    return [lr_lo * (lr_hi / lr_lo) ** (k / (n_groups - 1)) for k in range(n_groups)]


REFERENCES = {
    "unfreezing_mean_lrs": _unfreezing_mean_lrs,
    "slice_lrs": _slice_lrs,
    "stlr_mean": lambda lr, r: lr * (1 + r) / (2 * r),
}

HIDDEN = {
    "unfreezing_mean_lrs": [(0.05, 5, 2.6, 8, 0.2, 32.0), (1.0, 3, 3.0, 2, 0.6, 10.0)],
    "slice_lrs": [(1e-5, 1e-3, 5), (0.2, 0.2, 2)],
    "stlr_mean": [(0.5, 4.0)],
}
