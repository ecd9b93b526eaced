"""Checkers for the schedule chapters: decay and warmup (4), cyclical rates and restarts (5).

Each exercise asks for a function of the schedule's parameters and the ``step``; the
reference is :mod:`lrcourse.schedules`.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count, takewhile

from .. import schedules as sch
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


def _noise_floor_loss(lr: float, steps: int, h: float, sigma: float, x0: float) -> float:
    q = (1 - lr * h) ** 2
    v = q**steps * x0**2 + (lr * sigma) ** 2 * (steps if q == 1 else (1 - q**steps) / (1 - q))
    return h / 2 * v


def noise_floor_loss(fn: Callable[[float, int, float, float, float], float]) -> None:
    """Check ``fn(lr, steps, h, sigma, x0)``: the exact mean loss of noisy SGD on ``h/2 x²`` after ``steps`` steps.

    With ``x_{t+1} = (1 − lr·h) x_t − lr·sigma·ξ_t`` from ``x_0 = x0``, the variance obeys
    ``v_{t+1} = q v_t + lr² sigma²`` with ``q = (1 − lr·h)²``, so
    ``E f = h/2 · (q^T x0² + lr² sigma² (1 − q^T) / (1 − q))``.

    >>> def ok(lr, T, h, s, x0):
    ...     q = (1 - lr * h) ** 2
    ...     return h / 2 * (q**T * x0**2 + (lr * s) ** 2 * (T if q == 1 else (1 - q**T) / (1 - q)))
    >>> noise_floor_loss(ok)
    ✅ noise_floor_loss: right on all 7 cases.
    """
    compare(
        "noise_floor_loss",
        fn,
        _noise_floor_loss,
        [(0.1, 0, 1.0, 1.0, 2.0), (0.1, 1, 1.0, 1.0, 2.0), (0.05, 600, 1.0, 1.0, 2.0), (0.5, 600, 1.0, 1.0, 2.0),
         (0.01, 100, 2.0, 0.5, 1.0), (1.0, 10, 1.0, 1.0, 3.0), (0.3, 40, 5.0, 2.0, 1.0)],
        hint="track the variance v_t = E[x_t^2]: v_{t+1} = (1 - lr*h)**2 * v_t + (lr*sigma)**2 with v_0 = x0**2, "
        "sum the geometric series, and return h/2 * v_T (mind lr*h = 1, where (1 - lr*h)**2 = 0).",
        tol=1e-9,
    )


def wsd_schedule(fn: Callable[[int, float, int, int, int], float]) -> None:
    """Check ``fn(step, lr, total, warmup_steps, decay_steps)``: warmup-stable-decay to 0.

    >>> def ok(t, lr, total, w, d):
    ...     if t < w:
    ...         return lr * t / w
    ...     return lr * min(1.0, (total - min(t, total)) / d)
    >>> wsd_schedule(ok)
    ✅ wsd_schedule: right on all 10 cases.
    """
    compare(
        "wsd_schedule",
        fn,
        lambda t, lr, total, w, d: sch.wsd(lr, total, w, d)(t),
        [(0, 0.1, 100, 10, 20), (5, 0.1, 100, 10, 20), (10, 0.1, 100, 10, 20), (50, 0.1, 100, 10, 20),
         (80, 0.1, 100, 10, 20), (90, 0.1, 100, 10, 20), (100, 0.1, 100, 10, 20), (150, 0.1, 100, 10, 20),
         (3, 1.0, 10, 0, 10), (7, 2.0, 12, 4, 8)],
        hint="three pieces: lr * step / warmup_steps below warmup_steps; lr until total - decay_steps; "
        "then a straight line down to 0 at total (and 0 after it).",
        tol=1e-9,
    )


def noam_peak(fn: Callable[[int, int], tuple[int, float]]) -> None:
    """Check ``fn(d_model, warmup)``: the (step, rate) at which the Transformer schedule peaks.

    The rate is ``d_model^−½ · min(t^−½, t · warmup^−3/2)`` with ``t = step + 1``: it peaks where
    the two terms meet, ``t = warmup``, at ``(d_model · warmup)^−½``.

    >>> noam_peak(lambda d, w: (w - 1, (d * w) ** -0.5))
    ✅ noam_peak: right on all 4 cases.
    """

    def ref(d: int, w: int) -> tuple[int, float]:
        f = sch.transformer(d, w)
        step = max(range(w + 5), key=f)
        return step, f(step)

    cases = [(512, 4000), (64, 10), (1024, 1), (256, 37)]
    for d, w in cases:
        try:
            got = fn(d, w)
        except NotImplementedError:
            raise CheckFailed("❌ noam_peak: not implemented yet. Hint: the rise and the fall meet at t = warmup.") from None
        step, peak = ref(d, w)
        if not (isinstance(got, tuple) and len(got) == 2 and got[0] == step and abs(got[1] - peak) <= 1e-9 * peak):
            raise CheckFailed(
                f"❌ noam_peak({d}, {w}): expected ({step}, {peak:.6g}), got {got!r}. Hint: the rise t·warmup^-3/2 "
                "and the fall t^-1/2 meet at t = warmup, and t = step + 1."
            )
    print(f"✅ noam_peak: right on all {len(cases)} cases.")


def _cycle_growth(base_lr: float, max_lr: float, step_size: int, h: float) -> float:
    f = sch.cyclic(base_lr, max_lr, step_size)
    out = 1.0
    for t in range(2 * step_size):
        out *= abs(1 - f(t) * h)
    return out


def cycle_growth(fn: Callable[[float, float, int, float], float]) -> None:
    """Check ``fn(base_lr, max_lr, step_size, h)``: by how much one triangular cycle multiplies ``|x|`` on ``h/2 x²``.

    Gradient descent multiplies ``x`` by ``1 − η_t h`` at step ``t``, so over one cycle of ``2·step_size``
    steps (starting at ``base_lr``) ``|x|`` is multiplied by ``∏ |1 − η_t h|``.

    >>> def ok(lo, hi, n, h):
    ...     out = 1.0
    ...     for t in range(2 * n):
    ...         out *= abs(1 - (lo + (hi - lo) * (1 - abs(t / n - 1))) * h)
    ...     return out
    >>> cycle_growth(ok)
    ✅ cycle_growth: right on all 6 cases.
    """
    compare(
        "cycle_growth",
        fn,
        _cycle_growth,
        [(0.075, 0.3, 10, 12.0), (0.1, 0.4, 10, 12.0), (0.02, 0.2, 10, 12.0), (0.01, 0.01, 3, 1.0),
         (0.05, 0.5, 5, 3.0), (0.2, 0.9, 7, 2.5)],
        hint="multiply abs(1 - lr * h) over the 2 * step_size steps of one cycle, with lr the triangle wave "
        "base_lr + (max_lr - base_lr) * (1 - abs(t / step_size - 1)).",
        tol=1e-9,
    )
