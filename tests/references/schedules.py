"""Reference answers of chapters 4 and 5's checkers (lrcourse.check.schedules), kept out of the package."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import count, takewhile

import torch

from lrcourse import schedules as sch


def _first_below(x: float, hi: float, t0: int, mult: int, lo: float) -> int | None:
    """Cycle by cycle: where the cosine crosses x, then the library's own rounding decides the step."""
    f = sch.cosine_restarts(hi, t0, mult, lo)
    if x > hi:
        return 0
    if x <= lo:
        return None
    start, length, c = 0, t0, 2 * (x - lo) / (hi - lo) - 1
    while True:
        t = math.floor(length * math.acos(c) / math.pi) + 1
        while t > 0 and f(start + t - 1) < x:
            t -= 1
        while t < length and not f(start + t) < x:
            t += 1
        if t < length:
            return start + t
        if mult == 1:
            return None
        start, length = start + length, length * mult


def _restarts(t0: int, mult: int, total: int) -> list[int]:
    # cycle i ends at T_0 (1 + T_mult + ... + T_mult^i)
    ends = (t0 * (i + 1) if mult == 1 else t0 * (mult ** (i + 1) - 1) // (mult - 1) for i in count())
    return list(takewhile(lambda end: end < total, ends))


def _noise_floor_loss(lr: float, steps: int, h: float, sigma: float, x0: float) -> float:
    q = (1 - lr * h) ** 2
    v = q**steps * x0**2 + (lr * sigma) ** 2 * (steps if q == 1 else (1 - q**steps) / (1 - q))
    return h / 2 * v


def _noam_peak(d: int, w: int) -> torch.Tensor:
    f = sch.transformer(d, w)
    step = max(range(w + 5), key=f)
    return torch.tensor([float(step), f(step)], dtype=torch.float64)


def _cycle_growth(base_lr: float, max_lr: float, step_size: int, h: float) -> float:
    f = sch.cyclic(base_lr, max_lr, step_size)
    out = 1.0
    for t in range(2 * step_size):
        out *= abs(1 - f(t) * h)
    return out


def _wsd_equal_distance(total: int, warmup: int, decay: int) -> float:
    """Exact sums (fractions): summed step by step on short runs, in closed form on long ones."""
    if total <= 10**5:
        wsd = sum(Fraction(t, warmup) if t < warmup else Fraction(min(total - t, decay), decay) for t in range(total))
        cosine = Fraction(total + 1, 2)  # the library's cosine, summed, is checked in tests/test_check_schedules.py
        return float(wsd / cosine)
    # warmup: (warmup - 1) / 2 (none without warmup); stable: total - warmup - decay; cooldown: (decay + 1) / 2
    warm = Fraction(warmup - 1, 2) if warmup else 0
    return float((warm + total - warmup - decay + Fraction(decay + 1, 2)) / Fraction(total + 1, 2))


REFERENCES = {
    "sgdr_first_below": _first_below,
    "sgdr_restarts": _restarts,
    "noise_floor_loss": _noise_floor_loss,
    "wsd_equal_distance": _wsd_equal_distance,
    "noam_peak": _noam_peak,
    "cycle_growth": _cycle_growth,
}

HIDDEN = {
    "sgdr_first_below": [(0.3, 1.0, 7, 3, 0.1), (0.0002, 0.1, 5, 2, 0.0), (0.9, 1.0, 3, 1, 0.5),
                         (1e-3, 1.0, 10**8, 3, 0.0), (0.02, 0.1, 6, 1, 0.03)],
    "sgdr_restarts": [(3, 3, 100), (7, 1, 29)],
    "noise_floor_loss": [(0.2, 25, 3.0, 0.5, 1.5), (0.5, 7, 2.0, 1.0, 1.0)],
    "wsd_equal_distance": [(37, 5, 11), (2, 1, 1), (7, 0, 3), (3 * 10**13, 10**12, 6 * 10**12), (5 * 10**12, 0, 10**12)],
    "noam_peak": [(128, 250), (32, 2)],
    "cycle_growth": [(0.05, 0.25, 4, 6.0)],
}
