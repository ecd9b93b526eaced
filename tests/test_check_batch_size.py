"""Chapter 8's checkers accept the right answer and reject typical wrong ones."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse import scaling
from lrcourse.check import CheckFailed
from lrcourse.check import batch_size as chk


def test_minibatch_noise():
    chk.minibatch_noise(lambda g, b: float(((g - g.mean(0)) ** 2).sum(1).mean() / b))
    with pytest.raises(CheckFailed):
        chk.minibatch_noise(lambda g, b: float((g**2).sum(1).mean() / b))  # forgets to centre
    with pytest.raises(CheckFailed):
        chk.minibatch_noise(lambda g, b: float(((g - g.mean(0)) ** 2).sum(1).mean() / b**0.5))
    with pytest.raises(CheckFailed):  # the sample variance (N - 1): another population
        chk.minibatch_noise(lambda g, b: float(((g - g.mean(0)) ** 2).sum(1).sum() / (len(g) - 1) / b))


def _right_adam_rule(lr, b1, b2, eps, b0, b):
    k = b / b0
    return lr * math.sqrt(k), 1 - k * (1 - b1), 1 - k * (1 - b2), eps / math.sqrt(k)


def test_adam_batch_rule(capsys):
    chk.adam_batch_rule(_right_adam_rule)
    assert "✅" in capsys.readouterr().out
    wrong = [
        lambda lr, b1, b2, eps, b0, b: (lr * math.sqrt(b / b0), b1, b2, eps),  # the rate alone
        lambda lr, b1, b2, eps, b0, b: (lr * b / b0, *_right_adam_rule(lr, b1, b2, eps, b0, b)[1:]),  # SGD's rule
        lambda lr, b1, b2, eps, b0, b: (*_right_adam_rule(lr, b1, b2, eps, b0, b)[:3], eps),  # eps left alone
        lambda lr, b1, b2, eps, b0, b: (*_right_adam_rule(lr, b1, b2, eps, b0, b)[:3], eps * math.sqrt(b / b0)),
        lambda lr, b1, b2, eps, b0, b: (lr * math.sqrt(b / b0), b1 ** (b / b0), b2 ** (b / b0), eps / math.sqrt(b / b0)),
    ]
    for fn in wrong:
        with pytest.raises(CheckFailed, match="adam_batch_rule"):
            chk.adam_batch_rule(fn)
    with pytest.raises(CheckFailed, match="tuple"):
        chk.adam_batch_rule(lambda lr, b1, b2, eps, b0, b: lr * math.sqrt(b / b0))
    with pytest.raises(CheckFailed, match="no answer"):
        chk.adam_batch_rule(None)


def test_batch_for_step_budget():
    def right(s, bn, m):
        return math.inf if m <= s else math.ceil(bn / (m / s - 1) - 1e-9)

    chk.batch_for_step_budget(right)
    with pytest.raises(CheckFailed):  # forgets that s_min is a floor
        chk.batch_for_step_budget(lambda s, bn, m: math.ceil(bn / (m / s - 1)) if m != s else math.inf)
    with pytest.raises(CheckFailed):  # rounds down
        chk.batch_for_step_budget(lambda s, bn, m: math.inf if m <= s else math.floor(bn / (m / s - 1)))


def _right_lars_relative(w, g, cos, lr, trust, wd):
    if g == 0 and wd == 0:
        return 0.0
    return lr * trust * math.sqrt(g**2 + (wd * w) ** 2 + 2 * wd * w * g * cos) / (g + wd * w)


def test_lars_relative_step(capsys):
    chk.lars_relative_step(_right_lars_relative)
    assert "✅" in capsys.readouterr().out
    wrong = [
        lambda w, g, cos, lr, trust, wd: lr * trust,  # forgets the decay's direction
        lambda w, g, cos, lr, trust, wd: lr * trust * (g + wd * w * cos) / (g + wd * w) if g + wd * w else 0.0,
        lambda w, g, cos, lr, trust, wd: _right_lars_relative(w, g, cos, lr, trust, wd) if g > 0 else lr * trust * wd,
    ]
    for fn in wrong:
        with pytest.raises(CheckFailed, match="lars_relative_step"):
            chk.lars_relative_step(fn)
    with pytest.raises(ZeroDivisionError):  # 0 / 0 where there is neither gradient nor decay
        chk.lars_relative_step(lambda w, g, cos, lr, trust, wd: lr * trust * math.sqrt(
            g**2 + (wd * w) ** 2 + 2 * wd * w * g * cos) / (g + wd * w))


def test_lars_relative_step_reference_is_a_lars_step():
    """The reference predicts what one step of scaling.LARS (no momentum) does to a tensor."""
    from tests.references.batch_size import _lars_relative

    gen = torch.Generator().manual_seed(0)
    for wd, g_scale in [(0.0, 1e-2), (5e-3, 1e-2), (1e-2, 1.0), (1e-3, 0.0)]:
        w = torch.nn.Parameter(torch.randn(6, 4, generator=gen, dtype=torch.float64))
        w.grad = g_scale * torch.randn(6, 4, generator=gen, dtype=torch.float64)
        before, g = w.detach().clone(), w.grad.clone()
        cos = float((before * g).sum() / (before.norm() * g.norm())) if g_scale else 0.0
        scaling.LARS([w], lr=3.0, trust=1e-3, momentum=0.0, weight_decay=wd).step()
        measured = float((w.detach() - before).norm() / before.norm())
        predicted = _lars_relative(float(before.norm()), float(g.norm()), cos, 3.0, 1e-3, wd)
        assert math.isclose(measured, predicted, rel_tol=1e-9, abs_tol=1e-15), (wd, measured, predicted)
