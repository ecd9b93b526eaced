"""Each checker of the fine-tuning chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import finetune as C


def _stlr(max_lr, total, cut_frac, ratio, t):
    cut = math.floor(total * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return max_lr * (1 + p * (ratio - 1)) / ratio


def _mean_lrs(max_lr, n_groups, factor, epochs, cut_frac, ratio, start=lambda j, e: j / e, whole_run=True):
    def area(u):  # the integral of the schedule's position p over [0, u]
        c = cut_frac
        return u * u / (2 * c) if u <= c else c / 2 + (u - c) - (u - c) ** 2 / (2 * (1 - c))

    out = []
    for k in range(n_groups):
        j = n_groups - 1 - k
        u = min(start(j, epochs), 1.0)
        total = (1 - u) + (ratio - 1) * (0.5 - area(u))
        out.append(0.0 if u >= 1 else max_lr / (ratio * factor**j) * total / (1 if whole_run else 1 - u))
    return out


def test_unfreezing_mean_lrs_right(capsys) -> None:
    C.unfreezing_mean_lrs(_mean_lrs)
    C.unfreezing_mean_lrs(lambda *a: torch.tensor(_mean_lrs(*a)))  # a float32 tensor is fine
    assert capsys.readouterr().out.count("✅") == 2


def test_unfreezing_mean_lrs_is_the_long_run_of_the_library() -> None:
    """The closed form is the limit of the library's schedule and gradual unfreezing, step by step."""
    from lrcourse import finetune, schedules
    from lrcourse.models import mlp

    lr, epochs, per_epoch, factor = 0.3, 5, 400, 2.6
    model = mlp(4, 2, hidden=(8, 8, 8))  # four layer groups
    unfreeze = finetune.GradualUnfreeze(model)
    stlr = schedules.slanted_triangular(lr, epochs * per_epoch, 0.3, 32)
    sums = [0.0] * 4
    for epoch in range(epochs):
        trainable = finetune.trainable_groups(model)
        seg = sum(stlr(t) for t in range(epoch * per_epoch, (epoch + 1) * per_epoch))
        sums = [s + seg / factor ** (3 - k) * trainable[k] for k, s in enumerate(sums)]
        unfreeze(epoch + 1, model)
    simulated = [s / (epochs * per_epoch) for s in sums]
    assert simulated == pytest.approx(_mean_lrs(lr, 4, factor, epochs, 0.3, 32), rel=2e-3)


def _simulated(max_lr, n_groups, factor, epochs, cut_frac, ratio, per_epoch=100):
    """The library's schedule summed step by step: a short run misses the long-run limit."""
    from lrcourse import schedules

    stlr = schedules.slanted_triangular(max_lr, epochs * per_epoch, cut_frac, ratio)
    rates = [stlr(t) for t in range(epochs * per_epoch)]
    return [sum(rates[min(n_groups - 1 - k, epochs) * per_epoch:]) / factor ** (n_groups - 1 - k) / len(rates)
            for k in range(n_groups)]


def test_unfreezing_mean_lrs_wrong() -> None:
    wrongs = [
        _simulated,
        lambda lr, g, f, e, c, r: [lr * (1 + r) / (2 * r) / f ** (g - 1 - k) for k in range(g)],  # no unfreezing
        lambda *a: _mean_lrs(*a, start=lambda j, e: (j + 1) / e),  # the head waits an epoch too
        lambda *a: _mean_lrs(*a, whole_run=False),  # the mean over the group's trained steps only
        lambda *a: _mean_lrs(*a)[::-1],  # head first
        lambda lr, g, f, e, c, r: [  # the head's long-run mean times the share of the run trained
            lr * (1 + r) / (2 * r) / f ** (g - 1 - k) * max(0.0, 1 - (g - 1 - k) / e) for k in range(g)
        ],
    ]
    for wrong in wrongs:
        with pytest.raises(CheckFailed, match="unfreezing_mean_lrs"):
            C.unfreezing_mean_lrs(wrong)


def test_slice_lrs() -> None:
    from tests.references.finetune import _slice_lrs

    C.slice_lrs(_slice_lrs)
    assert _slice_lrs(0.001, 0.1, 3) == pytest.approx([0.001, 0.01, 0.1])
    for wrong in (
        lambda lo, hi, n: [lo + (hi - lo) * k / max(n - 1, 1) for k in range(n)],  # linear, not geometric
        lambda lo, hi, n: _slice_lrs(lo, hi, n)[::-1],  # head first
    ):
        with pytest.raises(CheckFailed, match="slice_lrs"):
            C.slice_lrs(wrong)


def test_stlr_mean() -> None:
    from lrcourse.schedules import slanted_triangular

    C.stlr_mean(lambda lr, r: lr * (1 + r) / (2 * r))
    total = 100_000  # the formula is the long-run mean of the schedule itself, for any cut_frac
    for cut_frac in (0.1, 0.5):
        stlr = slanted_triangular(0.3, total, cut_frac, 32)
        mean = sum(stlr(t) for t in range(total + 1)) / (total + 1)
        assert mean == pytest.approx(0.3 * 33 / 64, rel=1e-3)
    with pytest.raises(CheckFailed, match="stlr_mean"):
        C.stlr_mean(lambda lr, r: lr / 2)  # forgets the floor lr/ratio
