"""Checkers for the capstone chapter: a fast training recipe."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from . import compare

__all__ = ["time_above_lr", "decoupled_decay", "matched_lr", "time_to_target"]


def _models() -> list[nn.Module]:
    with torch.random.fork_rng(devices=[]):  # the student's global random state is left alone
        torch.manual_seed(0)
        return [
            nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)),
            nn.Sequential(nn.Unflatten(1, (1, 8)), nn.Conv1d(1, 2, 3, bias=False), nn.BatchNorm1d(2), nn.Flatten(),
                          nn.Linear(12, 2)),
            nn.Linear(3, 2),
        ]


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


def _decoupled_summary(model: nn.Module, groups: Sequence[dict[str, Any]]) -> Any:
    got = [p for g in groups for p in g["params"]]
    if sorted(map(id, got)) != sorted(id(p) for p in model.parameters()):
        return "not every parameter exactly once"
    by_param = {}
    for g in groups:
        for p in g["params"]:
            by_param[id(p)] = (p.dim() > 1, round(float(g["lr"]), 12), round(float(g["lr"]) * float(g.get("weight_decay", 0.0)), 15))
    return sorted(by_param.values())


def decoupled_decay(fn: Callable[[nn.Module, float, float, float], list[dict[str, Any]]]) -> None:
    """Check ``fn(model, lr, weight_decay, bias_scaler)``: 1-D parameters at ``lr·bias_scaler``, the same decay per step.

    PyTorch's SGD shrinks a parameter by ``lr_group · weight_decay_group · w`` each step; the
    groups must make that product ``lr · weight_decay`` for every parameter, whatever its rate.

    >>> decoupled_decay(lambda m, lr, wd, s: [{"params": list(m.parameters()), "lr": lr, "weight_decay": wd}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ decoupled_decay(0, 0.1, 0.0005, 64.0): expected [(False, 6.4, 5e-05), (False, 6.4, 5e-05), (False, 6.4, 5..., got [(False, 0.1, 5e-05), (False, 0.1, 5e-05), (False, 0.1, 5.... Hint: ...
    """

    def student(i: int, lr: float, wd: float, scaler: float) -> Any:
        model = _models()[i]
        return _decoupled_summary(model, fn(model, lr, wd, scaler))


    compare(
        "decoupled_decay",
        student,
        None,
        [(0, 0.1, 5e-4, 64.0), (1, 0.02, 0.05, 10.0), (2, 1.0, 1e-3, 4.0)],
        hint="SGD shrinks a parameter by its group's lr times its group's weight_decay each step: which product "
        "must be the same for both groups, and what does that leave for the faster group's weight_decay? "
        "Every parameter must appear in exactly one group.",
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


def time_to_target(fn: Callable[[dict[int, list[float]], float], int | None]) -> None:
    """Check ``fn(finals, target)``: the smallest budget whose median final accuracy reaches ``target``.

    ``finals`` maps a budget (epochs of a run whose schedule ends there) to the final
    accuracies over seeds; NaN marks a diverged run, which counts as a failure, not as
    missing. ``None`` when no budget reaches the target.

    >>> time_to_target(lambda finals, target: min(finals))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ time_to_target({2: [0.8, 0.86, 0.84], 4: [0.9, 0.91, 0.89], 8: [0.95, 0...., 0.9): expected 4, got 2. Hint: ...
    """
    nan = math.nan
    compare(
        "time_to_target",
        lambda finals, target: fn({b: list(a) for b, a in finals.items()}, target),
        None,
        [
            ({2: [0.80, 0.86, 0.84], 4: [0.90, 0.91, 0.89], 8: [0.95, 0.94, 0.93]}, 0.9),  # median of 4 is 0.90: 4
            ({8: [0.95, 0.94, 0.93], 2: [0.91, 0.92, 0.5]}, 0.9),  # budgets not in order: 2
            ({2: [0.92, nan, nan], 4: [0.92, 0.93, nan]}, 0.9),  # diverged runs count as failures: 4
            ({2: [0.5, 0.6], 4: [0.88, 0.95]}, 0.9),  # even count: median 0.915 at 4
            ({2: [0.5], 4: [0.6]}, 0.9),  # never: None
        ],
        hint="the budgets may come in any order, and the smallest one that makes it is wanted; a NaN is a run "
        "that failed, not one that is missing (and statistics.median does not know what to do with NaN).",
    )
