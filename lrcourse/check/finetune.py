"""Checkers for the chapter on fine-tuning with discriminative learning rates."""

from __future__ import annotations

from collections.abc import Callable

from . import compare

__all__ = ["unfrozen_after", "slice_lrs", "stlr_mean"]


def unfrozen_after(fn: Callable[[int, int], list[bool]]) -> None:
    """Check ``fn(n_groups, epochs_done)``: which groups (input to head) train after gradual unfreezing.

    >>> unfrozen_after(lambda n, e: [True] * n)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ unfrozen_after(4, 0): expected [False, False, False, True], got [True, True, True, True]. Hint: ...
    """
    compare(
        "unfrozen_after",
        lambda *a: [bool(v) for v in fn(*a)],
        None,
        [(4, 0), (4, 1), (4, 3), (4, 10), (1, 0)],  # head only at first; everything once all are unfrozen
        hint="start with only the head (the last group) trainable and unfreeze one more group, downwards, per epoch.",
    )


def slice_lrs(fn: Callable[[float, float, int], list[float]]) -> None:
    """Check ``fn(lr_lo, lr_hi, n_groups)``: fastai's ``slice(lr_lo, lr_hi)``, rates spaced geometrically, input group first.

    The input group gets ``lr_lo``, the head ``lr_hi`` (a single group gets ``lr_hi``), and
    neighbouring groups differ by the same factor.

    >>> slice_lrs(lambda lo, hi, n: [lo] * n)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ slice_lrs(0.001, 0.1, 4): expected [0.001, 0.004641588833612778, 0.021544346900318832, 0.1], got [0.001, 0.001, 0.001, 0.001]. Hint: ...
    """
    compare(
        "slice_lrs",
        lambda *a: [float(v) for v in fn(*a)],
        None,
        [(1e-3, 0.1, 4), (1e-4, 1e-2, 3), (0.01, 0.01, 5), (0.003, 0.3, 1)],
        hint="geometric spacing: one constant ratio between neighbours, chosen so that the input group gets lr_lo "
        "and the head lr_hi (how many ratios lie between them?); a single group gets lr_hi.",
        tol=1e-9,
    )


def stlr_mean(fn: Callable[[float, float], float]) -> None:
    """Check ``fn(max_lr, ratio)``: the mean rate of a slanted triangular schedule over a long run.

    "A long run": many steps, whatever ``cut_frac`` is.

    >>> stlr_mean(lambda lr, r: lr / 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ stlr_mean(0.01, 32.0): expected 0.00515625, got 0.005. Hint: ...
    """
    compare(
        "stlr_mean",
        lambda *a: float(fn(*a)),
        None,
        [(0.01, 32.0), (1.0, 1.0), (0.3, 10.0), (2.0, 1000.0)],
        hint="the rate is a linear function of the schedule's position p, which runs from 0 to 1 and back: "
        "average p over the rise and over the fall (cut_frac drops out).",
        tol=1e-6,
    )
