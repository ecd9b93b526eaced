"""Each checker of the fine-tuning chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import math

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import finetune as C


def test_discriminative_lr_list():
    C.discriminative_lr_list(lambda lr, n, f: [lr / f ** (n - 1 - k) for k in range(n)])
    with pytest.raises(CheckFailed):  # reversed: the head gets the smallest LR
        C.discriminative_lr_list(lambda lr, n, f: [lr / f**k for k in range(n)])


def _stlr(max_lr, total, cut_frac, ratio, t):
    cut = math.floor(total * cut_frac)
    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
    return max_lr * (1 + p * (ratio - 1)) / ratio


def test_slanted_triangular_lr():
    C.slanted_triangular_lr(_stlr)
    with pytest.raises(CheckFailed):  # forgot the floor of ratio: starts at 0 instead of max_lr / ratio
        C.slanted_triangular_lr(lambda m, T, c, r, t: m * (t / math.floor(T * c) if t < math.floor(T * c) else 1))


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
    from tests.references.finetune import _stlr

    C.stlr_mean(lambda lr, r: lr * (1 + r) / (2 * r))
    total = 100_000  # the formula is the long-run mean of the schedule itself, for any cut_frac
    for cut_frac in (0.1, 0.5):
        mean = sum(_stlr(0.3, total, cut_frac, 32, t) for t in range(total + 1)) / (total + 1)
        assert mean == pytest.approx(0.3 * 33 / 64, rel=1e-3)
    with pytest.raises(CheckFailed, match="stlr_mean"):
        C.stlr_mean(lambda lr, r: lr / 2)  # forgets the floor lr/ratio
