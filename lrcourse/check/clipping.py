"""Checkers for the chapter on exploding gradients and gradient clipping."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from . import compare

__all__ = ["clip_by_value", "effective_lr", "clipped_fraction", "clip_per_tensor", "momentum_step_bound", "explosion_length"]

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

    >>> clip_by_value(lambda gs, c: list(gs))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ clip_by_value([tensor([ 0.5000, -3.0000,  2.0000])], 1.0): expected [0.5, -1.0, 1.0], got [0.5, -3.0, 2.0]. Hint: ...
    """
    t = torch.tensor
    compare(
        "clip_by_value",
        _flat(fn),
        None,
        [
            ([t([0.5, -3.0, 2.0])], 1.0),
            ([t([[4.0, -0.1], [0.2, -9.0]]), t([0.3])], 0.5),
            ([t([0.1, -0.2])], 1.0),  # nothing to clip
            ([t([5.0]), t([-5.0, 0.0])], 2.0),
        ],
        hint="clamp each entry on its own: torch.clamp(g, -c, c) for every g (the direction may change).",
    )


def effective_lr(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(lr, grad_norm, max_norm)``: the step size global-norm clipping leaves.

    >>> effective_lr(lambda lr, n, c: lr)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ effective_lr(0.1, 10.0, 1.0): expected 0.010000000000000002, got 0.1. Hint: ...
    """
    compare(
        "effective_lr",
        fn,
        None,
        [(0.1, 0.5, 1.0), (0.1, 10.0, 1.0), (1.0, 1.0, 1.0), (0.5, 100.0, 2.0), (0.3, 0.0, 1.0)],
        hint="a clipped step is lr * (c/‖g‖) * g, i.e. a plain step with lr * min(1, c/‖g‖); a zero gradient is not clipped.",
    )


def clipped_fraction(fn: Callable[[Sequence[float], float], float]) -> None:
    """Check ``fn(grad_norms, max_norm)``: the fraction of steps whose norm exceeded the threshold.

    >>> clipped_fraction(lambda ns, c: 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ clipped_fraction([0.5, 2.0, 3.0, 0.1], 1.0): expected 0.5, got 0.0. Hint: ...
    """
    compare(
        "clipped_fraction",
        fn,
        None,
        [([0.5, 2.0, 3.0, 0.1], 1.0), ([1.0, 1.0], 1.0), ([10.0], 0.5), ([0.2, 0.3, 0.4], 5.0)],
        hint="count the norms strictly above max_norm (a norm equal to it is left alone) and divide by the number of steps.",
    )





def clip_per_tensor(fn: Callable[[Grads, float], Grads]) -> None:
    """Check ``fn(grads, max_norm)``: each tensor clipped to norm ``max_norm`` on its own (``+1e-6`` as PyTorch).

    >>> clip_per_tensor(lambda gs, c: list(gs))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ clip_per_tensor([tensor([3., 4.]), tensor([0.3000, 0.4000])], 1.0): expected [0.5999999046325684, 0.7999998331069946, 0.30000001192092..., got [3.0, 4.0, 0.30000001192092896, 0.4000000059604645]. Hint: ...
    """
    t = torch.tensor
    compare(
        "clip_per_tensor",
        _flat(fn),
        None,
        [
            ([t([3.0, 4.0]), t([0.3, 0.4])], 1.0),  # the first is clipped to norm 1, the second untouched
            ([t([[1.0, -1.0], [1.0, -1.0]])], 0.5),
            ([t([0.0, 0.0]), t([10.0])], 2.0),  # a zero gradient stays zero
            ([t([1e-3]), t([-7.0, 24.0])], 5.0),
        ],
        hint="scale every tensor g by min(1, max_norm / (‖g‖ + 1e-6)) with its own norm ‖g‖, not the global one.",
        tol=1e-5,
    )


def momentum_step_bound(fn: Callable[[float, float, float, int], float]) -> None:
    """Check ``fn(lr, clip, momentum, k)``: the longest step after ``k`` clipped gradients (buffer empty before).

    With ``b ← μ·b + g̃`` and ``‖g̃‖ ≤ c``, ``k`` clipped gradients in one direction give
    ``‖b‖ ≤ c·(1 + μ + … + μ^(k−1)) = c·(1 − μ^k)/(1 − μ)``; the step is ``lr`` times that.

    >>> momentum_step_bound(lambda lr, c, mu, k: lr * c)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ momentum_step_bound(0.7, 0.5, 0.9, 10): expected 2.27962545965, got 0.35. Hint: ...
    """
    compare(
        "momentum_step_bound",
        lambda *a: float(fn(*a)),
        None,
        [(0.7, 0.5, 0.9, 1), (0.7, 0.5, 0.9, 10), (0.1, 1.0, 0.9, 1000), (1.0, 2.0, 0.0, 5), (0.3, 0.5, 0.5, 3)],
        hint="the buffer after k clipped gradients all pointing one way is c·(1 + μ + … + μ^(k−1)); "
        "the step is lr times the buffer. With μ = 0 that is lr·c whatever k is.",
        tol=1e-6,
    )


def explosion_length(fn: Callable[[float, float], int]) -> None:
    """Check ``fn(gain, factor)``: the fewest steps ``T`` with ``gain ** T ≥ factor`` (``gain > 1``, ``factor ≥ 1``).

    >>> explosion_length(lambda lr, h: 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ explosion_length(1.2, 1000000.0): expected 76, got 0. Hint: ...
    """

    compare(
        "explosion_length",
        lambda *a: int(fn(*a)),
        None,
        [(1.2, 1e6), (2.0, 1024.0), (1.05, 1e3), (3.0, 1.0)],
        hint="the norm grows like gain**T: solve gain**T >= factor for the smallest whole T, T = ceil(log(factor) / log(gain)).",
    )
