"""Checkers for the chapter on learned optimizers (update rules found by search, and the LSTM optimizer)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import learned
from . import CheckFailed, compare

__all__ = ["meta_objective", "powersign_window", "recover_gradient"]


def _rule_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    t = torch.tensor
    return [
        (t([1.0, -2.0, 0.5]), t([0.3, -0.1, -0.4]), t([1.0, 4.0, 0.25])),  # agree, agree, disagree
        (t([-1.0]), t([2.0]), t([1.0])),  # disagree
        (t([0.0, 3.0]), t([1.0, 0.0]), t([0.0, 9.0])),  # a zero gradient, a zero average
        (t([1e-6, -1e3]), t([1e-6, -1e3]), t([1e-12, 1e6])),  # tiny and huge, same sign
    ]


def recover_gradient(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(x, p)``: the gradient ``g`` whose LSTM input (Andrychowicz et al.'s encoding) is ``x``.

    ``x`` has shape ``g.shape + (2,)``: the two channels that ``lrcourse.learned``'s
    ``preprocess_gradient(g, p)`` gives each entry of ``g``; the answer has the shape of ``g``.

    >>> recover_gradient(lambda x, p: x[..., 1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ recover_gradient([[0.0, 1.0], [0.0, -1.0], [0.10000000149011612, 1.0]], 10.0): expected [1.0, -1.0, 2.7182817459106445], got [1.0, -1.0, 1.0]. Hint: ...
    """
    if fn is None or fn is Ellipsis:
        raise CheckFailed("❌ recover_gradient: no answer yet. Hint: undo each channel's encoding, one branch at a time.")

    def encoded(values: list, p: float) -> tuple[torch.Tensor, float]:
        # encoded in float64 and then cast, so the inputs carry the same bits on every CPU
        g = torch.tensor(values, dtype=torch.float64)
        return learned.preprocess_gradient(g, p).float(), p

    compare(
        "recover_gradient",
        fn,
        None,
        [
            encoded([1.0, -1.0, math.e], 10.0),
            encoded([1e-3, -1e-6, 0.0], 10.0),  # tiny gradients and an exact zero: the second branch
            encoded([2e-3, -2e-2, math.exp(-5.0)], 5.0),  # exp(-5) = 6.7e-3: each side of the threshold, and on it
            encoded([[100.0, -0.5], [0.01, 1e-9]], 10.0),  # any shape
        ],
        hint="the first channel is -1 on the small branch, where the second channel is a "
        "rescaled g; elsewhere the first channel is a scaled logarithm of |g| and the second its sign. "
        "Where do the two branches meet, and does one expression invert both?",
        tol=1e-5,
    )


def meta_objective(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(losses)``: the mean over steps ``t ≥ 1`` and problems of ``log(f_t / f_0)``.

    ``losses`` has shape ``(steps + 1, problems)``; row 0 holds the starting losses.

    >>> meta_objective(lambda l: (l[-1] / l[0]).mean())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ meta_objective([[1.0], [0.5], [0.25]]): expected -1.0397207736968994, got 0.25. Hint: ...
    """
    t = torch.tensor
    compare(
        "meta_objective",
        fn,
        None,
        [
            (t([[1.0], [0.5], [0.25]]),),
            (t([[2.0, 10.0], [1.0, 1.0], [0.5, 0.1]]),),  # problems of different scale count alike
            (t([[4.0, 4.0], [4.0, 8.0]]),),  # no progress, and a step uphill
            (t([[1.0], [math.e]]),),
        ],
        hint="which rows are the steps t >= 1, and what is each problem's own f_0? The answer is one "
        "number: a mean over every step and every problem (a run with no progress scores 0).",
    )


def powersign_window(fn: Callable[[float], tuple[float, float]]) -> None:
    """Check ``fn(h)``: the rates ``(lo, hi)`` at which PowerSign overshoots a curvature-``h`` axis and SGD does not.

    On ``½hx²`` SGD multiplies ``x`` by ``1 − ηh``; PowerSign's agreeing step is ``e·η``.

    >>> powersign_window(lambda h: (1 / h, 2 / h))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ powersign_window(1.0): expected [0.36787944117144233, 1.0], got [1.0, 2.0]. Hint: ...
    """
    if fn is None or fn is Ellipsis:
        raise CheckFailed("❌ powersign_window: no answer yet. Hint: when does a step make x change sign?")

    def as_tensor(h: float) -> torch.Tensor:
        return torch.tensor([float(x) for x in fn(h)], dtype=torch.float64)

    compare(
        "powersign_window",
        as_tensor,
        None,
        [(1.0,), (0.05,), (20.0,), (3.7,)],
        hint="a step overshoots (x changes sign) exactly when the factor that multiplies x is negative; "
        "find, for each method, the rate at which its factor crosses zero, and return (PowerSign's, SGD's).",
    )
