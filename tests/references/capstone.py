"""Reference answers of chapter 15's checkers (lrcourse.check.capstone), kept out of the package."""

from __future__ import annotations

import math
import statistics
from typing import Any

from torch import nn

from lrcourse.check.capstone import _decoupled_summary, _models


def _time_above(lr_max: float, lr_min: float, warmup: int, total: int, lr: float) -> float:
    if lr <= 0:
        return float(total)
    if lr > lr_max:
        return 0.0
    rising = warmup * (1 - lr / lr_max)  # the warm-up reaches lr at warmup * lr / lr_max
    if lr <= lr_min:
        return rising + (total - warmup)
    # the cosine phase falls to lr where (1 + cos(pi u)) / 2 = (lr - lr_min) / (lr_max - lr_min)
    u = math.acos(2 * (lr - lr_min) / (lr_max - lr_min) - 1) / math.pi
    return rising + u * (total - warmup)


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
    "time_above_lr": _time_above,
    "decoupled_decay": _decoupled,
    "matched_lr": lambda lr, mu_from, mu_to: lr * (1 - mu_to) / (1 - mu_from),
    "time_to_target": _time_to_target,
}

HIDDEN = {
    "time_above_lr": [(0.3, 0.03, 5, 60, 0.1), (1.0, 0.0, 30, 100, 0.9), (0.2, 0.05, 0, 10, 0.0)],
    "decoupled_decay": [(0, 0.05, 1e-3, 16.0)],
    "matched_lr": [(0.2, 0.5, 0.8), (0.05, 0.99, 0.9)],
    "time_to_target": [({1: [0.7, 0.95, 0.96], 3: [0.9, 0.91, 0.2]}, 0.9), ({5: [0.99, 0.98]}, 0.99)],
}
