"""Checkers for the chapter on sharp and flat minima."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import compare

__all__ = ["power_iteration", "box_sharpness", "sam_gradient"]


def power_iteration(fn: Callable[[Callable[[torch.Tensor], torch.Tensor], int, int], float]) -> None:
    """Check ``fn(matvec, n, iters)``: the top eigenvalue of a symmetric PSD matrix seen only through ``matvec``.

    >>> power_iteration(lambda hvp, n, iters: 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ power_iteration([[1.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 2.0]]): expected 5.0, got 1.0. Hint: ...
    """
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)  # built in float64: the same bits on every CPU
    q = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=torch.float64)).Q
    mats = [
        torch.diag(torch.tensor([1.0, 5.0, 2.0])),
        (a @ a.T).float(),  # a random PSD matrix
        (q @ torch.diag(torch.tensor([10.0, 1.0, 0.5, 0.2, 0.0], dtype=torch.float64)) @ q.T).float(),
        torch.eye(4) * 3.0,  # every vector is an eigenvector
    ]

    def student(m: torch.Tensor) -> float:
        return fn(lambda v: m @ v, m.shape[0], 500)

    compare(
        "power_iteration",
        student,
        None,
        [(m,) for m in mats],
        hint="start from a random vector (a fixed one can be orthogonal to the top eigenvector) and apply the matrix "
        "again and again, renormalizing, so that the top eigenvector's component takes over (all iters steps: a "
        "small eigengap converges slowly), then read the eigenvalue off the final vector.",
        tol=1e-3,
    )


def box_sharpness(fn: Callable[[torch.Tensor, torch.Tensor, float], float]) -> None:
    """Check ``fn(h, theta, eps)``: the exact ε-sharpness of ``L(θ) = ½ Σ h_i θ_i²`` (``h ≥ 0``).

    >>> box_sharpness(lambda h, theta, eps: 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ box_sharpness([1.0, 100.0], [0.0, 0.0], 0.001): expected 0.005050000734627247, got 0.0. Hint: ...
    """
    t = torch.tensor
    compare(
        "box_sharpness",
        lambda h, th, e: float(fn(h.clone(), th.clone(), e)),
        None,
        [
            (t([1.0, 100.0]), t([0.0, 0.0]), 1e-3),  # at the minimum
            (t([1.0, 100.0]), t([0.5, -0.2]), 1e-2),  # away from it: move away from 0 in each coordinate
            (t([4.0]), t([-3.0]), 5e-4),
            (t([0.0, 2.0]), t([1.0, 0.0]), 0.1),  # a flat direction adds nothing
        ],
        hint="the maximum is at a corner of the box: push each coordinate to the edge of its own box (whose size "
        "grows with |θ_i|), away from 0, and normalize the rise as the chapter's definition does.",
        tol=1e-5,
    )


def sam_gradient(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(h, theta, rho)``: SAM's gradient on the quadratic ``½ Σ h θ²``, i.e. ``∇L(θ + ρ g/‖g‖)``.

    ``g = h·θ`` is the gradient at ``θ``; at the minimum (``g = 0``) SAM does not move.

    >>> sam_gradient(lambda h, t, r: h * t)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ sam_gradient([1.0, 10.0], [1.0, 1.0], 0.05): expected [1.0049751859510498, 10.497518595104996], got [1.0, 10.0]. Hint: ...
    """
    t = torch.tensor
    compare(
        "sam_gradient",
        lambda h, theta, rho: torch.as_tensor(fn(h.clone(), theta.clone(), rho), dtype=torch.float64),
        None,
        [
            (t([1.0, 10.0], dtype=torch.float64), t([1.0, 1.0], dtype=torch.float64), 0.05),
            (t([2.0], dtype=torch.float64), t([-0.5], dtype=torch.float64), 0.1),  # 1-D: the push is ρ·sign(θ)
            (t([1.0, 4.0, 0.5], dtype=torch.float64), t([0.0, 0.0, 0.0], dtype=torch.float64), 0.05),  # at the minimum
            (t([0.1, 100.0], dtype=torch.float64), t([3.0, -0.01], dtype=torch.float64), 0.5),
        ],
        hint="take the ascent step of length rho along the normalized gradient, then return the quadratic's "
        "gradient at that perturbed point; at the minimum (zero gradient) there is no step.",
    )
