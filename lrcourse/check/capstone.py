"""Checkers for the capstone chapter: a fast training recipe."""

from __future__ import annotations

import math
from collections.abc import Callable

from . import compare

__all__ = ["time_above_lr", "coupled_decay", "matched_lr", "time_to_target"]


def time_above_lr(fn: Callable[[float, float, int, int, float], float]) -> None:
    """Check ``fn(lr_max, lr_min, warmup, total, lr)``: how long a warm-up + cosine run stays at or above ``lr``.

    The schedule, over continuous time ``t`` in ``[0, total]``: a linear warm-up from 0 to
    ``lr_max`` over ``[0, warmup]``, then half a cosine from ``lr_max`` down to the floor
    ``lr_min`` at ``total``. The answer is the length of time (a real number, not a count of
    integer steps) during which the rate is at least ``lr``.

    >>> time_above_lr(lambda lr_max, lr_min, warmup, total, lr: float(total))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ time_above_lr(0.1, 0.0, 10, 100, 0.05): expected 50.0, got 100.0. Hint: ...
    """
    compare(
        "time_above_lr",
        fn,
        None,
        [
            (0.1, 0.0, 10, 100, 0.05),  # half the peak, floor 0
            (1.0, 0.2, 0, 50, 0.6),  # no warm-up, a floor
            (2.0, 0.1, 3, 40, 0.7),  # a rate between the floor and the peak
            (0.1, 0.01, 10, 100, 0.005),  # below the floor
            (0.5, 0.05, 20, 120, 0.05),  # exactly the floor
            (0.1, 0.0, 10, 100, 0.2),  # above the peak
        ],
        hint="the rate is monotone within each phase, so in each phase the time above lr runs from one crossing "
        "to the phase's end (or from its start): find each crossing by inverting that phase's formula. Check the "
        "cases where lr is at or below the floor, or above the peak, and a run without warm-up.",
        tol=1e-7,
    )


def coupled_decay(fn: Callable[[float, float, float, bool], float]) -> None:
    """Check ``fn(lr, decay, momentum, nesterov)``: the ``weight_decay`` that makes ``torch.optim.SGD`` shrink by ``decay``.

    With that ``weight_decay`` (added to the gradient, as PyTorch's SGD does, so that it also
    goes through the momentum buffer), and with no gradient from the loss, a weight must in the
    long run shrink by the factor ``1 - decay`` per step, exactly: the decoupled decay
    ``w <- (1 - decay) w`` that airbench asks for, expressed in PyTorch's coupled form. Every
    case has a ``decay`` small enough that such a ``weight_decay`` exists.

    >>> coupled_decay(lambda lr, decay, momentum, nesterov: decay / lr)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ coupled_decay(0.1, 0.001, 0.9, False): expected 0.0009909909909909915, got 0.01. Hint: ...
    """
    compare(
        "coupled_decay",
        fn,
        None,
        [
            (0.1, 1e-3, 0.9, False),  # heavy ball
            (0.1, 1e-3, 0.9, True),  # the same with Nesterov
            (1.0, 0.01, 0.0, False),  # no momentum
            (0.5, 0.02, 0.85, True),  # airbench's momentum, a fast decay
            (2.0, 5e-3, 0.5, False),
        ],
        hint="with no gradient from the loss, the weight and the momentum buffer evolve by a fixed linear map; "
        "in the long run both shrink by the same factor every step. Write one step of PyTorch's update for "
        "the pair (weight, buffer), ask that both be multiplied by 1 - decay, and solve for weight_decay. "
        "Nesterov's step is not the heavy ball's.",
        tol=1e-9,
    )


def matched_lr(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(lr, mu_from, mu_to)``: the rate that, with momentum ``mu_to``, takes the same long-run step.

    >>> matched_lr(lambda lr, mu_from, mu_to: lr)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ matched_lr(0.3, 0.85, 0.95): expected 0.10000000000000007, got 0.3. Hint: ...
    """
    compare(
        "matched_lr",
        fn,
        None,
        [(0.3, 0.85, 0.95), (0.1, 0.9, 0.0), (1.0, 0.0, 0.9), (0.5, 0.9, 0.9)],
        hint="sum the momentum buffer's geometric series for a gradient that never changes: that gives the "
        "long-run step for a rate and a momentum; the answer makes it the same for both momenta.",
        tol=1e-9,
    )


def time_to_target(fn: Callable[[dict[int, list[float]], float], float | None]) -> None:
    """Check ``fn(finals, target)``: the budget at which the median final accuracy first reaches ``target``, interpolated.

    ``finals`` maps a budget (epochs of a run whose schedule ends there) to the final
    accuracies over seeds; NaN marks a diverged run, which scores 0. Take the median at every
    budget; find the smallest budget whose median reaches ``target``; if a smaller budget was
    measured, interpolate between that budget and the largest smaller one, linearly in the
    logarithm of the budget, to where the median equals ``target``. The smallest budget itself
    when it already reaches ``target``; ``None`` when no budget does.

    >>> import statistics  # the chapter's first_budget: the first budget measured, not where the median crosses
    >>> time_to_target(lambda finals, target: min(b for b in finals if statistics.median(finals[b]) >= target))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ time_to_target({2: [0.8, 0.86, 0.84], 4: [0.9, 0.93, 0.91], 8: [0.95, 0...., 0.88): expected 2.9..., got 4. Hint: ...
    """
    nan = math.nan
    compare(
        "time_to_target",
        lambda finals, target: fn({b: list(a) for b, a in finals.items()}, target),
        None,
        [
            ({2: [0.80, 0.86, 0.84], 4: [0.90, 0.93, 0.91], 8: [0.95, 0.94, 0.93]}, 0.88),  # between 2 and 4
            ({8: [0.95, 0.94, 0.93], 2: [0.91, nan, nan], 4: [0.92, 0.5, 0.89]}, 0.9),  # NaN scores 0; any order
            ({3: [0.95, 0.97], 9: [0.99, 0.98]}, 0.9),  # the smallest budget already reaches it
            ({1: [0.5, 0.7], 10: [0.86, 0.9]}, 0.85),  # an even count of seeds; budgets far apart
            ({2: [0.5], 4: [0.6]}, 0.9),  # never: None
        ],
        hint="first the medians (a diverged run is a 0, not a missing run), in order of budget; then the first "
        "budget at or above the target and the measured budget just before it. Between those two, the median "
        "is taken as a straight line in log(budget): solve that line for the target, and turn the answer "
        "back into a budget.",
        tol=1e-9,
    )
