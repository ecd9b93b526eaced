"""Checkers for chapter 3, the learning-rate range test."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from . import compare

__all__ = ["range_ema_lag", "range_fastai_pick", "range_steps_between", "range_unstable_step"]


def range_steps_between(fn: Callable[[float, float, float, float, int, bool], int]) -> None:
    """Check ``fn(lo, hi, start_lr, end_lr, num_iter, linear)``: how many steps of a range test use a
    rate in ``[lo, hi)``, for the exponential schedule (``linear=False``) or the linear one.

    Step ``i`` (``0 <= i < num_iter``) of the exponential test uses ``start_lr * q**i`` and ends at
    ``end_lr``; the linear test spaces its rates evenly from ``start_lr`` to ``end_lr``.

    >>> range_steps_between(lambda lo, hi, a, b, n, linear: round(n * (hi - lo) / (b - a)))  # rates as if linear
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ range_steps_between(0.001, 0.01, 0.0001, 10.0, 100, False): expected 20, got 0. Hint: ...
    """
    compare(
        "range_steps_between",
        fn,
        None,
        [
            (1e-3, 1e-2, 1e-4, 10.0, 100, False),  # this chapter's test: one decade
            (1e-3, 1e-2, 1e-4, 10.0, 100, True),  # the same decade, linear: not one step
            (1.0, 100.0, 1e-4, 10.0, 100, True),  # the top decade, linear (hi above the end)
            (1.0, 100.0, 1e-4, 10.0, 100, False),
            (1e-3, 1e-2, 1e-7, 10.0, 100, False),  # fastai's default sweep
            (1e-3, 1e-2, 1e-7, 10.0, 320, False),  # the library's default: 40 steps per decade
            (1e-9, 1e-6, 1e-7, 10.0, 320, False),  # lo below the start
            (3.0, 50.0, 1e-4, 10.0, 100, False),
            (20.0, 50.0, 1e-4, 10.0, 100, False),  # above the whole test
            (0.5, 2.0, 0.01, 1.0, 50, True),
        ],
        hint="an exponential test spaces its steps evenly in log(rate), a linear one in the rate itself: find "
        "where lo and hi sit on the axis of step numbers (they need not be whole numbers), count the whole steps "
        "from the one at lo included to the one at hi excluded, and mind that the test has no steps before 0 "
        "or after num_iter - 1.",
    )


def range_unstable_step(fn: Callable[[Sequence[float], float, float, int], int | None]) -> None:
    """Check ``fn(curvatures, start_lr, end_lr, num_iter)``: the first step of an exponential range test
    at which gradient descent on ``½ Σ h x²`` is unstable in some direction (``None``: never).

    >>> range_unstable_step(lambda h, a, b, n: 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ range_unstable_step([0.10000000149011612, 0.12742750346660614, 0.162377670407..., 0.001, 10.0, 120): expected 69, got 0. Hint: ...
    """
    compare(
        "range_unstable_step",
        fn,
        None,
        [
            (torch.logspace(-1, 1, 20).tolist(), 1e-3, 10.0, 120),  # the chapter's quadratic
            ([1.0, 4.0], 1e-4, 10.0, 100),
            ([3.0], 1e-5, 1.0, 50),  # 2/3 is reached at step 48 of 50
            ([0.5], 1e-4, 1.0, 100),  # 2/0.5 = 4 is never reached: None
            ([50.0, 0.01], 1e-1, 10.0, 30),  # unstable from the first step
            ([2.0, 8.0, 0.3], 1e-7, 10.0, 320),  # the library's default sweep
        ],
        hint="only the steepest direction matters, and it turns unstable once lr * L passes 2 (strictly); the "
        "rate at step i is an exponential in i, so take logs to find the crossing, then the first whole step "
        "past it (no earlier than 0), and None when that step is not in the test.",
    )


def range_fastai_pick(fn: Callable[[int, int, int, bool], int]) -> None:
    """Check ``fn(n, plateau_end, minimum, drift)``: the step whose rate fastai's ``valley`` rule returns
    on a smoothed curve of ``n`` steps with a given shape, derived without running the rule.

    Steps ``0 .. plateau_end`` are a plateau: constant, or, with ``drift``, each a hair lower than
    the one before. Steps ``plateau_end + 1 .. minimum`` fall, each below the one before (the first
    below the plateau); the steps after ``minimum`` rise, each above the one before. The shapes
    have ``plateau_end + 2 <= minimum``, ``n // 10 + 2 <= minimum`` and ``minimum <= n - 6``.

    >>> range_fastai_pick(lambda n, p, m, drift: (p + m) // 2)  # the middle of the fall
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ range_fastai_pick(100, 40, 70, False): expected 54, got 55. Hint: ...
    """
    compare(
        "range_fastai_pick",
        fn,
        None,
        [
            (100, 40, 70, False),
            (100, 40, 70, True),  # the same fall after a drifting plateau
            (100, 5, 60, False),  # the plateau ends inside the first tenth
            (60, 20, 54, False),  # the minimum is the last step the rule keeps
            (320, 150, 230, True),  # the library's default length
            (10**6, 300_000, 700_000, False),  # too long to run the rule: derive it
            (10**6, 300_000, 700_000, True),
        ],
        hint="ask which points a strictly decreasing subsequence can take: how many of a constant plateau, how "
        "many of a drifting one, none of the steps the rule cuts off; that gives max_end and lds[max_end]. Then "
        "follow fastai's arithmetic from there, minding where its max_start lies against the subsequence's "
        "first point.",
    )


def range_ema_lag(fn: Callable[[int, float, float, float, int], float]) -> None:
    """Check ``fn(step, beta, start_lr, end_lr, num_iter)``: the smoothed loss's lag in decades of rate.

    The bias-corrected average at ``step`` weighs the loss of ``k`` steps ago by ``beta**k``
    (``k = 0 .. step``, normalised); its mean age in steps, times the decades per step of the
    schedule, is the lag.

    >>> range_ema_lag(lambda step, beta, a, b, n: 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ range_ema_lag(40, 0.98, 0.0001, 10.0, 100): expected 0.868861765149088, got 0.0. Hint: ...
    """
    compare(
        "range_ema_lag",
        fn,
        None,
        [(40, 0.98, 1e-4, 10.0, 100), (80, 0.98, 1e-4, 10.0, 100), (0, 0.98, 1e-4, 10.0, 100),
         (200, 0.98, 1e-7, 10.0, 320), (30, 0.9, 1e-3, 1.0, 50)],
        hint="write the bias-corrected average as a weighted sum of the step + 1 losses so far: the weights sum "
        "to 1 (that is what the correction does), and the mean age is the weighted mean of how many steps ago "
        "each loss was. Then convert steps into decades: the schedule covers its span in num_iter - 1 steps.",
        tol=1e-9,
    )
