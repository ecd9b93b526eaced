"""Checkers for the chapter on sharp and flat minima."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from . import compare

__all__ = ["rescale_two_layer", "power_iteration", "box_sharpness", "sam_gradient"]


def _rescale_reference(w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, alpha: float) -> tuple[torch.Tensor, ...]:
    return w1 * alpha, b1 * alpha, w2 / alpha


def rescale_two_layer(fn: Callable[..., Sequence[torch.Tensor]]) -> None:
    """Check ``fn(w1, b1, w2, alpha)``: Dinh et al.'s rescaling ``(α W1, α b1, W2 / α)``.

    >>> rescale_two_layer(lambda w1, b1, w2, a: (a * w1, a * b1, w2 / a))
    ✅ rescale_two_layer: right on all 4 cases.
    """

    def flat(f: Callable[..., Sequence[torch.Tensor]]) -> Callable[..., torch.Tensor]:
        return lambda w1, b1, w2, a: torch.cat([t.reshape(-1) for t in f(w1.clone(), b1.clone(), w2.clone(), a)])

    g = torch.Generator().manual_seed(0)
    cases = [
        (torch.randn(4, 3, generator=g), torch.randn(4, generator=g), torch.randn(2, 4, generator=g), a)
        for a in (2.0, 0.1, 1.0, 1000.0)
    ]
    compare(
        "rescale_two_layer",
        flat(fn),
        flat(_rescale_reference),
        cases,
        hint="relu(α z) = α relu(z) for α > 0: scale the first layer's weight AND bias by α, divide the second weight by α.",
        tol=1e-5,
    )


def _top_eig(matrix: torch.Tensor) -> float:
    return float(torch.linalg.eigvalsh(matrix.double())[-1])


def power_iteration(fn: Callable[[Callable[[torch.Tensor], torch.Tensor], int, int], float]) -> None:
    """Check ``fn(matvec, n, iters)``: the top eigenvalue of a symmetric PSD matrix seen only through ``matvec``.

    >>> def power(mv, n, iters):
    ...     v = torch.ones(n) / n**0.5
    ...     for _ in range(iters):
    ...         w = mv(v); v = w / w.norm()
    ...     return float(v @ mv(v))
    >>> power_iteration(power)
    ✅ power_iteration: right on all 4 cases.
    """
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 6, generator=g)
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=g))
    mats = [
        torch.diag(torch.tensor([1.0, 5.0, 2.0])),
        a @ a.T,  # a random PSD matrix
        q @ torch.diag(torch.tensor([10.0, 1.0, 0.5, 0.2, 0.0])) @ q.T,
        torch.eye(4) * 3.0,  # every vector is an eigenvector
    ]

    def student(m: torch.Tensor) -> float:
        return fn(lambda v: m @ v, m.shape[0], 500)

    compare(
        "power_iteration",
        student,
        _top_eig,
        [(m,) for m in mats],
        hint="start from a vector with no zero coordinates, repeat v ← Hv / ‖Hv‖, and return the Rayleigh quotient vᵀHv.",
        tol=1e-3,
    )


def _box_reference(h: torch.Tensor, theta: torch.Tensor, eps: float) -> float:
    loss = lambda t: 0.5 * (h * t**2).sum()  # noqa: E731
    direction = torch.where(theta >= 0, 1.0, -1.0)
    worst = theta + direction * eps * (theta.abs() + 1)
    base = loss(theta)
    return float(100 * (loss(worst) - base) / (1 + base))


def box_sharpness(fn: Callable[[torch.Tensor, torch.Tensor, float], float]) -> None:
    """Check ``fn(h, theta, eps)``: the exact ε-sharpness of ``L(θ) = ½ Σ h_i θ_i²`` (``h ≥ 0``).

    >>> def ref(h, theta, eps):
    ...     L = lambda t: 0.5 * (h * t**2).sum()
    ...     worst = theta + torch.where(theta >= 0, 1.0, -1.0) * eps * (theta.abs() + 1)
    ...     return float(100 * (L(worst) - L(theta)) / (1 + L(theta)))
    >>> box_sharpness(ref)
    ✅ box_sharpness: right on all 4 cases.
    """
    t = torch.tensor
    compare(
        "box_sharpness",
        lambda h, th, e: float(fn(h.clone(), th.clone(), e)),
        _box_reference,
        [
            (t([1.0, 100.0]), t([0.0, 0.0]), 1e-3),  # at the minimum
            (t([1.0, 100.0]), t([0.5, -0.2]), 1e-2),  # away from it: move away from 0 in each coordinate
            (t([4.0]), t([-3.0]), 5e-4),
            (t([0.0, 2.0]), t([1.0, 0.0]), 0.1),  # a flat direction adds nothing
        ],
        hint="each term ½ h θ² grows fastest by pushing θ_i away from 0 to the edge of its box, δ_i = sign(θ_i)·ε(|θ_i|+1).",
        tol=1e-5,
    )


def _sam_gradient(h: torch.Tensor, theta: torch.Tensor, rho: float) -> torch.Tensor:
    g = h * theta
    norm = g.norm()
    eps = rho * g / norm if norm > 0 else torch.zeros_like(theta)
    return h * (theta + eps)


def sam_gradient(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(h, theta, rho)``: SAM's gradient on the quadratic ``½ Σ h θ²``, i.e. ``∇L(θ + ρ g/‖g‖)``.

    ``g = h·θ`` is the gradient at ``θ``; at the minimum (``g = 0``) SAM does not move.

    >>> sam_gradient(lambda h, t, r: h * (t + (r * h * t / (h * t).norm() if (h * t).norm() > 0 else 0 * t)))
    ✅ sam_gradient: right on all 4 cases.
    """
    t = torch.tensor
    compare(
        "sam_gradient",
        lambda h, theta, rho: torch.as_tensor(fn(h.clone(), theta.clone(), rho), dtype=torch.float64),
        _sam_gradient,
        [
            (t([1.0, 10.0], dtype=torch.float64), t([1.0, 1.0], dtype=torch.float64), 0.05),
            (t([2.0], dtype=torch.float64), t([-0.5], dtype=torch.float64), 0.1),  # 1-D: the push is ρ·sign(θ)
            (t([1.0, 4.0, 0.5], dtype=torch.float64), t([0.0, 0.0, 0.0], dtype=torch.float64), 0.05),  # at the minimum
            (t([0.1, 100.0], dtype=torch.float64), t([3.0, -0.01], dtype=torch.float64), 0.5),
        ],
        hint="g = h*theta; move to theta + rho*g/‖g‖ (stay put when g = 0) and return the gradient there, h*(theta + eps).",
    )
