"""Checkers for chapters 2 (critical points and momentum) and 7 (adaptive methods)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from . import CheckFailed, compare

__all__ = [
    "adadelta_first_step",
    "adagrad_step",
    "adam_step",
    "adamw_step",
    "classify_eigenvalues",
    "look_around",
    "momentum_step",
    "powersign_step",
    "taylor_second_order",
    "uncorrected_adam_ratio",
]

T = torch.Tensor


def _flat(name: str, fn: Callable[..., Any], parts: int) -> Callable[..., T]:
    """Wrap a function returning a tuple of tensors so that compare() sees one flat tensor."""

    def wrapped(*args: Any) -> T:
        out = fn(*[a.clone() if isinstance(a, T) else a for a in args])  # a clone: in-place edits can't leak
        if not isinstance(out, (tuple, list)) or len(out) != parts:
            raise CheckFailed(f"❌ {name}: return a tuple of {parts} tensors, got {type(out).__name__}.")
        return torch.cat([torch.as_tensor(o, dtype=torch.float64).reshape(-1) for o in out])

    return wrapped


def _t(*values: float) -> T:
    return torch.tensor(values, dtype=torch.float64)


# ----------------------------------------------------------------------------- chapter 2


def classify_eigenvalues(fn: Callable[[Sequence[float]], str]) -> None:
    """Check ``fn(eigenvalues)``: ``"minimum"``, ``"maximum"``, ``"saddle"`` or ``"degenerate"``.

    >>> classify_eigenvalues(lambda h: "minimum")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ classify_eigenvalues([-1.0, -0.5]): expected 'maximum', got 'minimum'. Hint: ...
    """
    compare(
        "classify_eigenvalues",
        fn,
        None,
        [([1.0, 2.0],), ([-1.0, -0.5],), ([3.0, -0.1],), ([2.0, 0.0],), ([0.0, -1.0],), ([5.0],), ([1.0, 2.0, -3.0, 4.0],)],
        hint="all > 0: minimum; all < 0: maximum; both signs: saddle; otherwise a zero eigenvalue leaves it undecided.",
    )


def momentum_step(fn: Callable[[T, T, T, float, float], tuple[T, T]]) -> None:
    """Check ``fn(w, v, grad, lr, mu) -> (w, v)``: heavy-ball momentum as in ``torch.optim.SGD``.

    >>> momentum_step(lambda w, v, g, lr, mu: (w - lr * g, v))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ momentum_step([1.0, 2.0], [0.0, 0.0], [0.5, -1.0], 0.1, 0.9): expected [0.95, 2.1, 0.5, -1.0], got [0.95, 2.1, 0.0, 0.0]. Hint: ...
    """
    compare(
        "momentum_step",
        _flat("momentum_step", fn, 2),
        None,
        [
            (_t(1.0, 2.0), _t(0.0, 0.0), _t(0.5, -1.0), 0.1, 0.9),
            (_t(1.0), _t(2.0), _t(0.0), 0.1, 0.9),  # no gradient: momentum still moves w
            (_t(1.0), _t(2.0), _t(1.0), 0.1, 0.0),  # mu = 0 is plain SGD
            (_t(-1.0, 0.5, 3.0), _t(1.0, -1.0, 0.5), _t(0.2, 0.2, -0.2), 0.5, 0.5),
        ],
        hint="velocity first, v = mu * v + grad; then w = w - lr * v (the new v). Return (w, v).",
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
        lambda *a: float(fn(*a)),
        None,
        [
            (1.0, _t(1.0, 0.0), h, _t(0.1, 0.2)),
            (0.0, _t(0.0, 0.0), h, _t(1.0, 1.0)),  # a critical point: only the curvature term
            (2.0, _t(3.0, -1.0), torch.zeros(2, 2, dtype=torch.float64), _t(0.5, 0.5)),  # linear
            (0.5, _t(-1.0, 2.0), h, _t(0.0, 0.0)),  # no step: f itself
        ],
        hint="f + grad @ delta + 0.5 * delta @ H @ delta (the one-half matters).",
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


def look_around(fn: Callable[[Callable[[T], T], T, float, int], str]) -> None:
    """Check ``fn(loss, point, radius, n)``: decide a 2-D critical point by the loss on a circle.

    The answer is ``"minimum"`` when none of the ``n`` points ``point + radius·(cos θ_k, sin θ_k)``,
    ``θ_k = 2πk/n``, has a lower loss than ``point``; ``"maximum"`` when none has a higher one;
    ``"saddle"`` otherwise. In every case the Hessian test cannot decide (an eigenvalue is 0).

    >>> look_around(lambda loss, point, radius, n: "minimum")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ look_around(quartic_cap, [0.0, 0.0], 0.1, 16): expected 'maximum', got 'minimum'. Hint: ...
    """
    compare(
        "look_around",
        fn,
        None,
        [
            (_quartic_bowl, _t(0.0, 0.0), 0.1, 16),
            (_quartic_cap, _t(0.0, 0.0), 0.1, 16),
            (_monkey_saddle, _t(0.0, 0.0), 0.1, 12),
            (_quadratic_quartic, _t(0.0, 0.0), 0.1, 16),
            (_hidden_saddle, _t(0.0, 0.0), 0.1, 16),
            (_half_pipe, _t(0.0, 0.0), 0.1, 16),
            (_product_valley, _t(1.0, 1.0), 0.01, 64),
            (_product_valley, _t(2.0, 0.5), 0.01, 64),
        ],
        hint="all n angles 2*pi*k/n, not just the axes; the loss at point + radius*(cos, sin) minus "
        "the loss at point: all >= 0 is a minimum (equal counts), all <= 0 a maximum, a mix a saddle.",
    )


# ----------------------------------------------------------------------------- chapter 7


def adagrad_step(fn: Callable[[T, T, T, float, float], tuple[T, T]]) -> None:
    """Check ``fn(w, grad, sum_sq, lr, eps) -> (w, sum_sq)``: one Adagrad step as in ``torch.optim.Adagrad``.

    >>> adagrad_step(lambda w, g, s, lr, eps: (w - lr * g, s))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ adagrad_step([1.0, 2.0], [0.5, -1.0], [0.0, 0.0], 0.1, 1e-10): expected [0.90000000002, 2.09999999999, 0.25, 1.0], got [0.95, 2.1, 0.0, 0.0]. Hint: ...
    """
    compare(
        "adagrad_step",
        _flat("adagrad_step", fn, 2),
        None,
        [
            (_t(1.0, 2.0), _t(0.5, -1.0), _t(0.0, 0.0), 0.1, 1e-10),  # first step: a sign step of size lr
            (_t(1.0), _t(2.0), _t(4.0), 0.1, 1e-10),
            (_t(1.0), _t(0.0), _t(0.0), 0.1, 1e-10),  # zero gradient, empty history: no move, no NaN
            (_t(0.0, 0.0, 3.0), _t(1.0, 10.0, -0.1), _t(1.0, 100.0, 0.0), 0.5, 1e-3),
        ],
        hint="accumulate first, sum_sq = sum_sq + g**2; then w - lr * g / (sqrt(sum_sq) + eps).",
        tol=1e-9,
    )


def adam_step(fn: Callable[..., tuple[T, T, T]]) -> None:
    """Check ``fn(w, grad, m, v, t, lr, beta1, beta2, eps) -> (w, m, v)``: Adam's step ``t`` (from 1).

    >>> adam_step(lambda w, g, m, v, t, lr, b1, b2, eps: (w - lr * g, m, v))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ adam_step([1.0, 2.0], [0.5, -1.0], [0.0, 0.0], [0.0, 0.0], 1, 0.1, 0.9, 0.999, 1e-08): expected [0.900000002, 2.099999999, 0.04999999999999999, -0.099999..., got [0.95, 2.1, 0.0, 0.0, 0.0, 0.0]. Hint: ...
    """
    z = _t(0.0, 0.0)
    compare(
        "adam_step",
        _flat("adam_step", fn, 3),
        None,
        [
            (_t(1.0, 2.0), _t(0.5, -1.0), z, z, 1, 0.1, 0.9, 0.999, 1e-8),  # step 1: bias correction gives ±lr
            (_t(1.0, 2.0), _t(0.5, -1.0), _t(0.1, 0.2), _t(0.01, 0.02), 5, 0.01, 0.9, 0.999, 1e-8),
            (_t(1.0, 2.0), z, _t(0.1, -0.2), _t(0.01, 0.04), 100, 0.01, 0.9, 0.99, 1e-8),  # late: little correction
            (_t(0.5), _t(2.0), _t(0.0), _t(0.0), 1, 0.001, 0.0, 0.5, 1e-3),  # beta1 = 0
        ],
        hint="m and v are EMAs of g and g**2; divide each by (1 - beta**t) before the step w - lr * m_hat / (sqrt(v_hat) + eps).",
        tol=1e-9,
    )


def powersign_step(fn: Callable[[T, T, T, float, float], tuple[T, T]]) -> None:
    """Check ``fn(w, grad, m, lr, beta) -> (w, m)``: PowerSign with base ``e`` and no decay.

    >>> powersign_step(lambda w, g, m, lr, beta: (w - lr * g, m))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ powersign_step([1.0, 1.0], [2.0, -1.0], [0.0, 0.0], 0.1, 0.9): expected [0.4563436343081909, 1.2718281828459046, 0.19999999999999..., got [0.8, 1.1, 0.0, 0.0]. Hint: ...
    """
    compare(
        "powersign_step",
        _flat("powersign_step", fn, 2),
        None,
        [
            (_t(1.0, 1.0), _t(2.0, -1.0), _t(0.0, 0.0), 0.1, 0.9),  # first step: m has g's sign
            (_t(1.0), _t(-1.0), _t(0.5), 0.1, 0.9),  # disagreement: the step shrinks by e
            (_t(1.0), _t(0.0), _t(0.5), 0.1, 0.9),  # zero gradient: no move
            (_t(0.0, 2.0, -1.0), _t(0.3, 0.3, -0.3), _t(-1.0, 1.0, 0.0), 0.05, 0.5),
        ],
        hint="update m = beta * m + (1 - beta) * g first; then w - lr * exp(sign(g) * sign(m)) * g.",
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
        lambda t, b1, b2: float(fn(t, b1, b2)),
        None,
        cases,
        hint="unroll m_t and v_t for a constant g from zero: geometric sums give (1 - beta**t) times g and g**2.",
        tol=1e-6,
    )


def adamw_step(fn: Callable[..., tuple[T, T, T]]) -> None:
    """Check ``fn(w, grad, m, v, t, lr, beta1, beta2, eps, weight_decay) -> (w, m, v)``: one ``torch.optim.AdamW`` step.

    >>> adamw_step(lambda w, g, m, v, t, lr, b1, b2, eps, wd: (w - lr * g, m, v))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ adamw_step([1.0, 2.0], [0.5, -1.0], [0.0, 0.0], [0.0, 0.0], 1, 0.1, 0.9, 0.999, 1e-08, 0.0): expected [0.900000002, 2.099999999, 0.04999999999999999, -0.099999..., got [0.95, 2.1, 0.0, 0.0, 0.0, 0.0]. Hint: ...
    """
    z = _t(0.0, 0.0)
    compare(
        "adamw_step",
        _flat("adamw_step", fn, 3),
        None,
        [
            (_t(1.0, 2.0), _t(0.5, -1.0), z, z, 1, 0.1, 0.9, 0.999, 1e-8, 0.0),  # no decay: Adam
            (_t(1.0, -2.0), z, z, z, 1, 0.1, 0.9, 0.999, 1e-8, 0.5),  # zero gradient: only the decay
            # a tiny gradient: L2 (decay through the gradient) would be normalized to a full step
            (_t(1.0), _t(1e-6), _t(0.0), _t(0.0), 1, 0.01, 0.9, 0.999, 1e-8, 0.1),
            (_t(1.0, 2.0), _t(0.5, -1.0), _t(0.1, 0.2), _t(0.01, 0.02), 5, 0.01, 0.9, 0.999, 1e-8, 0.01),
            (_t(0.5), _t(2.0), _t(0.3), _t(0.5), 20, 0.001, 0.0, 0.5, 1e-3, 1.0),
        ],
        hint="shrink w by (1 - lr * weight_decay) first, then take Adam's bias-corrected step; "
        "the decay never enters m or v.",
        tol=1e-9,
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
        lambda g, rho, eps: torch.as_tensor(fn(g.clone(), rho, eps), dtype=torch.float64),
        None,
        cases,
        hint="with u0 = v0 = 0, v1 = (1 - rho) g**2 and the numerator is sqrt(u0 + eps) = sqrt(eps); "
        "the update is minus that step (theta moves against the gradient).",
        tol=1e-9,
    )
