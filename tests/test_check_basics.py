"""Every checker of lrcourse.check.basics passes a right answer and rejects typical wrong ones."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import basics as chk


def test_gd_step() -> None:
    chk.gd_step(lambda w, g, lr: w - lr * g)
    with pytest.raises(CheckFailed, match="gd_step"):
        chk.gd_step(lambda w, g, lr: w + lr * g)  # climbs the gradient
    with pytest.raises(CheckFailed, match="gd_step"):
        chk.gd_step(lambda w, g, lr: w - g)  # forgets the learning rate


def test_max_stable_lr() -> None:
    chk.max_stable_lr(lambda x: 2 / torch.linalg.eigvalsh(x.T @ x / len(x)).max().item())
    with pytest.raises(CheckFailed, match="max_stable_lr"):
        chk.max_stable_lr(lambda x: 2 / (x**2).mean(0).max().item())  # one column at a time: misses correlations
    with pytest.raises(CheckFailed, match="max_stable_lr"):
        chk.max_stable_lr(lambda x: 1 / torch.linalg.eigvalsh(x.T @ x / len(x)).max().item())  # the one-step rate
    with pytest.raises(CheckFailed, match="max_stable_lr"):
        chk.max_stable_lr(lambda x: 2 / torch.linalg.eigvalsh(x.T @ x).max().item())  # the sum, not the mean
    with pytest.raises(CheckFailed, match="not implemented"):
        chk.max_stable_lr(lambda x: (_ for _ in ()).throw(NotImplementedError("Exercise 5")))


def test_least_squares_run_agrees_with_the_reference() -> None:
    # the run inside the checker is a real test: just below the edge converges, just above diverges
    for (x,) in chk._least_squares_cases():
        edge = 2 / torch.linalg.eigvalsh(x.T @ x / len(x)).max().item()
        assert not chk._least_squares_diverges(x, 0.97 * edge)
        assert chk._least_squares_diverges(x, 1.03 * edge)


def test_gd_step_result_is_a_tensor() -> None:
    with pytest.raises(CheckFailed):
        chk.gd_step(lambda w, g, lr: (w - lr * g).tolist() + [0.0])  # wrong shape


def test_gd_step_in_place_is_caught() -> None:
    def in_place(w, g, lr):
        w -= lr * g
        return w

    with pytest.raises(CheckFailed, match="in place"):
        chk.gd_step(in_place)


def test_best_constant_lr() -> None:
    chk.best_constant_lr(lambda h: 2 / (min(h) + max(h)))
    with pytest.raises(CheckFailed, match="best_constant_lr"):
        chk.best_constant_lr(lambda h: 1 / max(h))  # the steep direction's one-step rate
    with pytest.raises(CheckFailed, match="best_constant_lr"):
        chk.best_constant_lr(lambda h: 2 / max(h))  # the stability limit, where the steep direction never settles


def test_guaranteed_decrease() -> None:
    chk.guaranteed_decrease(lambda lr, L, g: lr * (1 - L * lr / 2) * g**2)
    with pytest.raises(CheckFailed, match="guaranteed_decrease"):
        chk.guaranteed_decrease(lambda lr, L, g: lr / 2 * g**2)  # the lr <= 1/L shortcut, used everywhere
    with pytest.raises(CheckFailed, match="guaranteed_decrease"):
        chk.guaranteed_decrease(lambda lr, L, g: lr * (1 - L * lr / 2) * g)  # |g|, not |g|^2


def _steps_formula(lr, h, x0, tol):
    worst = 0
    for hi, xi in zip(h, x0):
        a = abs(1 - lr * hi)
        if abs(xi) <= tol:
            continue
        if a >= 1:
            return math.inf
        worst = max(worst, 1 if a == 0 else math.ceil(math.log(tol / abs(xi)) / math.log(a)))
    return worst


def test_steps_to_tolerance() -> None:
    chk.steps_to_tolerance(_steps_formula)
    with pytest.raises(CheckFailed, match="steps_to_tolerance"):  # only the flattest direction
        chk.steps_to_tolerance(lambda lr, h, x0, tol: _steps_formula(lr, [min(h)], [max(map(abs, x0))], tol))
    with pytest.raises(CheckFailed, match="steps_to_tolerance"):  # forgets the absolute value of the factor
        chk.steps_to_tolerance(
            lambda lr, h, x0, tol: max(
                math.inf if 1 - lr * a <= 0 and abs(x) > tol else _steps_formula(lr, [a], [x], tol) for a, x in zip(h, x0)
            )
        )
