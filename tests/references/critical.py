"""Reference answers of chapter 2's checkers (lrcourse.check.critical), kept out of the package."""

from __future__ import annotations

from torch.nn import functional as F

from lrcourse import landscape
from lrcourse.check.critical import _test_problem


def _cliff(seed: int, hidden: int) -> float:
    model, x, y = _test_problem(seed, hidden)
    return 2.0 / landscape.top_hessian_eigenvalues(model, F.cross_entropy, x, y, k=1)[0].item()


REFERENCES = {
    "nesterov_max_lr": lambda h, mu: 2.0 * (1.0 + mu) / (h * (1.0 + 2.0 * mu)),
    "predicted_cliff": _cliff,
}

HIDDEN = {
    "nesterov_max_lr": [(2.0, 0.7), (0.25, 0.95)],
    "predicted_cliff": [(3, 16)],
}
