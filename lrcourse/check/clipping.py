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
        hint="each entry of each tensor is limited to the interval from -c to c on its own, whatever the others do; "
        "entries already inside stay as they are (so the direction of the whole gradient may change).",
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
        hint="compare the clipped step with a plain step at rate lr: by what factor does clipping shorten it when ‖g‖ "
        "exceeds the threshold, and what is left when it does not? A zero gradient is never clipped.",
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
        hint="a step is clipped only when its norm is larger than the threshold (a norm equal to it is left alone); "
        "the answer is a share of all the steps, between 0 and 1, not a count.",
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
