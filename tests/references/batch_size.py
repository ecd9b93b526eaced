"""Reference answers of lrcourse.check.batch_size's checkers, kept out of the package."""

from __future__ import annotations

import math

import torch


def _adam_batch_rule(lr: float, b1: float, b2: float, eps: float, b0: int, b: int) -> torch.Tensor:
    k = b / b0  # Malladi et al. (2022), the square-root scaling rule for Adam
    return torch.tensor([lr * math.sqrt(k), 1 - k * (1 - b1), 1 - k * (1 - b2), eps / math.sqrt(k)], dtype=torch.float64)

def _batch_for_budget(s_min: float, b_noise: float, max_steps: float) -> float:
    if max_steps <= s_min:
        return math.inf
    return math.ceil(b_noise / (max_steps / s_min - 1) - 1e-9)

def _lars_relative(w_norm: float, g_norm: float, cos: float, lr: float, trust: float, wd: float) -> float:
    denominator = g_norm + wd * w_norm  # scaling.LARS: ratio ||w|| / denominator, 1 where a norm is 0
    ratio = w_norm / denominator if w_norm > 0 and denominator > 0 else 1.0
    length = math.sqrt(max(g_norm**2 + (wd * w_norm) ** 2 + 2 * wd * w_norm * g_norm * cos, 0.0))
    return lr * trust * ratio * length / w_norm

def _noise(g: torch.Tensor, b: int) -> float:
    g = g.double()
    return float(((g - g.mean(0)) ** 2).sum(1).mean() / b)


REFERENCES = {
    "minibatch_noise": _noise,
    "adam_batch_rule": _adam_batch_rule,
    "batch_for_step_budget": _batch_for_budget,
    "lars_relative_step": _lars_relative,
}

_gen = torch.Generator().manual_seed(1)

HIDDEN = {
    "minibatch_noise": [
        (-1.0 + 2.0 * torch.randn(30, 4, generator=_gen, dtype=torch.float64), 7),
        (torch.tensor([[0.0, 2.0], [0.0, 2.0], [3.0, 2.0]], dtype=torch.float64), 3),  # one coordinate never varies
    ],
    "adam_batch_rule": [(1e-3, 0.8, 0.95, 1e-7, 128, 512), (5e-4, 0.9, 0.999, 1e-8, 2048, 512)],
    "batch_for_step_budget": [(500.0, 4000.0, 900.0), (100.0, 50.0, 100.0)],
    "lars_relative_step": [
        (2.0, 0.5, -0.2, 1.0, 1e-3, 0.0),
        (2.0, 0.5, 0.6, 1.0, 1e-3, 0.1),
        (10.0, 0.0, 0.0, 3.0, 5e-3, 1e-2),  # no gradient, with decay
    ],
}
