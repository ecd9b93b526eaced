"""Small closed-form problems for the early chapters.

A quadratic ``f(x) = ½ Σ h_i x_i²`` is the whole story of the learning rate in miniature:
gradient descent multiplies coordinate ``i`` by ``1 − lr·h_i`` every step, so it converges
iff ``lr < 2 / max(h)``, and the slowest coordinate (``min(h)``) sets the pace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Quadratic:
    """``f(x) = ½ Σ h_i x_i²``, axis-aligned, with curvatures ``h`` (the Hessian's eigenvalues).

    >>> q = Quadratic(torch.tensor([1.0, 10.0]))
    >>> q.loss(torch.tensor([1.0, 1.0])).item(), q.condition
    (5.5, 10.0)
    """

    h: torch.Tensor

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """The value at ``x`` (``x`` may carry leading batch dimensions)."""
        return 0.5 * (self.h * x**2).sum(-1)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """The gradient ``h * x``."""
        return self.h * x

    @property
    def condition(self) -> float:
        """The condition number ``max(h) / min(h)``."""
        return float(self.h.max() / self.h.min())

    @property
    def max_stable_lr(self) -> float:
        """The largest learning rate for which gradient descent converges: ``2 / max(h)``."""
        return float(2.0 / self.h.max())

    @property
    def best_lr(self) -> float:
        """The fixed learning rate with the fastest worst-case rate: ``2 / (max(h) + min(h))``."""
        return float(2.0 / (self.h.max() + self.h.min()))


def quadratic(eigenvalues: Sequence[float]) -> Quadratic:
    """A :class:`Quadratic` with the given curvatures.

    >>> quadratic([1.0, 4.0]).max_stable_lr
    0.5
    """
    h = torch.as_tensor(eigenvalues, dtype=torch.float64)
    if h.dim() != 1 or len(h) == 0 or not bool((h > 0).all()):
        raise ValueError(f"eigenvalues must be a non-empty list of positive numbers, got {list(eigenvalues)}.")
    return Quadratic(h)


def quadratic_2d(condition: float, largest: float = 1.0) -> Quadratic:
    """A 2-D quadratic with curvatures ``(largest / condition, largest)``.

    >>> quadratic_2d(10.0).condition
    10.0
    """
    if condition < 1:
        raise ValueError(f"condition must be at least 1, got {condition}.")
    return quadratic([largest / condition, largest])


def gradient_descent(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x0: Sequence[float] | torch.Tensor,
    lr: float,
    steps: int,
) -> torch.Tensor:
    """The iterates ``x_{t+1} = x_t − lr · grad(x_t)`` as a ``(steps + 1, d)`` tensor.

    >>> gradient_descent(lambda x: x, [1.0], lr=0.5, steps=2).squeeze(1).tolist()
    [1.0, 0.5, 0.25]
    """
    x = torch.as_tensor(x0, dtype=torch.float64).clone()
    path = [x.clone()]
    for _ in range(steps):
        x = x - lr * grad(x)
        path.append(x.clone())
    return torch.stack(path)

