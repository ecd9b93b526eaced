"""Checkers for chapter 1, learning-rate basics."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from . import CheckFailed, compare

__all__ = ["best_constant_lr", "gd_step", "guaranteed_decrease", "max_stable_lr", "steps_to_tolerance"]

def gd_step(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(w, grad, lr)``: the parameters after one step of gradient descent, a new tensor.

    >>> gd_step(lambda w, g, lr: w)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ gd_step([1.0, 2.0], [0.5, -1.0], 0.1): expected [0.949999988079071, 2.0999999046325684], got [1.0, 2.0]. Hint: ...
    """
    t = torch.tensor

    def untouched(w: torch.Tensor, g: torch.Tensor, lr: float) -> torch.Tensor:
        before = w.clone()
        out = fn(w, g, lr)
        if not torch.equal(w, before):
            raise CheckFailed("❌ gd_step: it changed w in place. Hint: build the result as a new tensor (no -= or sub_ on w).")
        return out

    compare(
        "gd_step",
        untouched,
        None,
        [
            (t([1.0, 2.0]), t([0.5, -1.0]), 0.1),
            (t([0.0]), t([3.0]), 1.0),
            (t([1.0, 1.0]), t([0.0, 0.0]), 0.5),  # zero gradient: nothing moves
            (t([2.0]), t([1.0]), 0.0),  # zero learning rate: nothing moves
        ],
        hint="one step moves against the gradient, scaled by the rate; return a new tensor.",
    )


def _least_squares_diverges(x: torch.Tensor, lr: float, steps: int = 400) -> bool:
    """Full-batch gradient descent on ``‖x w − y‖² / (2n)`` from ``w = 0``: does it blow up?"""
    y = torch.randn(len(x), 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = torch.zeros(x.shape[1], 3, dtype=torch.float64)
    start = (y**2).sum() / (2 * len(x))
    for _ in range(steps):
        w = w - lr * x.T @ (x @ w - y) / len(x)
    loss = ((x @ w - y) ** 2).sum() / (2 * len(x))
    return not bool(loss < start)


def _least_squares_cases() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    z = torch.randn(200, 5, generator=g, dtype=torch.float64)
    mixed = z @ torch.tensor([[1.0, 0.9, 0.8, 0.0, 0.0]] * 5, dtype=torch.float64).T + 0.3 * z  # correlated columns
    return [
        (torch.eye(3, dtype=torch.float64) * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),),  # diagonal
        (mixed,),
        (torch.randn(50, 4, generator=g, dtype=torch.float64) + 2.0,),  # inputs not centred: the mean adds curvature
        (torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, -1.0]], dtype=torch.float64),),
    ]


def _with_runs(fn: Callable[[torch.Tensor], float] | None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The rate ``fn`` gives, and whether gradient descent converges at 0.97x it and diverges at 1.03x it."""
    if fn is None or fn is Ellipsis:
        return fn

    def answer_and_runs(x: torch.Tensor) -> torch.Tensor:
        lr = float(fn(x))
        below, above = not _least_squares_diverges(x, 0.97 * lr), _least_squares_diverges(x, 1.03 * lr)
        return torch.tensor([lr, float(below), float(above)], dtype=torch.float64)

    return answer_and_runs


def max_stable_lr(fn: Callable[[torch.Tensor], float]) -> None:
    """Check ``fn(x)``: the largest stable rate of full-batch gradient descent on least squares.

    The loss is ``‖x w − y‖² / (2n)`` for inputs ``x`` of shape ``(n, d)``. Each case is also run:
    shown as ``[rate, converged at 0.97x, diverged at 1.03x]``, the last two 1 for a right answer.

    >>> max_stable_lr(lambda x: 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ max_stable_lr([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]]): expected [0.6666666666666666, 1.0, 1.0], got [1.0, 0.0, 1.0]. Hint: ...
    """
    compare(
        "max_stable_lr",
        _with_runs(fn),
        None,
        _least_squares_cases(),
        hint="differentiate ‖x w − y‖² / (2n) twice: the Hessian depends on the inputs only, and its steepest "
        "direction, not a single input column (correlated columns add up), sets the limit as for a quadratic. "
        "(Each case also runs gradient descent at 0.97x and 1.03x your rate: [rate, converged below, diverged above].)",
    )


def best_constant_lr(fn: Callable[[Sequence[float]], float]) -> None:
    """Check ``fn(eigenvalues)``: the rate that balances the flattest and steepest directions.

    >>> best_constant_lr(lambda h: 1 / max(h))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ best_constant_lr([1.0, 10.0]): expected 0.18181818181818182, got 0.1. Hint: ...
    """
    compare(
        "best_constant_lr",
        fn,
        None,
        [([1.0, 10.0],), ([4.0],), ([0.5, 2.0, 3.0],), ([0.01, 1.0],)],
        hint="only the flattest and the steepest directions matter: make the sizes of their factors |1 − lr·h| "
        "equal, keeping track of which one overshoots (a single eigenvalue is the case μ = L).",
    )


def guaranteed_decrease(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(lr, L, grad_norm)``: the descent lemma's bound on one step's decrease.

    The bound must also hold on an ``L``-smooth loss, and be exact on the quadratic of curvature ``L``.

    >>> guaranteed_decrease(lambda lr, L, g: lr / 2 * g**2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ guaranteed_decrease(0.1, 1.0, 2.0): expected 0.38, got 0.2. Hint: ...
    """
    cases = [(0.1, 1.0, 2.0), (1.0, 1.0, 1.0), (0.5, 4.0, 3.0), (0.25, 4.0, 1.0), (1.5, 1.0, 1.0), (0.0, 2.0, 5.0)]
    compare(
        "guaranteed_decrease",
        fn,
        None,
        cases,
        hint="put one gradient step into the descent lemma's upper bound and read off the decrease; it is 0 at "
        "lr = 0 and negative when the rate is too large.",
    )


def steps_to_tolerance(fn: Callable[[float, Sequence[float], Sequence[float], float], float]) -> None:
    """Check ``fn(lr, eigenvalues, x0, tol)``: how many gradient-descent steps until every ``|x_i| <= tol``.

    The expected counts come from actual runs of gradient descent; ``math.inf`` when it never gets there.

    >>> steps_to_tolerance(lambda lr, h, x0, tol: 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ steps_to_tolerance(0.1, [1.0], [1.0], 0.001): expected 66, got 0. Hint: ...
    """
    compare(
        "steps_to_tolerance",
        fn,
        None,
        [
            (0.1, [1.0], [1.0], 1e-3),  # factor 0.9
            (0.5, [1.0, 0.1], [1.0, 1.0], 1e-4),  # the flat direction sets the pace
            (0.3, [1.0, 6.0], [1.0, 1.0], 1e-6),  # the steep one oscillates (factor -0.8) and is slowest
            (1.0, [1.0], [5.0], 1e-9),  # lr = 1/h: one step
            (0.25, [1.0, 4.0], [1e-5, 2.0], 1e-3),  # a coordinate already within tolerance
            (0.5, [1.0, 4.0], [1.0, 1.0], 1e-3),  # lr = 2/L: the steep coordinate oscillates forever
            (0.6, [1.0, 4.0], [1.0, 1.0], 1e-3),  # past 2/L: never
            (0.0, [1.0], [0.5], 1.0),  # already there: zero steps
        ],
        hint="each coordinate shrinks by its own constant factor per step: count the whole steps each one needs "
        "(none if already within tol, never if its factor has size ≥ 1), and the slowest decides.",
    )
