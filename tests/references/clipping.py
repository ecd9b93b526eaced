"""Reference answers of lrcourse.check.clipping's checkers, kept out of the package."""

from __future__ import annotations

import torch

from lrcourse.check.clipping import Grads, _flat


def _clip_per_tensor(grads: Grads, max_norm: float) -> list[torch.Tensor]:
    return [g * min(1.0, max_norm / (g.norm().item() + 1e-6)) for g in grads]


def _explosion_length(u: float, f: float) -> int:
    t = 0
    while u**t < f * (1 - 1e-12):  # the smallest whole T, counted (no rounding of logarithms)
        t += 1
    return t

REFERENCES = {
    "clip_per_tensor": _flat(_clip_per_tensor),
    "momentum_step_bound": lambda lr, c, mu, k: lr * c * sum(mu**j for j in range(k)),
    "explosion_length": _explosion_length,
}

HIDDEN = {
    "clip_per_tensor": [([torch.tensor([3.0, 4.0]), torch.tensor([0.1])], 1.0)],
    "momentum_step_bound": [(0.05, 2.0, 0.8, 6)],
    "explosion_length": [(1.5, 100.0), (1.1, 1e9), (10.0, 1000.0), (2.0, 1.5), (1.2, 1.0), (1.01, 10.0)],
}
