"""Reference answers of chapter 1's checkers (lrcourse.check.basics), kept out of the package."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def _steps(lr: float, eigenvalues: Sequence[float], x0: Sequence[float], tol: float) -> float:
    """Run gradient descent on ½ Σ h x² until every |x_i| <= tol (inf if it never does)."""
    x = torch.tensor(x0, dtype=torch.float64)
    factor = 1 - lr * torch.tensor(eigenvalues, dtype=torch.float64)
    for t in range(100_000):
        if bool((x.abs() <= tol).all()):
            return t
        x = factor * x
    return math.inf


REFERENCES = {
    "gd_step": lambda w, g, lr: w - lr * g,
    "max_stable_lr": lambda x: torch.tensor(
        [2.0 / torch.linalg.eigvalsh(x.T @ x / len(x)).max().item(), 1.0, 1.0], dtype=torch.float64
    ),
    "best_constant_lr": lambda h: 2.0 / (min(h) + max(h)),
    "guaranteed_decrease": lambda lr, smooth, g: lr * (1.0 - smooth * lr / 2.0) * g**2,
    "steps_to_tolerance": _steps,
}

HIDDEN = {
    "gd_step": [(torch.tensor([3.0, -1.0]), torch.tensor([1.0, 2.0]), 0.25), (torch.tensor([-2.0]), torch.tensor([-4.0]), 0.5)],
    "max_stable_lr": [(torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64),)],
    "best_constant_lr": [([0.2, 5.0, 1.0],), ([3.0, 3.0],)],
    "guaranteed_decrease": [(0.3, 2.0, 4.0), (2.0, 1.0, 1.0)],
    "steps_to_tolerance": [(0.2, [2.0, 0.5], [1.0, -1.0], 1e-4), (0.9, [2.0], [1.0], 1e-3)],
}
