"""Reference answers of lrcourse.check.batch_size's checkers, kept out of the package."""

from __future__ import annotations

import math

import torch


def _batch_for_budget(s_min: float, b_noise: float, max_steps: float) -> float:
    if max_steps <= s_min:
        return math.inf
    return math.ceil(b_noise / (max_steps / s_min - 1) - 1e-9)

def _lars_update(w: torch.Tensor, g: torch.Tensor, lr: float, trust: float, wd: float) -> torch.Tensor:
    w, g = w.double(), g.double()
    w_norm, g_norm = w.norm(), g.norm()
    ratio = w_norm / (g_norm + wd * w_norm) if w_norm > 0 and g_norm > 0 else 1.0
    return -lr * trust * ratio * (g + wd * w)

def _noise(g: torch.Tensor, b: int) -> float:
    g = g.double()
    return float(((g - g.mean(0)) ** 2).sum(1).mean() / b)


REFERENCES = {
    "scaled_lr": lambda lr, b0, b: lr * b / b0,
    "warmup_length": lambda e, n, b, w: math.ceil(e * n / (b * w)),
    "minibatch_noise": _noise,
    "noise_preserving_lr": lambda lr, b0, b: lr * math.sqrt(b / b0),
    "batch_for_step_budget": _batch_for_budget,
    "lars_update": _lars_update,
}

HIDDEN = {
    "scaled_lr": [(0.05, 64, 1024), (0.4, 256, 32)],
    "warmup_length": [(2.5, 60000, 32, 8)],
    "noise_preserving_lr": [(0.1, 128, 2048)],
    "batch_for_step_budget": [(500.0, 4000.0, 900.0), (100.0, 50.0, 100.0)],
}
