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


def test_batchnorm_input_grad():
    def right(x, gamma, up, eps):
        m, v = x.mean(0), x.var(0, unbiased=False)
        xh = (x - m) / (v + eps).sqrt()
        return gamma / (v + eps).sqrt() * (up - up.mean(0) - xh * (up * xh).mean(0))

    chk.batchnorm_input_grad(right)
    with pytest.raises(CheckFailed):  # treats the batch statistics as constants
        chk.batchnorm_input_grad(lambda x, gamma, up, eps: gamma * up / (x.var(0, unbiased=False) + eps).sqrt())
    with pytest.raises(CheckFailed):  # forgets the path through the variance
        chk.batchnorm_input_grad(
            lambda x, gamma, up, eps: gamma * (up - up.mean(0)) / (x.var(0, unbiased=False) + eps).sqrt()
        )


def test_equilibrium_sq_norm():
    chk.equilibrium_sq_norm(lambda lr, wd, g: lr * g / (1 - (1 - lr * wd) ** 2) ** 0.5)
    with pytest.raises(CheckFailed):  # the small-lr*wd approximation is not exact at lr*wd = 0.25
        chk.equilibrium_sq_norm(lambda lr, wd, g: g * (lr / (2 * wd)) ** 0.5)
    with pytest.raises(CheckFailed):  # the norm instead of its square
        chk.equilibrium_sq_norm(lambda lr, wd, g: (lr * g / (1 - (1 - lr * wd) ** 2) ** 0.5) ** 0.5)


def test_equilibrium_is_the_fixed_point_of_the_recursion():
    from tests.references.normalization import _equilibrium

    lr, wd, g, s = 0.1, 5e-3, 2.0, 1.0
    for _ in range(200_000):
        s = (1 - lr * wd) ** 2 * s + lr**2 * g**2 / s
    assert abs(s - _equilibrium(lr, wd, g)) < 1e-6 * s
