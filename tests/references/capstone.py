"""Reference answers of chapter 15's checkers (lrcourse.check.capstone), kept out of the package."""

from __future__ import annotations

import math
import statistics


def _time_above(lr_max: float, lr_min: float, warmup: int, total: int, lr: float) -> float:
    if lr <= 0:
        return float(total)
    if lr > lr_max:
        return 0.0
    rising = warmup * (1 - lr / lr_max)  # the warm-up reaches lr at warmup * lr / lr_max
    if lr <= lr_min:
        return rising + (total - warmup)
    # the cosine phase falls to lr where (1 + cos(pi u)) / 2 = (lr - lr_min) / (lr_max - lr_min)
    u = math.acos(2 * (lr - lr_min) / (lr_max - lr_min) - 1) / math.pi
    return rising + u * (total - warmup)


def _coupled_decay(lr: float, decay: float, momentum: float, nesterov: bool) -> float:
    """PyTorch's SGD with no loss gradient: weight w and buffer v map linearly, and (w, v) ∝ r**t with r = 1 - decay.

    Heavy ball: v' = mu v + wd w, w' = w - lr v'  -> r**2 - (1 + mu - a) r + mu = 0, with a = lr wd.
    Nesterov:   w' = w - lr (wd w + mu v')         -> r**2 - (1 + mu - a (1 + mu)) r + mu (1 - a) = 0.
    Both linear in a; solved for it.
    """
    r, mu = 1 - decay, momentum
    a = (1 - r) * (r - mu) / ((1 + mu) * r - mu if nesterov else r)
    return a / lr


def _time_to_target(finals: dict[int, list[float]], target: float) -> float | None:
    budgets = sorted(finals)
    medians = [statistics.median(a if math.isfinite(a) else 0.0 for a in finals[b]) for b in budgets]
    k = next((i for i, m in enumerate(medians) if m >= target), None)
    if k is None:
        return None
    if k == 0:
        return float(budgets[0])
    lo, hi = math.log(budgets[k - 1]), math.log(budgets[k])
    return math.exp(lo + (target - medians[k - 1]) / (medians[k] - medians[k - 1]) * (hi - lo))


REFERENCES = {
    "time_above_lr": _time_above,
    "coupled_decay": _coupled_decay,
    "matched_lr": lambda lr, mu_from, mu_to: lr * (1 - mu_to) / (1 - mu_from),
    "time_to_target": _time_to_target,
}

HIDDEN = {
    "time_above_lr": [(0.3, 0.03, 5, 60, 0.1), (1.0, 0.0, 30, 100, 0.9), (0.2, 0.05, 0, 10, 0.0)],
    "coupled_decay": [(0.05, 1e-3, 0.95, True), (1.0, 0.02, 0.9, True), (0.3, 2e-3, 0.9, False)],
    "matched_lr": [(0.2, 0.5, 0.8), (0.05, 0.99, 0.9)],
    "time_to_target": [
        ({1: [0.7, 0.7, 0.7], 2: [0.95, 0.9, 0.92], 4: [0.85, 0.8, 0.86], 8: [0.97, 0.96, 0.95]}, 0.9),  # dips: the first
        ({16: [0.93, math.nan, 0.95, 0.9], 4: [0.8, 0.85, math.nan, math.nan], 8: [0.86, 0.9, 0.88, 0.2]}, 0.9),  # NaN in both
        ({5: [0.99, 0.97, 0.98]}, 0.98),  # exactly at the target, one budget
        ({3: [0.7, 0.9, 0.8], 6: [0.9, 0.9, 0.9]}, 0.9),  # the median hits the target exactly at 6
    ],
}
