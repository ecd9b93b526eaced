"""Checkers for the chapter on exploding gradients and gradient clipping."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from . import compare

__all__ = ["clip_per_tensor", "momentum_step_bound", "explosion_length"]

Grads = Sequence[torch.Tensor]


def _flat(fn: Callable[..., Grads]) -> Callable[..., torch.Tensor]:
    """Run ``fn`` on copies of the gradients (so an in-place answer cannot spoil the reference) and flatten."""

    def run(grads: Grads, c: float) -> torch.Tensor:
        out = fn([g.clone() for g in grads], c)
        if isinstance(out, torch.Tensor):
            out = [out]
        return torch.cat([torch.as_tensor(o).reshape(-1) for o in out])

    return run


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
        hint="each tensor is judged by its own norm, not by the norm of all of them together; a tensor already "
        "short enough keeps its values, and a zero tensor must stay zero (PyTorch adds 1e-6 to the norm it divides by).",
        tol=1e-5,
    )


def momentum_step_bound(fn: Callable[[float, float, float, int], float]) -> None:
    """Check ``fn(lr, clip, momentum, k)``: the longest step after ``k`` clipped gradients (buffer empty before).

    The buffer follows ``b ← μ·b + g̃`` with ``‖g̃‖ ≤ c``, and the step is ``lr·b``.

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
        hint="unroll the buffer's recursion for k steps from an empty buffer, every clipped gradient of the largest "
        "length and pointing the same way; the step is the rate times the buffer's length. "
        "Check the edge case μ = 0 (no memory): k must not matter then.",
        tol=1e-6,
    )


def explosion_length(fn: Callable[[float, float], int]) -> None:
    """Check ``fn(gain, factor)``: the fewest steps ``T`` with ``gain ** T ≥ factor`` (``gain > 1``, ``factor ≥ 1``).

    >>> explosion_length(lambda gain, factor: 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ explosion_length(1.2, 1000000.0): expected 76, got 0. Hint: ...
    """

    compare(
        "explosion_length",
        lambda *a: int(fn(*a)),
        None,
        [(1.2, 1e6), (2.0, 1024.0), (1.05, 1e3), (3.0, 1.0)],
        hint="the amplification grows geometrically with the number of steps; find the smallest whole number of "
        "steps at which it reaches factor (none are needed when factor is 1, and an exact power of gain counts as reached).",
    )
