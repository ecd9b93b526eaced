"""Checkers for chapter 3, the learning-rate range test."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .. import lr_finder
from . import CheckFailed, compare

__all__ = ["range_ema_lag", "range_fastai_valley", "range_growth_factor", "range_smoothing", "range_unstable_step"]


def _as_tensor(fn: Any) -> Any:
    """Wrap a function returning a list so that lists compare with a tolerance."""
    if fn is None or fn is Ellipsis:
        return fn

    def wrapped(*args: Any) -> Any:
        out = fn(*args)
        return None if out is None else torch.as_tensor(list(out), dtype=torch.float64)

    return wrapped


def range_growth_factor(fn: Callable[[float, float, int], float]) -> None:
    """Check ``fn(start_lr, end_lr, num_iter)``: the factor ``q`` the LR is multiplied by each step.

    >>> range_growth_factor(lambda a, b, n: (b / a) ** (1 / n))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ range_growth_factor(1e-07, 10.0, 100): expected 1.2045035402587823, got 1.202264434617413. Hint: ...
    """
    compare(
        "range_growth_factor",
        fn,
        None,
        [(1e-7, 10.0, 100), (1e-3, 1e-1, 3), (1e-4, 1.0, 10), (0.5, 2.0, 2), (1e-6, 1e-5, 1000)],
        hint="after num_iter - 1 steps start * q**(num_iter - 1) must equal end, so "
        "q = (end / start) ** (1 / (num_iter - 1)); in logs, log q = (log end - log start) / (num_iter - 1).",
        tol=1e-9,
    )


def range_smoothing(fn: Callable[[Sequence[float], float], Sequence[float]]) -> None:
    """Check ``fn(losses, beta)``: the exponential moving average with bias correction.

    >>> range_smoothing(lambda losses, beta: list(losses))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ range_smoothing([3.0, 1.0, 4.0, 1.0, 5.0, 9.0], 0.9): expected [3.0, 1.9473684210526319, 2.70479704797048, 2.20907240476..., got [3.0, 1.0, 4.0, 1.0, 5.0, 9.0]. Hint: ...
    """
    compare(
        "range_smoothing",
        _as_tensor(fn),
        None,
        [
            ([2.0, 2.0, 2.0], 0.98),  # a constant stays constant: that is what bias correction is for
            ([3.0, 1.0, 4.0, 1.0, 5.0, 9.0], 0.9),
            ([1.0, 0.5], 0.0),  # beta = 0: no smoothing at all
            ([5.0], 0.98),  # one value: smoothed is the value itself
            ([math.log(10)] * 3 + [1.0, 0.5, 0.25, 8.0], 0.98),
        ],
        hint="avg = beta * avg + (1 - beta) * loss, starting from avg = 0; report avg / (1 - beta ** (i + 1)) "
        "for the i-th loss counted from 0.",
        tol=1e-9,
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
        hint="step i uses start * q**i with q from exercise 1; the steepest curvature L goes first, once "
        "lr * L > 2. Solve start * q**i > 2 / L for i with logs, take the smallest integer above, "
        "and return None if it is num_iter or more.",
    )


def _drifting_curve(n: int = 120, drift: float = 0.002, seed: int = 0) -> tuple[list[float], list[float]]:
    """A smoothed range-test curve: a long plateau that drifts down by a hair each step, a fall,
    then a blow-up; with a little noise so that the longest decreasing subsequence is not trivial."""
    gen = torch.Generator().manual_seed(seed)
    lrs = lr_finder.lr_schedule_exp(1e-6, 10.0, n)
    raw = []
    for i, lr in enumerate(lrs):
        x = math.log10(lr)
        clean = 2.0 - drift * i - 0.8 * (1 + math.tanh(2 * (x + 1.5))) / 2 + (5.0 * (lr - 0.3) if lr > 0.3 else 0.0)
        raw.append(clean + 0.02 * float(torch.randn((), generator=gen)))
    return lrs, lr_finder.smooth_losses(raw, 0.9)


def _subsequence_start(losses: Sequence[float]) -> tuple[int, int]:
    """(first index of a longest decreasing subsequence ending where fastai's does, fastai's own start)."""
    lds, max_start, max_end = lr_finder.longest_decreasing(losses)
    i = max_end
    while lds[i] > 1:  # walk back along the latest-starting chain
        i = max(j for j in range(i) if losses[j] > losses[i] and lds[j] == lds[i] - 1)
    return i, max_start


def range_fastai_valley(fn: Callable[[Sequence[float], Sequence[float]], float], prediction: str | None = None) -> None:
    """Check ``fn(lrs, smoothed)``, fastai's ``valley`` rule, and a prediction about its window.

    ``prediction`` (``"left"`` or ``"right"``) says where fastai's window start,
    ``max_end - lds[max_end]``, lies against the first point of the longest decreasing
    subsequence it found, on a noisy curve.

    >>> range_fastai_valley(lambda lrs, smoothed: lrs[0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ range_fastai_valley([1e-06, 1.1450475699382818e-06, 1.3111339374215643e-06, 1..., [2.0308199093095465, 2.010457539476462, 1.989043020462998...): expected 0.0025808615404180756, got 1e-06. Hint: ...
    """
    curves = [_drifting_curve(seed=k) for k in range(3)]
    flat_lrs = lr_finder.lr_schedule_exp(1e-4, 1.0, 60)
    curves.append((flat_lrs, [2.0 - math.tanh(3 + math.log10(lr)) for lr in flat_lrs]))
    compare(
        "range_fastai_valley",
        fn,
        None,
        curves,
        hint="drop the first len//10 and the last 5 points; lds[i] = 1 + the longest lds[j] over j < i with "
        "losses[i] < losses[j]; keep max_end = the first i with the largest lds, max_start = max_end - lds[max_end]; "
        "sections = (max_end - max_start) / 3; return lrs[max_start + int(sections) + int(sections / 2)].",
        tol=1e-12,
    )
    if prediction is None:
        return
    if prediction not in ("left", "right"):
        raise ValueError(f"prediction must be 'left' or 'right', got {prediction!r}.")
    _, smoothed = curves[0]
    n = len(smoothed)
    first, start = _subsequence_start(smoothed[n // 10 : n - 5])
    truth = "left" if start < first else "right"
    if prediction != truth:
        raise CheckFailed(
            f"range_fastai_valley: here the subsequence starts at step {first} and fastai's window at {start}: "
            f"{truth} of it. Hint: a subsequence of length L ending at max_end spans at least L points; "
            "how many does it span when noise makes it skip some?"
        )
    print(
        f"✅ range_fastai_valley: your prediction is right: fastai's start lies {abs(start - first)} steps "
        f"{truth} of the subsequence's first point."
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
        hint="the weight of the loss k steps back is beta**k for k = 0..step, divided by their sum (that is the "
        "bias correction); the mean age is sum(k * w_k); one step is log10(end_lr / start_lr) / (num_iter - 1) decades.",
        tol=1e-9,
    )
