"""Reference answers of lrcourse.check.optimizers's checkers, kept out of the package."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from lrcourse.check.optimizers import LOSSES, T, _t


def _adadelta_first(g: T, rho: float, eps: float) -> T:
    return -(eps**0.5) * g / ((1 - rho) * g * g + eps).sqrt()

def _exit_step(eigenvalues: Sequence[float], lr: float, offset: Sequence[float], radius: float) -> float:
    # Exact arithmetic on the given floats (mpmath, 60 digits), not a closed form in float64: the squared
    # distance after t steps is S(t) = Σ o_i² q_i^(2t), q_i = |1 - lr λ_i|. S is convex in t and S(0) <= r²,
    # so once S(t) > r² it stays so: double t until outside, then bisect.
    import mpmath

    with mpmath.workdps(60):
        mpf = mpmath.mpf
        terms = [(2 * mpmath.log(abs(mpf(o))), 2 * mpmath.log(abs(1 - mpf(lr) * mpf(lam))))
                 for lam, o in zip(eigenvalues, offset, strict=True) if o != 0 and 1 - mpf(lr) * mpf(lam) != 0]
        if not any(b > 0 for _, b in terms):
            return math.inf
        bound = 2 * mpmath.log(mpf(radius))

        def outside(t: int) -> bool:
            return bool(mpmath.log(mpmath.fsum(mpmath.exp(a + t * b) for a, b in terms)) > bound)

        hi = 1
        while not outside(hi):
            hi *= 2
        lo = hi // 2  # inside (or the start, 0)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if outside(mid) else (mid, hi)
        return hi

def _look_around(loss_name: str, point: T, radius: float, n: int) -> str:
    loss = LOSSES[loss_name]
    angles = torch.arange(n, dtype=torch.float64) * (2 * torch.pi / n)
    ring = point + radius * torch.stack([angles.cos(), angles.sin()], -1)
    change = torch.stack([loss(q) for q in ring]) - loss(point)
    if bool((change >= 0).all()):
        return "minimum"
    if bool((change <= 0).all()):
        return "maximum"
    return "saddle"

def _half_life(lrs: Sequence[float], wd: float) -> float:
    size = 1.0
    for t, lr in enumerate(lrs, start=1):
        size *= 1 - lr * wd  # AdamW's decay; with no gradient, Adam's own step is 0 / (0 + eps) = 0
        if size <= 0.5:
            return t
    return math.inf

def _powersign_flip(a: float, b: float, k: int, beta: float) -> int:
    # runs the update of lrcourse.optim.PowerSign on one coordinate: m first, then the signs compared
    m = 0.0
    for _ in range(k):
        m = beta * m + (1 - beta) * a
    n = 0
    while True:
        n += 1
        m = beta * m + (1 - beta) * -b
        if m < 0:  # sign(g) * sign(m) = 1: the step is e times SGD's again
            return n

def _taylor(f: float, g: T, h: T, d: T) -> float:
    return float(f + g @ d + 0.5 * d @ h @ d)

def _uncorrected_ratio(t: int, b1: float, b2: float) -> float:
    return (1 - b1**t) / (1 - b2**t) ** 0.5


REFERENCES = {
    "gd_exit_step": _exit_step,
    "taylor_second_order": _taylor,
    "look_around": _look_around,
    "powersign_flip_step": _powersign_flip,
    "uncorrected_adam_ratio": _uncorrected_ratio,
    "decay_half_life": _half_life,
    "adadelta_first_step": _adadelta_first,
}

HIDDEN = {
    "gd_exit_step": [
        ([-0.5, 0.25, 8.0], 0.3, [1e-3, 0.2, 1e-3], 0.4),  # a saddle, and lr above 2/λ_max: both ways out
        ([3.0, 0.0, 1.0], 0.7, [1e-4, 0.3, 0.1], 0.5),  # a flat direction beside an oscillating one
        ([-1.0, -1.0], 2.0**-40, [3e-7, 4e-7], 0.02),  # trillions of steps
        ([-0.2, 6.0], 0.25, [1e-5, 1e-5], 1.0),  # the way down is slower than the oscillation
        ([-4.0, 1.0, 2.0], 2.0**-12, [2e-9, 0.1, 0.3], 0.5),  # first in, then out
    ],
    "taylor_second_order": [
        (-1.0, _t(0.5, -2.0), torch.tensor([[4.0, -1.0], [-1.0, 0.5]], dtype=torch.float64), _t(-0.3, 0.1)),
        (3.0, _t(0.0, 1.0, -1.0), torch.eye(3, dtype=torch.float64) * -2.0, _t(1.0, 0.5, 0.25)),
    ],
    "look_around": [
        ("product_valley", _t(0.5, 2.0), 0.01, 64),  # another point of the valley: a minimum, not a strict one
        ("hidden_saddle", _t(0.0, 0.0), 0.2, 8),  # the diagonals are among the eight directions
        ("monkey_saddle", _t(0.0, 0.0), 0.05, 6),
        ("quartic_cap", _t(0.0, 0.0), 0.3, 5),
    ],
    "powersign_flip_step": [(2.0, 0.5, 20, 0.8), (1.0, 1.0, 100_000, 0.9999), (0.5, 2.0, 5, 0.95), (5.0, 1.0, 30, 0.5)],
    "uncorrected_adam_ratio": [(5, 0.8, 0.99), (200, 0.95, 0.9999)],
    "decay_half_life": [
        ([0.02] * 400, 0.1),
        ([0.01 * (1 - t / 2000) for t in range(2000)], 0.1),  # a linear decay to zero
        ([3e-4] * 5000, 0.2),  # the schedule ends first
    ],
    "adadelta_first_step": [(_t(0.3, -7.0), 0.8, 1e-5)],
}
