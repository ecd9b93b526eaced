"""Checkers for the chapter on fine-tuning with discriminative learning rates."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import compare

__all__ = ["unfreezing_mean_lrs", "slice_lrs", "stlr_mean"]


def unfreezing_mean_lrs(fn: Callable[[float, int, float, int, float, float], list[float]]) -> None:
    """Check ``fn(max_lr, n_groups, factor, epochs, cut_frac, ratio)``: each layer group's mean learning rate
    (input group first) over a long run of gradual unfreezing with discriminative rates.

    The head's rate follows the slanted triangular schedule (``max_lr``, ``cut_frac``, ``ratio``) over the
    whole run of ``epochs`` epochs; the group ``j`` groups below the head gets ``1 / factor**j`` of it, and
    trains from the end of epoch ``j`` on (the head from the start). The mean is over all the steps of the
    run, a frozen step counting as rate 0, in the limit of many steps per epoch.

    >>> def no_unfreezing(lr, g, f, e, c, r):  # every group trains from the start
    ...     return [lr * (1 + r) / (2 * r) / f ** (g - 1 - k) for k in range(g)]
    >>> unfreezing_mean_lrs(no_unfreezing)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ unfreezing_mean_lrs(0.3, 4, 2.6, 20, 0.1, 32.0): expected [0.007090486790699439, ..., got [0.008801063950842057, .... Hint: ...
    """
    compare(
        "unfreezing_mean_lrs",
        lambda *a: torch.tensor([float(v) for v in fn(*a)], dtype=torch.float64),
        None,
        [
            (0.3, 4, 2.6, 20, 0.1, 32.0),  # this chapter's run: groups unfreeze inside the warm-up and after it
            (1.0, 4, 1.0, 20, 0.1, 32.0),  # one LR for all groups, unfrozen gradually
            (1.0, 3, 2.6, 1, 0.1, 32.0),  # a run of one epoch: only the head ever trains
            (0.1, 6, 2.6, 4, 0.3, 32.0),  # more groups than epochs: the lowest two never train
            (1.0, 5, 2.0, 10, 0.5, 1.0),  # ratio 1: a constant rate
            (2.0, 2, 10.0, 1000, 0.1, 100.0),
        ],
        hint="write the head's rate as a function of the share s of the run done (0 to 1): linear up to "
        "cut_frac, linear down after it. A group j groups below the head trains from s = j / epochs on (if "
        "that is inside the run) at 1 / factor**j of the head's rate, so its mean over the whole run is "
        "that fraction of the area under the head's rate from there to the end, split at cut_frac.",
        tol=1e-7,  # float32 passes; summing the schedule step by step would need billions of steps
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
