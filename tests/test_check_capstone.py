"""Each checker of the capstone chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import math

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import capstone as C


def _above(lr_max, lr_min, w, total, lr):
    if lr <= 0:
        return float(total)
    if lr > lr_max:
        return 0.0
    up = w * (1 - lr / lr_max)
    if lr <= lr_min:
        return up + total - w
    return up + (total - w) * math.acos(2 * (lr - lr_min) / (lr_max - lr_min) - 1) / math.pi


def _count_steps(lr_max, lr_min, w, total, lr):  # counts integer steps: no closed form, off by a fraction
    rate = [lr_max * t / w if t < w else lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * (t - w) / (total - w))) / 2
            for t in range(total)]
    return float(sum(r >= lr for r in rate))


def test_time_above_lr():
    C.time_above_lr(_above)
    with pytest.raises(CheckFailed):  # ignores the floor: the cosine taken down to 0
        C.time_above_lr(lambda a, b, w, T, lr: _above(a, 0.0, w, T, lr))
    with pytest.raises(CheckFailed):  # forgets the warm-up's share
        C.time_above_lr(lambda a, b, w, T, lr: _above(a, b, w, T, lr) - w * (1 - lr / a) if 0 < lr <= a else
                        _above(a, b, w, T, lr))
    with pytest.raises(CheckFailed):
        C.time_above_lr(_count_steps)


def _decoupled(model, lr, wd, scaler):
    w = [p for p in model.parameters() if p.dim() > 1]
    b = [p for p in model.parameters() if p.dim() <= 1]
    return [{"params": w, "lr": lr, "weight_decay": wd}, {"params": b, "lr": lr * scaler, "weight_decay": wd / scaler}]


def test_decoupled_decay():
    C.decoupled_decay(_decoupled)
    with pytest.raises(CheckFailed):  # scales the rate but leaves the decay coefficient: 1-D params decay scaler x faster
        C.decoupled_decay(lambda m, lr, wd, s: [dict(g, weight_decay=wd) for g in _decoupled(m, lr, wd, s)])
    with pytest.raises(CheckFailed):  # forgets to scale the 1-D parameters' rate
        C.decoupled_decay(lambda m, lr, wd, s: [dict(g, lr=lr, weight_decay=wd) for g in _decoupled(m, lr, wd, s)])


def test_matched_lr():
    C.matched_lr(lambda lr, a, b: lr * (1 - b) / (1 - a))
    with pytest.raises(CheckFailed):  # upside down
        C.matched_lr(lambda lr, a, b: lr * (1 - a) / (1 - b))


def test_time_to_target():
    import statistics

    def right(finals, target):
        for b in sorted(finals):
            if statistics.median([a if a == a else 0.0 for a in finals[b]]) >= target:
                return b
        return None

    C.time_to_target(right)
    with pytest.raises(CheckFailed):  # drops diverged runs instead of counting them as failures
        C.time_to_target(lambda f, t: next((b for b in sorted(f) if statistics.median([a for a in f[b] if a == a]) >= t),
                                           None))
    with pytest.raises(CheckFailed):  # takes the budgets in dict order
        C.time_to_target(lambda f, t: next((b for b in f if statistics.median([a if a == a else 0 for a in f[b]]) >= t),
                                           None))
