"""Reference answers of lrcourse.check.sharpness's checkers, kept out of the package."""

from __future__ import annotations

import torch


def _box_reference(h: torch.Tensor, theta: torch.Tensor, eps: float) -> float:
    loss = lambda t: 0.5 * (h * t**2).sum()  # noqa: E731
    direction = torch.where(theta >= 0, 1.0, -1.0)
    worst = theta + direction * eps * (theta.abs() + 1)
    base = loss(theta)
    return float(100 * (loss(worst) - base) / (1 + base))


def _sam_gradient(h: torch.Tensor, theta: torch.Tensor, rho: float) -> torch.Tensor:
    g = h * theta
    norm = g.norm()
    eps = rho * g / norm if norm > 0 else torch.zeros_like(theta)
    return h * (theta + eps)

def _top_eig(matrix: torch.Tensor) -> float:
    return float(torch.linalg.eigvalsh(matrix.double())[-1])


REFERENCES = {
    "power_iteration": _top_eig,
    "box_sharpness": _box_reference,
    "sam_gradient": _sam_gradient,
}

def _psd(seed: int, eigenvalues: list[float]) -> torch.Tensor:
    """A float32 symmetric matrix with these eigenvalues and random eigenvectors (built in float64)."""
    g = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=g, dtype=torch.float64)).Q
    return (q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T).float()


def _rank_one(seed: int, n: int) -> torch.Tensor:
    u = torch.randn(n, 1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (u @ u.T).float()


def _softmax_hessian(p: list[float]) -> torch.Tensor:
    """diag(p) - p pᵀ, the Hessian of the cross-entropy in the logits at probabilities p (float32)."""
    q = torch.tensor(p)
    return torch.diag(q) - torch.outer(q, q)


HIDDEN = {
    "power_iteration": [
        (_psd(30, [4.0, 4.0, 1.0, 0.5, 0.0]),),  # the top eigenvalue twice: any vector of that plane will do
        (_psd(31, [5.0, 4.9, 1.0, 0.1]),),  # a small gap: only all `iters` steps get there
        (torch.tensor([[7.0]]),),  # n = 1
        (_rank_one(32, 6),),  # rank one: every other eigenvalue is 0
        (_psd(33, [2000.0, 300.0, 1.0, 1.0, 0.0, 0.0]),),  # a large scale
        # The all-ones vector is an eigenvector of eigenvalue 1 (the top one is 6): a start from it stays there.
        # Exact in float32 (entries and ones/2 are dyadic), so rounding never brings the top eigenvector in.
        (torch.tensor([[3.0, -1.0, 0.5, -1.5], [-1.0, 3.0, -1.5, 0.5], [0.5, -1.5, 3.0, -1.0], [-1.5, 0.5, -1.0, 3.0]]),),
        (_softmax_hessian([0.5, 0.25, 0.125, 0.125]),),  # the Hessian of cross-entropy in the logits: H·1 = 0 exactly
    ],
    "box_sharpness": [(torch.tensor([1.0, 8.0]), torch.tensor([0.5, -0.25]), 0.05)],
    "sam_gradient": [(torch.tensor([2.0, 0.5]), torch.tensor([1.0, -3.0]), 0.2)],
}
