"""Each checker of the fine-tuning chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import math

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import finetune as C


def _stlr(max_lr, total, cut_frac, ratio, t):
    cut = math.floor(total * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return max_lr * (1 + p * (ratio - 1)) / ratio


def test_unfrozen_after():
    C.unfrozen_after(lambda n, e: [k >= n - 1 - e for k in range(n)])
    with pytest.raises(CheckFailed):  # unfreezes from the input upwards
        C.unfrozen_after(lambda n, e: [k <= e for k in range(n)])


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
