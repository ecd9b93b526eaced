"""Checkers for chapter 1, learning-rate basics."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from . import compare

__all__ = ["gd_step", "max_stable_lr", "contraction"]

def gd_step(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(w, grad, lr)``: one gradient-descent update ``w − lr · grad``.

    >>> gd_step(lambda w, g, lr: w - lr * g)
    ✅ gd_step: right on all 4 cases.
    """
    t = torch.tensor
    compare(
        "gd_step",
        fn,
        lambda w, g, lr: w - lr * g,
        [
            (t([1.0, 2.0]), t([0.5, -1.0]), 0.1),
            (t([0.0]), t([3.0]), 1.0),
            (t([1.0, 1.0]), t([0.0, 0.0]), 0.5),  # zero gradient: nothing moves
            (t([2.0]), t([1.0]), 0.0),  # zero learning rate: nothing moves
        ],
        hint="step against the gradient: new = w - lr * grad (return a new tensor).",
    )


def max_stable_lr(fn: Callable[[Sequence[float]], float]) -> None:
    """Check ``fn(eigenvalues)``: the largest stable learning rate ``2 / max(eigenvalues)``.

    >>> max_stable_lr(lambda h: 2 / max(h))
    ✅ max_stable_lr: right on all 4 cases.
    """
    compare(
        "max_stable_lr",
        fn,
        lambda h: 2.0 / max(h),
        [([1.0],), ([1.0, 10.0],), ([0.01, 0.5, 3.0],), ([100.0, 100.0],)],
        hint="each coordinate is multiplied by (1 - lr*h); it shrinks iff |1 - lr*h| < 1.",
    )


def contraction(fn: Callable[[float, Sequence[float]], float]) -> None:
    """Check ``fn(lr, eigenvalues)``: the worst per-step factor ``max |1 − lr·h|``.

    >>> contraction(lambda lr, h: max(abs(1 - lr * x) for x in h))
    ✅ contraction: right on all 5 cases.
    """
    compare(
        "contraction",
        fn,
        lambda lr, h: max(abs(1 - lr * x) for x in h),
        [(0.1, [1.0]), (1.0, [1.0]), (0.5, [1.0, 10.0]), (2 / 11, [1.0, 10.0]), (0.0, [3.0])],
        hint="take the largest |1 - lr*h| over the eigenvalues h; the absolute value matters.",
    )
