"""Chapter 8's checkers accept the right answer and reject typical wrong ones."""

from __future__ import annotations

import math

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import batch_size as chk


def test_scaled_lr():
    chk.scaled_lr(lambda lr, b0, b: lr * b / b0)
    with pytest.raises(CheckFailed, match="scaled_lr"):
        chk.scaled_lr(lambda lr, b0, b: lr * math.sqrt(b / b0))  # the square-root rule
    with pytest.raises(CheckFailed, match="no answer"):
        chk.scaled_lr(None)


def test_warmup_length():
    chk.warmup_length(lambda e, n, b, w: math.ceil(e * n / (b * w)))
    with pytest.raises(CheckFailed):
        chk.warmup_length(lambda e, n, b, w: math.ceil(e * n / b))  # forgets the devices
    with pytest.raises(CheckFailed):
        chk.warmup_length(lambda e, n, b, w: int(e * n / (b * w)))  # rounds down


def test_minibatch_noise():
    chk.minibatch_noise(lambda g, b: float(((g - g.mean(0)) ** 2).sum(1).mean() / b))
    with pytest.raises(CheckFailed):
        chk.minibatch_noise(lambda g, b: float((g**2).sum(1).mean() / b))  # forgets to centre
    with pytest.raises(CheckFailed):
        chk.minibatch_noise(lambda g, b: float(((g - g.mean(0)) ** 2).sum(1).mean() / b**0.5))


def test_noise_preserving_lr():
    chk.noise_preserving_lr(lambda lr, b0, b: lr * (b / b0) ** 0.5)
    with pytest.raises(CheckFailed):
        chk.noise_preserving_lr(lambda lr, b0, b: lr * b / b0)  # the linear rule keeps lr/B, not lr²/B


def test_batch_for_step_budget():
    def right(s, bn, m):
        return math.inf if m <= s else math.ceil(bn / (m / s - 1) - 1e-9)

    chk.batch_for_step_budget(right)
    with pytest.raises(CheckFailed):  # forgets that s_min is a floor
        chk.batch_for_step_budget(lambda s, bn, m: math.ceil(bn / (m / s - 1)) if m != s else math.inf)
    with pytest.raises(CheckFailed):  # rounds down
        chk.batch_for_step_budget(lambda s, bn, m: math.inf if m <= s else math.floor(bn / (m / s - 1)))


def test_lars_update():
    def ref(w, g, lr, trust, wd):
        ratio = w.norm() / (g.norm() + wd * w.norm()) if w.norm() > 0 and g.norm() > 0 else 1.0
        return -lr * trust * ratio * (g + wd * w)

    chk.lars_update(ref)
    with pytest.raises(CheckFailed):
        chk.lars_update(lambda w, g, lr, trust, wd: -lr * trust * (g + wd * w))  # no trust ratio
    with pytest.raises(CheckFailed):
        chk.lars_update(lambda w, g, lr, trust, wd: -lr * trust * w.norm() / g.norm() * (g + wd * w))  # decay left out of the ratio
    with pytest.raises(CheckFailed):  # a zero tensor divides 0 by the gradient's norm and never moves
        chk.lars_update(lambda w, g, lr, trust, wd: -lr * trust * w.norm() / (g.norm() + wd * w.norm()) * (g + wd * w))
