"""Every sharpness checker passes a right answer and rejects a wrong one."""

from __future__ import annotations

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import sharpness as check


def _power(mv, n, iters):  # noqa: ANN001, ANN202
    v = torch.ones(n) / n**0.5
    for _ in range(iters):
        w = mv(v)
        v = w / w.norm()
    return float(v @ mv(v))


def test_power_iteration() -> None:
    check.power_iteration(_power)
    with pytest.raises(CheckFailed, match="power_iteration"):
        check.power_iteration(lambda mv, n, iters: float(mv(torch.ones(n) / n**0.5).norm()))  # one step only
    with pytest.raises(CheckFailed, match="power_iteration"):
        check.power_iteration(lambda mv, n, iters: _power(mv, n, iters) ** 0.5)


def _box(h, theta, eps):  # noqa: ANN001, ANN202
    loss = lambda t: 0.5 * (h * t**2).sum()  # noqa: E731
    worst = theta + torch.where(theta >= 0, 1.0, -1.0) * eps * (theta.abs() + 1)
    return float(100 * (loss(worst) - loss(theta)) / (1 + loss(theta)))


def test_box_sharpness() -> None:
    check.box_sharpness(_box)
    def towards_zero(h, th, e):  # noqa: ANN001, ANN202
        loss = lambda t: 0.5 * (h * t**2).sum()  # noqa: E731
        worst = th - torch.where(th >= 0, 1.0, -1.0) * e * (th.abs() + 1)
        return float(100 * (loss(worst) - loss(th)) / (1 + loss(th)))

    with pytest.raises(CheckFailed, match="box_sharpness"):  # pushes towards 0 instead of away
        check.box_sharpness(towards_zero)
    with pytest.raises(CheckFailed, match="box_sharpness"):  # forgot the normalization by 1 + L
        check.box_sharpness(lambda h, th, e: _box(h, th, e) * (1 + 0.5 * float((h * th**2).sum())))
    with pytest.raises(CheckFailed, match="box_sharpness"):  # a box of fixed size eps, not eps(|θ|+1)
        check.box_sharpness(lambda h, th, e: float(100 * (0.5 * (h * (th.abs() + e) ** 2).sum() - 0.5 * (h * th**2).sum()) / (1 + 0.5 * (h * th**2).sum())))


def test_sam_gradient() -> None:
    from tests.references.sharpness import _sam_gradient

    check.sam_gradient(_sam_gradient)
    for wrong in (
        lambda h, t, r: h * t,  # plain gradient descent: no perturbation
        lambda h, t, r: h * (t + r * t / t.norm()),  # the ascent direction must follow the gradient h*t, not t
    ):
        with pytest.raises(CheckFailed, match="sam_gradient"):
            check.sam_gradient(wrong)
