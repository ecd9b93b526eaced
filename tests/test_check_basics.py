"""Every checker of lrcourse.check.basics passes a right answer and rejects typical wrong ones."""

from __future__ import annotations

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import basics as chk


def test_gd_step() -> None:
    chk.gd_step(lambda w, g, lr: w - lr * g)
    with pytest.raises(CheckFailed, match="gd_step"):
        chk.gd_step(lambda w, g, lr: w + lr * g)  # climbs the gradient
    with pytest.raises(CheckFailed, match="gd_step"):
        chk.gd_step(lambda w, g, lr: w - g)  # forgets the learning rate


def test_max_stable_lr() -> None:
    chk.max_stable_lr(lambda h: 2 / max(h))
    with pytest.raises(CheckFailed, match="max_stable_lr"):
        chk.max_stable_lr(lambda h: 1 / max(h))  # the one-step rate, not the stability limit
    with pytest.raises(CheckFailed, match="max_stable_lr"):
        chk.max_stable_lr(lambda h: 2 / min(h))  # the flattest direction


def test_contraction() -> None:
    chk.contraction(lambda lr, h: max(abs(1 - lr * x) for x in h))
    with pytest.raises(CheckFailed, match="contraction"):
        chk.contraction(lambda lr, h: max(1 - lr * x for x in h))  # no absolute value
    with pytest.raises(CheckFailed, match="not implemented"):
        chk.contraction(lambda lr, h: (_ for _ in ()).throw(NotImplementedError("Exercise 3")))


def test_gd_step_result_is_a_tensor() -> None:
    with pytest.raises(CheckFailed):
        chk.gd_step(lambda w, g, lr: (w - lr * g).tolist() + [0.0])  # wrong shape
