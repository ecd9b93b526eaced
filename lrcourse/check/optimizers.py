"""Checkers for chapters 2 (critical points and momentum) and 7 (adaptive methods)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from . import compare

__all__ = [
    "adadelta_first_step",
    "decay_half_life",
    "gd_exit_step",
    "look_around",
    "powersign_flip_step",
    "taylor_second_order",
    "uncorrected_adam_ratio",
]

T = torch.Tensor


def _unless_missing(fn: Any, wrapped: Callable[..., Any]) -> Any:
    """``wrapped``, or ``fn`` itself when there is no answer yet (``compare`` says so)."""
    return fn if fn is None or fn is Ellipsis else wrapped


def _t(*values: float) -> T:
    return torch.tensor(values, dtype=torch.float64)


# ----------------------------------------------------------------------------- chapter 2


def gd_exit_step(fn: Callable[[list[float], float, list[float], float], float]) -> None:
    """Check ``fn(eigenvalues, lr, offset, radius)``: after how many steps gradient descent on the
    quadratic model of a critical point leaves the ball of radius ``radius`` around it.

    The model is ``L(δ) = ½ Σ λ_i δ_i²``, with ``δ`` written in the Hessian's eigenvectors:
    ``eigenvalues[i]`` is ``λ_i`` and ``offset[i]`` the start's coordinate along eigenvector ``i``
    (``‖offset‖ <= radius``). Plain gradient descent with rate ``lr`` runs from ``offset``; the
    answer is the first step ``t >= 1`` with ``‖δ_t‖ > radius``, or ``math.inf`` if there is none.
    Some cases take billions of steps: a loop does not finish them.

    >>> def simulate(eigenvalues, lr, offset, radius, cap=10_000):  # a first attempt: run it, and give up after cap steps
    ...     d = torch.tensor(offset, dtype=torch.float64)
    ...     for t in range(1, cap + 1):
    ...         d = d - lr * torch.tensor(eigenvalues, dtype=torch.float64) * d
    ...         if d.norm() > radius:
    ...             return t
    ...     return math.inf
    >>> gd_exit_step(simulate)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ gd_exit_step([-1.0, 1.0], 9.5367431640625e-07, [1e-06, 0.9], 1.0): expected 14486620, got inf. Hint: ...
    """
    compare(
        "gd_exit_step",
        _unless_missing(fn, lambda eigenvalues, lr, offset, radius: fn(list(eigenvalues), lr, list(offset), radius)),
        None,
        [
            ([-2.0, 2.0], 0.05, [7.0710678e-5, 7.0710678e-5], 0.1),  # the toy's saddle, from (1e-4, 0)
            ([1.0, 4.0], 0.4, [0.01, 0.01], 0.5),  # a minimum, lr below 2/λ_max
            ([1.0, 4.0], 0.6, [0.01, 1e-3], 0.5),  # the same minimum, lr above 2/λ_max
            ([1.0, 4.0], 0.5, [0.01, 0.01], 0.5),  # lr = 2/λ_max exactly
            ([-1.0, -0.99, 3.0], 0.1, [0.1, 0.1, 0.05], 1.0),  # two directions grow together
            ([0.0, 1.0], 0.1, [0.3, 0.0], 0.5),  # a flat direction
            ([-2.0, 2.0], 0.05, [0.0, 0.01], 0.5),  # nothing along the way down
            ([2.0, -0.5], 0.5, [0.3, 0.01], 1.0),  # lr·λ = 1: that coordinate is 0 after one step
            ([-100.0], 0.1, [0.05], 0.5),  # out at once
            ([-1.0, 1.0], 2.0**-20, [1e-6, 0.9], 1.0),  # first in, then out: millions of steps
            ([-3.0, 5.0], 2.0**-30, [1e-8, 0.5], 1.0),  # billions of steps
        ],
        hint="each eigendirection is multiplied by its own factor at every step, so the squared distance after t "
        "steps is a sum of geometric sequences in t; started inside the ball, once that sum is past radius² it "
        "stays past (why?), so you can search for t instead of stepping through it. Work with logarithms, and "
        "decide first which directions can ever grow (mind the sign of the factor).",
    )


def taylor_second_order(fn: Callable[[float, T, T, T], float]) -> None:
    """Check ``fn(f, grad, hessian, delta)``: the quadratic model ``f + gᵀδ + ½ δᵀHδ``.

    >>> taylor_second_order(lambda f, g, h, d: float(f + g @ d))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ taylor_second_order(1.0, [1.0, 0.0], [[2.0, 1.0], [1.0, -3.0]], [0.1, 0.2]): expected 1.07, got 1.1. Hint: ...
    """
    h = torch.tensor([[2.0, 1.0], [1.0, -3.0]], dtype=torch.float64)
    compare(
        "taylor_second_order",
        _unless_missing(fn, lambda *a: float(fn(*a))),
        None,
        [
            (1.0, _t(1.0, 0.0), h, _t(0.1, 0.2)),
            (0.0, _t(0.0, 0.0), h, _t(1.0, 1.0)),  # a critical point: only the curvature term
            (2.0, _t(3.0, -1.0), torch.zeros(2, 2, dtype=torch.float64), _t(0.5, 0.5)),  # linear
            (0.5, _t(-1.0, 2.0), h, _t(0.0, 0.0)),  # no step: f itself
        ],
        hint="three terms: the value, the slope along delta, and the curvature along delta; "
        "the second-order term carries the 1/2! of Taylor's formula.",
    )


def _quartic_bowl(w: T) -> T:
    return w[..., 0] ** 4 + w[..., 1] ** 4  # Hessian 0 at the origin


def _quartic_cap(w: T) -> T:
    return -(w[..., 0] ** 4) - w[..., 1] ** 4


def _monkey_saddle(w: T) -> T:
    return w[..., 0] ** 3 - 3 * w[..., 0] * w[..., 1] ** 2  # three ways down, Hessian 0


def _quadratic_quartic(w: T) -> T:
    return w[..., 0] ** 2 - w[..., 1] ** 4  # Hessian diag(2, 0): "degenerate", yet a saddle


def _hidden_saddle(w: T) -> T:
    return w[..., 0] ** 4 + w[..., 1] ** 4 - 3 * w[..., 0] ** 2 * w[..., 1] ** 2  # up on the axes, down on diagonals


def _half_pipe(w: T) -> T:
    return w[..., 0].clamp(min=0) ** 2  # exactly flat for w1 <= 0: a minimum, but not a strict one


def _product_valley(w: T) -> T:
    return (1 - w[..., 0] * w[..., 1]) ** 2  # the toy network; minima along w1·w2 = 1


# The losses of look_around's cases, by name: a case names its loss, so that cases (hidden ones too) are data.
LOSSES: dict[str, Callable[[T], T]] = {
    f.__name__.lstrip("_"): f
    for f in [_quartic_bowl, _quartic_cap, _monkey_saddle, _quadratic_quartic, _hidden_saddle, _half_pipe, _product_valley]
}


def look_around(fn: Callable[[Callable[[T], T], T, float, int], str]) -> None:
    """Check ``fn(loss, point, radius, n)``: decide a 2-D critical point by the loss on a circle.

    The answer is ``"minimum"`` when none of the ``n`` points ``point + radius·(cos θ_k, sin θ_k)``,
    ``θ_k = 2πk/n``, has a lower loss than ``point``; ``"maximum"`` when none has a higher one;
    ``"saddle"`` otherwise. In every case the Hessian test cannot decide (an eigenvalue is 0). Each
    case names its loss (a key of :data:`LOSSES`); ``fn`` receives the function.

    >>> look_around(lambda loss, point, radius, n: "minimum")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ look_around('quartic_cap', [0.0, 0.0], 0.1, 16): expected 'maximum', got 'minimum'. Hint: ...
    """
    compare(
        "look_around",
        _unless_missing(fn, lambda loss, point, radius, n: fn(LOSSES[loss], point.clone(), radius, n)),
        None,
        [
            ("quartic_bowl", _t(0.0, 0.0), 0.1, 16),
            ("quartic_cap", _t(0.0, 0.0), 0.1, 16),
            ("monkey_saddle", _t(0.0, 0.0), 0.1, 12),
            ("quadratic_quartic", _t(0.0, 0.0), 0.1, 16),
            ("hidden_saddle", _t(0.0, 0.0), 0.1, 16),
            ("half_pipe", _t(0.0, 0.0), 0.1, 16),
            ("product_valley", _t(1.0, 1.0), 0.01, 64),
            ("product_valley", _t(2.0, 0.5), 0.01, 64),
        ],
        hint="use all n equally spaced directions, not only the axes (a way down can hide between them); "
        "compare each point of the circle with the centre, and decide what a point at exactly the same height counts as.",
    )


# ----------------------------------------------------------------------------- chapter 7


def powersign_flip_step(fn: Callable[[float, float, int, float], int]) -> None:
    """Check ``fn(a, b, k, beta)``: when PowerSign's step grows again after the gradient changes sign.

    One coordinate gets the gradient ``+a`` for ``k`` steps from ``m0 = 0``, then ``-b`` from then
    on (``a, b > 0``, ``0 <= beta < 1``, base ``e``, no sign decay). The answer is ``n >= 1``, the
    number of the first step with gradient ``-b`` whose step is ``e`` times SGD's again (the steps
    before it are ``1/e`` times SGD's). The expected values come from runs of the update.

    >>> powersign_flip_step(lambda a, b, k, beta: 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ powersign_flip_step(1.0, 1.0, 1000, 0.9): expected 7, got 1. Hint: ...
    """
    compare(
        "powersign_flip_step",
        fn,
        None,
        [
            (1.0, 1.0, 1000, 0.9),  # a long history, equal sizes
            (1.0, 1.0, 3, 0.9),  # a short history: m is still far from a
            (1.0, 1.0, 1000, 0.99),  # a longer memory
            (3.0, 1.0, 1000, 0.9),  # the old gradient was larger
            (1.0, 3.0, 1000, 0.9),  # the new gradient is larger
            (1.0, 1.0, 0, 0.9),  # no history: m starts at 0
            (2.0, 1.0, 50, 0.0),  # no memory at all
            (1.0, 0.01, 10_000, 0.999),
        ],
        hint="unroll the running average: k steps of +a from zero leave a geometric sum, and each later step "
        "multiplies m by beta and adds (1 - beta)(-b); PowerSign updates m before it compares signs, so count "
        "the first step after which m itself is negative (and mind beta = 0).",
        tol=1e-9,
    )


def uncorrected_adam_ratio(fn: Callable[[int, float, float], float]) -> None:
    """Check ``fn(t, beta1, beta2)``: for a constant gradient, Adam's step ``t`` without bias correction over the corrected one.

    Both start from ``m0 = v0 = 0`` with ``ε = 0``; the expected ratios come from runs of the update.

    >>> uncorrected_adam_ratio(lambda t, b1, b2: 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ uncorrected_adam_ratio(1, 0.9, 0.999): expected 3.1622776601683773, got 1.0. Hint: ...
    """
    cases = [
        (1, 0.9, 0.999),  # PyTorch's defaults, first step: about 3.16
        (10, 0.9, 0.999),  # about 6.5: the overshoot grows before it fades
        (1000, 0.9, 0.999),
        (5, 0.0, 0.999),  # no momentum
        (3, 0.9, 0.9),  # beta1 = beta2: the uncorrected step is too *small*
        (50, 0.5, 0.99),
    ]
    compare(
        "uncorrected_adam_ratio",
        _unless_missing(fn, lambda t, b1, b2: float(fn(t, b1, b2))),
        None,
        cases,
        hint="unroll m_t and v_t for a constant gradient from zero: each is a geometric sum, and the bias "
        "corrections divide exactly its factor out; the ratio is what those factors leave (mind the square root on v).",
        tol=1e-6,
    )


def adadelta_first_step(fn: Callable[[T, float, float], T]) -> None:
    """Check ``fn(g, rho, eps)``: Adadelta's first update ``θ1 − θ0`` (``lr = 1``, zero state), per coordinate.

    The expected updates are one step of ``torch.optim.Adadelta`` from a zero state.

    >>> adadelta_first_step(lambda g, rho, eps: -g)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ adadelta_first_step([1.0, -2.0, 50.0], 0.9, 1e-06): expected [-0.0031622618488986636, 0.003162273707328716, -0.0031622..., got [-1.0, 2.0, -50.0]. Hint: ...
    """
    cases = [
        (_t(1.0, -2.0, 50.0), 0.9, 1e-6),  # PyTorch's defaults: about -0.00316 * sign(g)
        (_t(1e-4, 1e-3), 0.9, 1e-6),  # gradients below sqrt(eps/(1-rho)): nearly SGD with lr 1
        (_t(3.0), 0.99, 1e-6),
        (_t(0.5, -0.5), 0.95, 1e-4),  # a larger eps: a larger first step
        (_t(0.0, 1.0), 0.9, 1e-8),
    ]
    compare(
        "adadelta_first_step",
        _unless_missing(fn, lambda g, rho, eps: torch.as_tensor(fn(g.clone(), rho, eps), dtype=torch.float64)),
        None,
        cases,
        hint="at the first step the average of past updates is still zero, so eps alone is left in the "
        "numerator; the denominator holds the first average of squared gradients; theta moves against the gradient.",
        tol=1e-9,
    )


def _cosine(lr: float, steps: int) -> list[float]:
    return [0.5 * lr * (1 + math.cos(math.pi * t / steps)) for t in range(steps)]


def decay_half_life(fn: Callable[[list[float], float], float]) -> None:
    """Check ``fn(lrs, weight_decay)``: after how many ``torch.optim.AdamW`` steps a weight that never
    gets a gradient has lost half its size.

    ``lrs[t]`` is the learning rate of step ``t + 1``; the answer is the first number of steps
    after which ``|w|`` is at most half of what it was, or ``math.inf`` if the schedule ends first.

    >>> decay_half_life(lambda lrs, wd: math.ceil(math.log(2) / (lrs[0] * wd)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ decay_half_life([0.01, 0.01, ..., 0.3): expected 231, got 232.0. Hint: ...
    """
    warm = [0.01 * (t + 1) / 100 for t in range(100)] + [0.01] * 900
    compare(
        "decay_half_life",
        _unless_missing(fn, lambda lrs, wd: float(fn(list(lrs), wd))),
        None,
        [
            ([0.01] * 1000, 0.3),  # the chapter's demo: lr · λ = 0.003
            (_cosine(0.01, 1000), 0.3),  # the decay slows as the schedule does
            (warm, 0.3),  # a warmup delays it
            ([1e-3] * 10_000, 0.1),  # PyTorch's default rate
            ([1e-3] * 300, 0.3),  # the schedule ends first
            ([0.1] * 50, 0.0),  # no decay at all
            ([1.0, 1.0], 0.6),  # one step is enough
        ],
        hint="with no gradient Adam's own step is zero, so only the decay acts, once per step and at that "
        "step's rate; follow the weight's size step by step and count (math.inf if it never halves).",
    )
