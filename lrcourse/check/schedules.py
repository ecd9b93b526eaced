"""Checkers for the schedule chapters: decay and warmup (4), cyclical rates and restarts (5).

Each exercise asks for a function of the schedule's parameters and the ``step``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import CheckFailed, compare

__all__ = [
    "time_based_decay",
    "linear_warmup",
    "noam",
    "triangular2",
    "sgdr",
    "sgdr_restarts",
    "noise_floor_loss",
    "wsd_schedule",
    "noam_peak",
    "cycle_growth",
]


def time_based_decay(fn: Callable[[float, float, int], float]) -> None:
    """Check ``fn(lr0, k, step)``: time-based decay ``lr0 / (1 + k·step)``.

    >>> time_based_decay(lambda lr0, k, t: lr0 / (1 + k) ** t)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ time_based_decay(0.1, 0.01, 100): expected 0.05, got 0.036971121232911894. Hint: ...
    """
    compare(
        "time_based_decay",
        fn,
        None,
        [(0.1, 0.01, 0), (0.1, 0.01, 100), (1.0, 0.5, 3), (0.3, 0.0, 50), (2.0, 1.0, 1), (0.05, 1e-3, 10_000)],
        hint="divide lr0 by (1 + k * step); at step 0 the rate is lr0, and it halves when k * step = 1.",
        tol=1e-9,
    )


def linear_warmup(fn: Callable[[int, float, int, int], float]) -> None:
    """Check ``fn(step, peak, warmup_steps, total)``: linear warmup from 0, then cosine to 0.

    For ``step < warmup_steps`` the rate is ``peak · step / warmup_steps``; afterwards a
    cosine decay from ``peak`` over the remaining ``total − warmup_steps`` steps.

    >>> linear_warmup(lambda t, peak, w, total: peak * min(1, t / w))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ linear_warmup(55, 0.1, 10, 100): expected 0.05, got 0.1. Hint: ...
    """
    compare(
        "linear_warmup",
        fn,
        None,
        [(0, 0.1, 10, 100), (5, 0.1, 10, 100), (10, 0.1, 10, 100), (55, 0.1, 10, 100),
         (100, 0.1, 10, 100), (1, 1.0, 1, 5), (0, 2.0, 1, 5), (3, 1.0, 4, 20)],
        hint="below warmup_steps return peak * step / warmup_steps; from there on run a cosine "
        "that starts at peak with its own clock (step - warmup_steps) and lasts total - warmup_steps.",
        tol=1e-9,
    )


def noam(fn: Callable[[int, int, int], float]) -> None:
    """Check ``fn(step, d_model, warmup)``: the Transformer schedule with ``t = step + 1``.

    >>> noam(lambda s, d, w: min((s + 1) ** -0.5, (s + 1) * w**-1.5))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ noam(0, 512, 4000): expected 1.746928107421711e-07, got 3.952847075210474e-06. Hint: ...
    """
    compare(
        "noam",
        fn,
        None,
        [(0, 512, 4000), (3999, 512, 4000), (4000, 512, 4000), (100_000, 512, 4000), (0, 1, 1), (9, 64, 10)],
        hint="d_model ** -0.5 * min(t ** -0.5, t * warmup ** -1.5) with t = step + 1 (so step 0 is fine).",
        tol=1e-9,
    )


def triangular2(fn: Callable[[int, float, float, int], float]) -> None:
    """Check ``fn(step, base_lr, max_lr, step_size)``: the triangle wave whose height halves every cycle.

    >>> triangular2(lambda t, lo, hi, n: lo)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ triangular2(5, 0.1, 1.0, 5): expected 1.0, got 0.1. Hint: ...
    """
    compare(
        "triangular2",
        fn,
        None,
        [(0, 0.1, 1.0, 5), (5, 0.1, 1.0, 5), (7, 0.1, 1.0, 5), (10, 0.1, 1.0, 5), (15, 0.1, 1.0, 5),
         (25, 0.1, 1.0, 5), (3, 0.0, 1.0, 1), (4, 0.2, 0.2, 3), (61, 0.01, 0.5, 20)],
        hint="a cycle lasts 2*step_size steps; inside it the height rises 0 -> 1 -> 0 linearly; "
        "multiply the amplitude (max_lr - base_lr) by 1 / 2**cycle with cycle = step // (2*step_size).",
        tol=1e-9,
    )


def sgdr(fn: Callable[[int, float, int, int, float], float]) -> None:
    """Check ``fn(step, lr_max, T_0, T_mult, eta_min)``: cosine annealing with warm restarts.

    >>> sgdr(lambda t, hi, t0, mult, lo: hi)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ sgdr(9, 0.1, 10, 1, 0.0): expected 0.0024471741852423235, got 0.1. Hint: ...
    """
    compare(
        "sgdr",
        fn,
        None,
        [(0, 0.1, 10, 1, 0.0), (9, 0.1, 10, 1, 0.0), (10, 0.1, 10, 1, 0.0), (25, 0.1, 10, 1, 0.001),
         (10, 1.0, 10, 2, 0.0), (29, 1.0, 10, 2, 0.0), (30, 1.0, 10, 2, 0.0), (100, 1.0, 4, 3, 0.1),
         (5, 0.5, 1, 2, 0.0)],
        hint="find the current cycle first: subtract cycle lengths T_0, T_0*T_mult, ... while the step "
        "is at least the current length; then use the cosine formula with T_cur / T_i.",
        tol=1e-9,
    )


def sgdr_restarts(fn: Callable[[int, int, int], list[int]]) -> None:
    """Check ``fn(T_0, T_mult, total)``: the steps below ``total`` at which SGDR restarts (step 0 excluded).

    >>> sgdr_restarts(lambda t0, mult, total: list(range(t0, total, t0)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ sgdr_restarts(10, 2, 100): expected [10, 30, 70], got [10, 20, 30, 40, 50, 60, 70, 80, 90]. Hint: ...
    """
    compare(
        "sgdr_restarts",
        fn,
        None,
        [(10, 1, 35), (10, 2, 100), (10, 2, 70), (1, 2, 40), (5, 3, 200), (50, 1, 50)],
        hint="cycles last T_0, T_0*T_mult, T_0*T_mult**2, ...; a restart happens where one ends. "
        "Return a list of ints; a cycle ending exactly at total does not count.",
    )


def noise_floor_loss(fn: Callable[[float, int, float, float, float], float]) -> None:
    """Check ``fn(lr, steps, h, sigma, x0)``: the exact mean loss of noisy SGD on ``h/2 x²`` after ``steps`` steps.

    With ``x_{t+1} = (1 − lr·h) x_t − lr·sigma·ξ_t`` from ``x_0 = x0`` and standard normal ``ξ_t``.

    >>> noise_floor_loss(lambda lr, T, h, s, x0: lr * s**2 / (2 * (2 - lr * h)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ noise_floor_loss(0.1, 0, 1.0, 1.0, 2.0): expected 2.0, got 0.026315789473684213. Hint: ...
    """
    compare(
        "noise_floor_loss",
        fn,
        None,
        [(0.1, 0, 1.0, 1.0, 2.0), (0.1, 1, 1.0, 1.0, 2.0), (0.05, 600, 1.0, 1.0, 2.0), (0.5, 600, 1.0, 1.0, 2.0),
         (0.01, 100, 2.0, 0.5, 1.0), (1.0, 10, 1.0, 1.0, 3.0), (0.3, 40, 5.0, 2.0, 1.0)],
        hint="track the variance v_t = E[x_t^2]: v_{t+1} = (1 - lr*h)**2 * v_t + (lr*sigma)**2 with v_0 = x0**2, "
        "sum the geometric series, and return h/2 * v_T (mind lr*h = 1, where (1 - lr*h)**2 = 0).",
        tol=1e-9,
    )


def wsd_schedule(fn: Callable[[int, float, int, int, int], float]) -> None:
    """Check ``fn(step, lr, total, warmup_steps, decay_steps)``: warmup-stable-decay to 0.

    >>> wsd_schedule(lambda t, lr, total, w, d: lr)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ wsd_schedule(0, 0.1, 100, 10, 20): expected 0.0, got 0.1. Hint: ...
    """
    compare(
        "wsd_schedule",
        fn,
        None,
        [(0, 0.1, 100, 10, 20), (5, 0.1, 100, 10, 20), (10, 0.1, 100, 10, 20), (50, 0.1, 100, 10, 20),
         (80, 0.1, 100, 10, 20), (90, 0.1, 100, 10, 20), (100, 0.1, 100, 10, 20), (150, 0.1, 100, 10, 20),
         (3, 1.0, 10, 0, 10), (7, 2.0, 12, 4, 8)],
        hint="three pieces: lr * step / warmup_steps below warmup_steps; lr until total - decay_steps; "
        "then a straight line down to 0 at total (and 0 after it).",
        tol=1e-9,
    )


def noam_peak(fn: Callable[[int, int], tuple[int, float]]) -> None:
    """Check ``fn(d_model, warmup)``: the (step, rate) at which the Transformer schedule peaks.

    The rate is ``d_model^−½ · min(t^−½, t · warmup^−3/2)`` with ``t = step + 1``. Shown as
    ``[step, rate]``.

    >>> noam_peak(lambda d, w: (w, (d * w) ** -0.5))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ noam_peak(512, 4000): expected [3999.0, 0.0006987712429686843], got [4000.0, 0.0006987712429686843]. Hint: ...
    """

    def pair(d: int, w: int) -> torch.Tensor:
        got = fn(d, w)
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise CheckFailed(f"❌ noam_peak({d}, {w}): got {got!r}. Hint: return a tuple (step, rate).")
        return torch.tensor([float(got[0]), float(got[1])], dtype=torch.float64)

    compare(
        "noam_peak",
        pair if fn is not None and fn is not Ellipsis else fn,
        None,
        [(512, 4000), (64, 10), (1024, 1), (256, 37)],
        hint="the rise t·warmup^-3/2 and the fall t^-1/2 meet at one t, and t = step + 1.",
        tol=1e-12,
    )


def cycle_growth(fn: Callable[[float, float, int, float], float]) -> None:
    """Check ``fn(base_lr, max_lr, step_size, h)``: by how much one triangular cycle multiplies ``|x|`` on ``h/2 x²``.

    One cycle is ``2·step_size`` steps of gradient descent, starting at ``base_lr``.

    >>> cycle_growth(lambda lo, hi, n, h: 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ cycle_growth(0.075, 0.3, 10, 12.0): expected 0.1876743581212142, got 1.0. Hint: ...
    """
    compare(
        "cycle_growth",
        fn,
        None,
        [(0.075, 0.3, 10, 12.0), (0.1, 0.4, 10, 12.0), (0.02, 0.2, 10, 12.0), (0.01, 0.01, 3, 1.0),
         (0.05, 0.5, 5, 3.0), (0.2, 0.9, 7, 2.5)],
        hint="multiply abs(1 - lr * h) over the 2 * step_size steps of one cycle, with lr the triangle wave "
        "base_lr + (max_lr - base_lr) * (1 - abs(t / step_size - 1)).",
        tol=1e-9,
    )
