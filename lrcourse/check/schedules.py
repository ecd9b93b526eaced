"""Checkers for the schedule chapters: decay and warmup (4), cyclical rates and restarts (5)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import CheckFailed, compare

__all__ = [
    "sgdr_first_below",
    "sgdr_restarts",
    "noise_floor_loss",
    "wsd_equal_distance",
    "noam_peak",
    "cycle_growth",
]


def sgdr_first_below(fn: Callable[[float, float, int, int, float], int | None]) -> None:
    """Check ``fn(x, lr_max, T_0, T_mult, eta_min)``: the first step at which SGDR's rate is below ``x``
    (strictly), or ``None`` if no step's rate ever is.

    SGDR anneals from ``lr_max`` towards ``eta_min`` along half a cosine in every cycle, and
    cycle ``i`` lasts ``T_0 * T_mult**i`` steps.

    >>> sgdr_first_below(lambda x, hi, t0, mult, lo: None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ sgdr_first_below(0.2, 0.1, 10, 1, 0.0): expected 0, got None. Hint: ...
    """
    compare(
        "sgdr_first_below",
        fn,
        None,
        [
            (0.2, 0.1, 10, 1, 0.0),  # above the peak: the first step already is below
            (0.1, 0.1, 10, 1, 0.0),  # the peak itself: strictly below
            (0.06, 0.1, 10, 1, 0.0),
            (0.0625, 0.25, 128, 2, 0.0),  # a quarter of the peak, as a cycle's bottom in this chapter
            (0.05, 1.0, 4, 2, 0.0),  # the first cycle never gets that low; the second does
            (0.05, 1.0, 4, 1, 0.0),  # ...and with T_mult = 1 no cycle does
            (0.001, 0.1, 10, 2, 0.001),  # eta_min itself is never undershot
            (0.0101, 0.5, 10, 2, 0.01),
            (0.3, 1.0, 10**9, 2, 0.0),  # a billion steps per cycle: too many to walk
        ],
        hint="every cycle is the same half cosine from lr_max towards eta_min, only longer: invert the cosine to "
        "find where a cycle of a given length crosses x, and take the first whole step past the crossing if the "
        "cycle has that step; if not, a longer cycle gets closer to eta_min (with T_mult = 1 none does). Mind x "
        "above lr_max and x at or below eta_min.",
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
        hint="a restart happens where a cycle ends, and each cycle is T_mult times as long as the one before; "
        "return a list of ints, without step 0, and a cycle that ends exactly at total does not count.",
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
        hint="the mean loss is h/2 times E[x_t^2]: write how E[x^2] changes in one step (the noise is independent "
        "of x), unroll it over all the steps as a geometric series, and mind the edge cases where the series' "
        "ratio is 0 or 1.",
        tol=1e-9,
    )


def wsd_equal_distance(fn: Callable[[int, int, int], float]) -> None:
    """Check ``fn(total, warmup_steps, decay_steps)``: the peak a cosine needs to cover a WSD run's distance.

    The distance is the sum of the rates over steps ``0 .. total − 1``. The WSD run
    (``lrcourse.schedules.wsd(lr, total, warmup_steps, decay_steps)``) decays to 0; the cosine
    (``lrcourse.schedules.cosine(peak, total)``) runs over the same ``total`` steps. ``fn`` returns
    ``peak / lr``.

    >>> wsd_equal_distance(lambda total, w, d: (2 * total - w - d) / total)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ wsd_equal_distance(100, 10, 20): expected 1.683168316831683, got 1.7. Hint: ...
    """
    compare(
        "wsd_equal_distance",
        fn,
        None,
        [
            (100, 10, 20),
            (100, 0, 100),  # linear decay to zero from step 0
            (100, 0, 99),  # without warmup step 0 is at the peak
            (100, 1, 99),  # ...and with one step of warmup it is at 0
            (10, 2, 4),
            (1, 0, 1),  # one step: both schedules are at their peak
            (1000, 0, 200),  # a 20 % cooldown
            (4000, 400, 800),
            (10**12, 10**9, 2 * 10**11),  # far too many steps to sum one by one
            (10**15, 0, 10**14),
        ],
        hint="sum each schedule's rates over its steps in closed form: WSD's pieces are a flat stretch and two "
        "arithmetic series, and the cosine's values pair off around the middle of the run (step t with step "
        "total - t). Check your sums against the library's schedules on a short run, counting steps from 0 "
        "to total - 1, and mind what a warmup of 0 steps means for step 0.",
        tol=1e-12,
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
        hint="the rate is the smaller of a rising and a falling branch, so it peaks where they meet; find that "
        "t, then mind that t counts from 1 while steps count from 0.",
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
        hint="one step multiplies x by 1 - lr * h, so one cycle multiplies |x| by the product of those factors' "
        "sizes over its 2 * step_size steps, each at the triangle wave's rate (base_lr at the cycle's first step, "
        "max_lr at step step_size).",
        tol=1e-9,
    )
