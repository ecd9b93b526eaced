"""Reference answers of chapter 15's checkers (lrcourse.check.capstone), kept out of the package."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from torch import nn

from lrcourse.check.capstone import _decoupled_summary, _models, _summary


def _split(i: int, weight_decay: float) -> list[tuple[float, list[int]]]:
    model = _models()[i]
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    return _summary([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}])


def _warmup_cosine(lr_max: float, warmup: int, total: int, step: int) -> float:
    if step < warmup:
        return lr_max * step / warmup
    t = min(step - warmup, total - warmup)
    return lr_max * (1 + math.cos(math.pi * t / (total - warmup))) / 2


def _epochs_to(test_acc: Sequence[float], target: float) -> int | None:
    for epoch, acc in enumerate(test_acc, start=1):
        if acc >= target:
            return epoch
    return None


def _decoupled_groups(model: nn.Module, lr: float, weight_decay: float, bias_scaler: float) -> list[dict[str, Any]]:
    rest = [p for p in model.parameters() if p.dim() <= 1]
    weights = [p for p in model.parameters() if p.dim() > 1]
    return [
        {"params": weights, "lr": lr, "weight_decay": weight_decay},
        {"params": rest, "lr": lr * bias_scaler, "weight_decay": weight_decay / bias_scaler},
    ]


def _decoupled(i: int, lr: float, wd: float, scaler: float) -> Any:
    model = _models()[i]
    return _decoupled_summary(model, _decoupled_groups(model, lr, wd, scaler))


def _time_to_target(finals: dict[int, list[float]], target: float) -> int | None:
    for budget in sorted(finals):
        scores = [a if math.isfinite(a) else 0.0 for a in finals[budget]]
        if scores and statistics.median(scores) >= target:
            return budget
    return None


REFERENCES = {
    "decay_split": _split,
    "warmup_cosine_lr": _warmup_cosine,
    "epochs_to_accuracy": _epochs_to,
    "decoupled_decay": _decoupled,
    "matched_lr": lambda lr, mu_from, mu_to: lr * (1 - mu_to) / (1 - mu_from),
    "time_to_target": _time_to_target,
}

HIDDEN = {
    "decay_split": [(1, 3e-4)],
    "warmup_cosine_lr": [(0.5, 4, 40, 2), (0.5, 4, 40, 31)],
    "epochs_to_accuracy": [([0.7, 0.71, 0.69, 0.8], 0.75), ([0.9], 0.95)],
    "decoupled_decay": [(0, 0.05, 1e-3, 16.0)],
    "matched_lr": [(0.2, 0.5, 0.8), (0.05, 0.99, 0.9)],
    "time_to_target": [({1: [0.7, 0.95, 0.96], 3: [0.9, 0.91, 0.2]}, 0.9), ({5: [0.99, 0.98]}, 0.99)],
}
