"""Checkers for the capstone chapter: a fast training recipe."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from . import compare

__all__ = ["decay_split", "warmup_cosine_lr", "epochs_to_accuracy", "decoupled_decay", "matched_lr", "time_to_target"]


def _models() -> list[nn.Module]:
    with torch.random.fork_rng(devices=[]):  # the student's global random state is left alone
        torch.manual_seed(0)
        return [
            nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)),
            nn.Sequential(nn.Unflatten(1, (1, 8)), nn.Conv1d(1, 2, 3, bias=False), nn.BatchNorm1d(2), nn.Flatten(),
                          nn.Linear(12, 2)),
            nn.Linear(3, 2),
        ]


def _summary(groups: Sequence[dict[str, Any]]) -> list[tuple[float, list[int]]]:
    """Per weight-decay value, the sorted sizes of the tensors that get it (empty groups dropped)."""
    by_wd: dict[float, list[int]] = {}
    for g in groups:
        params = list(g["params"])
        if params:
            by_wd.setdefault(float(g.get("weight_decay", 0.0)), []).extend(p.numel() for p in params)
    return sorted((wd, sorted(sizes)) for wd, sizes in by_wd.items())


def decay_split(fn: Callable[[nn.Module, float], list[dict[str, Any]]]) -> None:
    """Check ``fn(model, weight_decay)``: param groups that decay the weight matrices and kernels only.

    >>> decay_split(lambda m, wd: [{"params": list(m.parameters()), "weight_decay": wd}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ decay_split(0, 0.0005): expected [(0.0, [3, 8, 8, 8]), (0.0005, [24, 32])], got [(0.0005, [3, 8, 8, 8, 24, 32])]. Hint: ...
    """

    def student(i: int, wd: float) -> list[tuple[float, list[int]]]:
        model = _models()[i]
        groups = fn(model, wd)
        got = [p for g in groups for p in g["params"]]
        if sorted(map(id, got)) != sorted(id(p) for p in model.parameters()):
            return [("every parameter exactly once", [])]  # type: ignore[list-item]
        return _summary(groups)

    compare(
        "decay_split",
        student,
        None,
        [(0, 5e-4), (1, 0.1), (2, 1e-2)],  # BN model, a conv without bias, a bare linear layer
        hint="weights with 2 or more dimensions get weight_decay; biases and norm scales/shifts (1-D) get 0.0; "
        "every parameter must appear exactly once.",
    )


def warmup_cosine_lr(fn: Callable[[float, int, int, int], float]) -> None:
    """Check ``fn(lr_max, warmup, total, step)``: linear warm-up from 0, then a cosine down to 0 at ``total``.

    >>> warmup_cosine_lr(lambda lr_max, warmup, total, step: lr_max)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ warmup_cosine_lr(0.1, 10, 100, 0): expected 0.0, got 0.1. Hint: ...
    """
    compare(
        "warmup_cosine_lr",
        fn,
        None,
        [
            (0.1, 10, 100, 0),  # the start: 0
            (0.1, 10, 100, 5),  # half way up the warm-up
            (0.1, 10, 100, 10),  # the peak
            (0.1, 10, 100, 55),  # half way down the cosine
            (0.1, 10, 100, 100),  # the end: 0
            (2.0, 1, 5, 3),
        ],
        hint="lr_max*step/warmup while step < warmup; then lr_max*(1+cos(pi*(step-warmup)/(total-warmup)))/2.",
        tol=1e-9,
    )


def epochs_to_accuracy(fn: Callable[[Sequence[float], float], int | None]) -> None:
    """Check ``fn(test_acc, target)``: the first epoch (counted from 1) whose accuracy reaches ``target``, or None.

    >>> epochs_to_accuracy(lambda acc, target: 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ epochs_to_accuracy([0.5, 0.8, 0.9, 0.95], 0.9): expected 3, got 1. Hint: ...
    """
    compare(
        "epochs_to_accuracy",
        lambda acc, target: fn(list(acc), target),
        None,
        [
            ([0.5, 0.8, 0.9, 0.95], 0.9),  # reached exactly at epoch 3
            ([0.5, 0.92, 0.85, 0.95], 0.9),  # the first time counts, even if it drops again
            ([0.95], 0.9),  # epoch 1
            ([0.5, 0.6], 0.9),  # never: None
            ([], 0.5),  # no epochs at all: None
        ],
        hint="count epochs from 1; return the first whose accuracy is >= target, None if there is none.",
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
        hint="weights (2-D and up): lr and weight_decay; 1-D parameters: lr*bias_scaler and weight_decay/bias_scaler, "
        "so that lr_group*weight_decay_group is lr*weight_decay for every parameter.",
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
        hint="with constant gradients the step settles at lr*g/(1-mu) (heavy ball and PyTorch's Nesterov alike); "
        "keep lr/(1-mu) fixed.",
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
        hint="go through the budgets from the smallest; score a NaN (diverged) run as 0, not as missing; "
        "return the first budget whose median reaches the target, else None.",
    )
