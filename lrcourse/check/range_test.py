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

    >>> range_growth_factor(lambda a, b, n: (b / a) ** (1 / (n - 1)))
    ✅ range_growth_factor: right on all 5 cases.
    """
    compare(
        "range_growth_factor",
        fn,
        lr_finder.growth_factor,
        [(1e-7, 10.0, 100), (1e-3, 1e-1, 3), (1e-4, 1.0, 10), (0.5, 2.0, 2), (1e-6, 1e-5, 1000)],
        hint="after num_iter - 1 steps start * q**(num_iter - 1) must equal end, so "
        "q = (end / start) ** (1 / (num_iter - 1)); in logs, log q = (log end - log start) / (num_iter - 1).",
        tol=1e-9,
    )


def range_smoothing(fn: Callable[[Sequence[float], float], Sequence[float]]) -> None:
    """Check ``fn(losses, beta)``: the exponential moving average with bias correction.

    >>> def ema(losses, beta):
    ...     avg, out = 0.0, []
    ...     for i, x in enumerate(losses):
    ...         avg = beta * avg + (1 - beta) * x
    ...         out.append(avg / (1 - beta ** (i + 1)))
    ...     return out
    >>> range_smoothing(ema)
    ✅ range_smoothing: right on all 5 cases.
    """
    compare(
        "range_smoothing",
        _as_tensor(fn),
        lambda losses, beta: torch.tensor(lr_finder.smooth_losses(losses, beta), dtype=torch.float64),
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


def _first_unstable_step(curvatures: Sequence[float], start_lr: float, end_lr: float, num_iter: int) -> int | None:
    """The reference: walk the exponential schedule until some direction's factor |1 - lr h| exceeds 1."""
    top = max(curvatures)
    return next((i for i, lr in enumerate(lr_finder.lr_schedule_exp(start_lr, end_lr, num_iter)) if lr * top > 2), None)


def range_unstable_step(fn: Callable[[Sequence[float], float, float, int], int | None]) -> None:
    """Check ``fn(curvatures, start_lr, end_lr, num_iter)``: the first step of an exponential range test
    at which gradient descent on ``½ Σ h x²`` is unstable in some direction (``None``: never).

    >>> def first(h, a, b, n):
    ...     i = math.floor(math.log(2 / (max(h) * a)) / math.log((b / a) ** (1 / (n - 1)))) + 1
    ...     return max(i, 0) if i < n else None
    >>> range_unstable_step(first)
    ✅ range_unstable_step: right on all 6 cases.
    """
    compare(
        "range_unstable_step",
        fn,
        _first_unstable_step,
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

    >>> range_fastai_valley(lr_finder.fastai_valley, prediction="right")
    ✅ range_fastai_valley: right on all 4 cases.
    ✅ range_fastai_valley: your prediction is right: fastai's start lies 11 steps right of the subsequence's first point.
    """
    curves = [_drifting_curve(seed=k) for k in range(3)]
    flat_lrs = lr_finder.lr_schedule_exp(1e-4, 1.0, 60)
    curves.append((flat_lrs, [2.0 - math.tanh(3 + math.log10(lr)) for lr in flat_lrs]))
    compare(
        "range_fastai_valley",
        fn,
        lr_finder.fastai_valley,
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


def _ema_lag_decades(step: int, beta: float, start_lr: float, end_lr: float, num_iter: int) -> float:
    weights = [beta**k for k in range(step + 1)]
    age = sum(k * w for k, w in enumerate(weights)) / sum(weights)
    return age * math.log10(end_lr / start_lr) / (num_iter - 1)


def range_ema_lag(fn: Callable[[int, float, float, float, int], float]) -> None:
    """Check ``fn(step, beta, start_lr, end_lr, num_iter)``: the smoothed loss's lag in decades of rate.

    The bias-corrected average at ``step`` weighs the loss of ``k`` steps ago by ``beta**k``
    (``k = 0 .. step``, normalised); its mean age in steps, times the decades per step of the
    schedule, is the lag.

    >>> range_ema_lag(_ema_lag_decades)
    ✅ range_ema_lag: right on all 5 cases.
    """
    compare(
        "range_ema_lag",
        fn,
        _ema_lag_decades,
        [(40, 0.98, 1e-4, 10.0, 100), (80, 0.98, 1e-4, 10.0, 100), (0, 0.98, 1e-4, 10.0, 100),
         (200, 0.98, 1e-7, 10.0, 320), (30, 0.9, 1e-3, 1.0, 50)],
        hint="the weight of the loss k steps back is beta**k for k = 0..step, divided by their sum (that is the "
        "bias correction); the mean age is sum(k * w_k); one step is log10(end_lr / start_lr) / (num_iter - 1) decades.",
        tol=1e-9,
    )
