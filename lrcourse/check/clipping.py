"""Checkers for the chapter on exploding gradients and gradient clipping."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from . import compare

__all__ = ["clip_by_value", "effective_lr", "clipped_fraction"]

Grads = Sequence[torch.Tensor]


def _flat(fn: Callable[..., Grads]) -> Callable[..., torch.Tensor]:
    """Run ``fn`` on copies of the gradients (so an in-place answer cannot spoil the reference) and flatten."""

    def run(grads: Grads, c: float) -> torch.Tensor:
        out = fn([g.clone() for g in grads], c)
        if isinstance(out, torch.Tensor):
            out = [out]
        return torch.cat([torch.as_tensor(o).reshape(-1) for o in out])

    return run


def clip_by_value(fn: Callable[[Grads, float], Grads]) -> None:
    """Check ``fn(grads, clip_value)``: every entry of every gradient clamped to ``[−c, c]``.

    >>> clip_by_value(lambda gs, c: [g.clamp(-c, c) for g in gs])
    ✅ clip_by_value: right on all 4 cases.
    """
    t = torch.tensor
    compare(
        "clip_by_value",
        _flat(fn),
        _flat(lambda gs, c: [g.clamp(-c, c) for g in gs]),
        [
            ([t([0.5, -3.0, 2.0])], 1.0),
            ([t([[4.0, -0.1], [0.2, -9.0]]), t([0.3])], 0.5),
            ([t([0.1, -0.2])], 1.0),  # nothing to clip
            ([t([5.0]), t([-5.0, 0.0])], 2.0),
        ],
        hint="clamp each entry on its own: torch.clamp(g, -c, c) for every g (the direction may change).",
    )


def effective_lr(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(lr, grad_norm, max_norm)``: the step size global-norm clipping leaves, ``lr · min(1, c/‖g‖)``.

    >>> effective_lr(lambda lr, n, c: lr * min(1.0, c / n) if n > 0 else lr)
    ✅ effective_lr: right on all 5 cases.
    """
    compare(
        "effective_lr",
        fn,
        lambda lr, n, c: float(lr * min(1.0, c / n)) if n > 0 else float(lr),
        [(0.1, 0.5, 1.0), (0.1, 10.0, 1.0), (1.0, 1.0, 1.0), (0.5, 100.0, 2.0), (0.3, 0.0, 1.0)],
        hint="a clipped step is lr * (c/‖g‖) * g, i.e. a plain step with lr * min(1, c/‖g‖); a zero gradient is not clipped.",
    )


def clipped_fraction(fn: Callable[[Sequence[float], float], float]) -> None:
    """Check ``fn(grad_norms, max_norm)``: the fraction of steps whose norm exceeded the threshold.

    >>> clipped_fraction(lambda ns, c: sum(n > c for n in ns) / len(ns))
    ✅ clipped_fraction: right on all 4 cases.
    """
    compare(
        "clipped_fraction",
        fn,
        lambda ns, c: float(sum(n > c for n in ns) / len(ns)),
        [([0.5, 2.0, 3.0, 0.1], 1.0), ([1.0, 1.0], 1.0), ([10.0], 0.5), ([0.2, 0.3, 0.4], 5.0)],
        hint="count the norms strictly above max_norm (a norm equal to it is left alone) and divide by the number of steps.",
    )
