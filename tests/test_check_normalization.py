"""Chapter 9's checkers accept the right answer and reject typical wrong ones."""

from __future__ import annotations

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import normalization as chk


def test_standardize():
    def right(a, b):
        m, s = a.mean(0), a.std(0, unbiased=False)
        return (a - m) / s, (b - m) / s

    def own_stats(a, b):  # the test set standardized with its own statistics: a leak
        return right(a, a)[0], right(b, b)[0]

    chk.standardize(right)
    with pytest.raises(CheckFailed, match="standardize"):
        chk.standardize(own_stats)
    with pytest.raises(CheckFailed):
        chk.standardize(lambda a, b: (a - a.mean(), b - a.mean()))  # centres but does not scale


def test_batchnorm_train():
    def right(x, g, b, eps):
        return g * (x - x.mean(0)) / (x.var(0, unbiased=False) + eps).sqrt() + b

    chk.batchnorm_train(right)
    with pytest.raises(CheckFailed):
        chk.batchnorm_train(lambda x, g, b, eps: g * (x - x.mean(0)) / (x.var(0) + eps).sqrt() + b)  # unbiased
    with pytest.raises(CheckFailed):
        chk.batchnorm_train(lambda x, g, b, eps: (x - x.mean(0)) / (x.var(0, unbiased=False) + eps).sqrt())


def test_running_update():
    def right(m, v, x, mom):
        return (1 - mom) * m + mom * x.mean(0), (1 - mom) * v + mom * x.var(0, unbiased=True)

    chk.running_update(right)
    with pytest.raises(CheckFailed):
        chk.running_update(lambda m, v, x, mom: (mom * m + (1 - mom) * x.mean(0), mom * v + (1 - mom) * x.var(0)))
    with pytest.raises(CheckFailed):
        chk.running_update(
            lambda m, v, x, mom: ((1 - mom) * m + mom * x.mean(0), (1 - mom) * v + mom * x.var(0, unbiased=False))
        )
