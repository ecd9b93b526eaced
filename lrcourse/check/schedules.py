"""Checkers for the schedule chapters: decay and warmup (4), cyclical rates and restarts (5).

Each exercise asks for a function of the schedule's parameters and the ``step``; the
reference is :mod:`lrcourse.schedules`.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count, takewhile

from .. import schedules as sch
from . import compare

__all__ = ["time_based_decay", "linear_warmup", "noam", "triangular2", "sgdr", "sgdr_restarts"]


def time_based_decay(fn: Callable[[float, float, int], float]) -> None:
    """Check ``fn(lr0, k, step)``: time-based decay ``lr0 / (1 + k·step)``.

    >>> time_based_decay(lambda lr0, k, t: lr0 / (1 + k * t))
    ✅ time_based_decay: right on all 6 cases.
    """
    compare(
        "time_based_decay",
        fn,
        lambda lr0, k, t: sch.time_based(lr0, k)(t),
        [(0.1, 0.01, 0), (0.1, 0.01, 100), (1.0, 0.5, 3), (0.3, 0.0, 50), (2.0, 1.0, 1), (0.05, 1e-3, 10_000)],
        hint="divide lr0 by (1 + k * step); at step 0 the rate is lr0, and it halves when k * step = 1.",
        tol=1e-9,
    )


def linear_warmup(fn: Callable[[int, float, int, int], float]) -> None:
    """Check ``fn(step, peak, warmup_steps, total)``: linear warmup from 0, then cosine to 0.

    For ``step < warmup_steps`` the rate is ``peak · step / warmup_steps``; afterwards a
    cosine decay from ``peak`` over the remaining ``total − warmup_steps`` steps.

    >>> import math
    >>> def ok(t, peak, w, total):
    ...     if t < w:
    ...         return peak * t / w
    ...     return peak * (1 + math.cos(math.pi * min(t - w, total - w) / (total - w))) / 2
    >>> linear_warmup(ok)
    ✅ linear_warmup: right on all 8 cases.
    """

    def ref(t: int, peak: float, w: int, total: int) -> float:
        return sch.warmup(sch.cosine(peak, total - w), w)(t)

    compare(
        "linear_warmup",
        fn,
        ref,
        [(0, 0.1, 10, 100), (5, 0.1, 10, 100), (10, 0.1, 10, 100), (55, 0.1, 10, 100),
         (100, 0.1, 10, 100), (1, 1.0, 1, 5), (0, 2.0, 1, 5), (3, 1.0, 4, 20)],
        hint="below warmup_steps return peak * step / warmup_steps; from there on run a cosine "
        "that starts at peak with its own clock (step - warmup_steps) and lasts total - warmup_steps.",
        tol=1e-9,
    )


def noam(fn: Callable[[int, int, int], float]) -> None:
    """Check ``fn(step, d_model, warmup)``: the Transformer schedule with ``t = step + 1``.

    >>> noam(lambda s, d, w: d**-0.5 * min((s + 1) ** -0.5, (s + 1) * w**-1.5))
    ✅ noam: right on all 6 cases.
    """
    compare(
        "noam",
        fn,
        lambda s, d, w: sch.transformer(d, w)(s),
        [(0, 512, 4000), (3999, 512, 4000), (4000, 512, 4000), (100_000, 512, 4000), (0, 1, 1), (9, 64, 10)],
        hint="d_model ** -0.5 * min(t ** -0.5, t * warmup ** -1.5) with t = step + 1 (so step 0 is fine).",
        tol=1e-9,
    )


def triangular2(fn: Callable[[int, float, float, int], float]) -> None:
    """Check ``fn(step, base_lr, max_lr, step_size)``: the triangle wave whose height halves every cycle.

    >>> def ok(t, lo, hi, n):
    ...     cycle, x = divmod(t, 2 * n)
    ...     return lo + (hi - lo) * (1 - abs(x / n - 1)) / 2**cycle
    >>> triangular2(ok)
    ✅ triangular2: right on all 9 cases.
    """
    compare(
        "triangular2",
        fn,
        lambda t, lo, hi, n: sch.cyclic(lo, hi, n, mode="triangular2")(t),
        [(0, 0.1, 1.0, 5), (5, 0.1, 1.0, 5), (7, 0.1, 1.0, 5), (10, 0.1, 1.0, 5), (15, 0.1, 1.0, 5),
         (25, 0.1, 1.0, 5), (3, 0.0, 1.0, 1), (4, 0.2, 0.2, 3), (61, 0.01, 0.5, 20)],
        hint="a cycle lasts 2*step_size steps; inside it the height rises 0 -> 1 -> 0 linearly; "
        "multiply the amplitude (max_lr - base_lr) by 1 / 2**cycle with cycle = step // (2*step_size).",
        tol=1e-9,
    )


def sgdr(fn: Callable[[int, float, int, int, float], float]) -> None:
    """Check ``fn(step, lr_max, T_0, T_mult, eta_min)``: cosine annealing with warm restarts.

    >>> import math
    >>> def ok(t, hi, t0, mult, lo):
    ...     ti = t0
    ...     while t >= ti:
    ...         t, ti = t - ti, ti * mult
    ...     return lo + (hi - lo) * (1 + math.cos(math.pi * t / ti)) / 2
    >>> sgdr(ok)
    ✅ sgdr: right on all 9 cases.
    """
    compare(
        "sgdr",
        fn,
        lambda t, hi, t0, mult, lo: sch.cosine_restarts(hi, t0, mult, lo)(t),
        [(0, 0.1, 10, 1, 0.0), (9, 0.1, 10, 1, 0.0), (10, 0.1, 10, 1, 0.0), (25, 0.1, 10, 1, 0.001),
         (10, 1.0, 10, 2, 0.0), (29, 1.0, 10, 2, 0.0), (30, 1.0, 10, 2, 0.0), (100, 1.0, 4, 3, 0.1),
         (5, 0.5, 1, 2, 0.0)],
        hint="find the current cycle first: subtract cycle lengths T_0, T_0*T_mult, ... while the step "
        "is at least the current length; then use the cosine formula with T_cur / T_i.",
        tol=1e-9,
    )


def sgdr_restarts(fn: Callable[[int, int, int], list[int]]) -> None:
    """Check ``fn(T_0, T_mult, total)``: the steps below ``total`` at which SGDR restarts (step 0 excluded).

    >>> def ok(t0, mult, total):
    ...     out, at, length = [], t0, t0
    ...     while at < total:
    ...         out.append(at)
    ...         length *= mult
    ...         at += length
    ...     return out
    >>> sgdr_restarts(ok)
    ✅ sgdr_restarts: right on all 6 cases.
    """

    def ref(t0: int, mult: int, total: int) -> list[int]:
        # cycle i ends at T_0 (1 + T_mult + ... + T_mult^i)
        ends = (t0 * (i + 1) if mult == 1 else t0 * (mult ** (i + 1) - 1) // (mult - 1) for i in count())
        return list(takewhile(lambda end: end < total, ends))

    compare(
        "sgdr_restarts",
        fn,
        ref,
        [(10, 1, 35), (10, 2, 100), (10, 2, 70), (1, 2, 40), (5, 3, 200), (50, 1, 50)],
        hint="cycles last T_0, T_0*T_mult, T_0*T_mult**2, ...; a restart happens where one ends. "
        "Return a list of ints; a cycle ending exactly at total does not count.",
    )
