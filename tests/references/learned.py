"""Reference answers of lrcourse.check.learned's checkers, kept out of the package."""

from __future__ import annotations

import math

import torch

from lrcourse import learned


def _meta_objective(losses: torch.Tensor) -> torch.Tensor:
    return torch.log(losses[1:] / losses[0]).mean()


def _powersign_window(h: float) -> tuple[float, float]:
    return 1 / (math.e * h), 1 / h


def _recover_gradient(x: torch.Tensor, p: float) -> torch.Tensor:
    # both branches meet at |g| = exp(-p), where they give (-1, sign g): one expression inverts both
    return x[..., 1] * torch.exp(p * x[..., 0])


def _encoded(values: list, p: float) -> tuple[torch.Tensor, float]:
    return learned.preprocess_gradient(torch.tensor(values, dtype=torch.float64), p).float(), p


REFERENCES = {
    "meta_objective": _meta_objective,
    "powersign_window": lambda h: torch.tensor(_powersign_window(h), dtype=torch.float64),
    "recover_gradient": _recover_gradient,
}

_t = torch.tensor
HIDDEN: dict[str, list[tuple]] = {
    "meta_objective": [
        (_t([[3.0, 1.0, 100.0], [1.5, 1.0, 10.0], [0.3, 2.0, 1.0], [0.03, 0.5, 0.1]]),),  # three problems
        (_t([[1e-4], [1e-5], [1e-6], [1e-7], [1e-8]]),),  # tiny losses: only the ratios count
    ],
    "powersign_window": [(0.5,), (1e-3,), (math.e,)],
    "recover_gradient": [
        _encoded([0.3, -7.0, 1e-2, -1e-4], 3.0),  # another p: exp(-3) = 0.05 is the threshold
        _encoded([[1e3, -1e-8], [math.exp(-20.0), 1e-12]], 20.0),  # a large p, on and below the threshold
        _encoded([[[0.5], [-0.25]]], 1.0),  # a three-dimensional g
    ],
}
