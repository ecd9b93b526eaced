"""Checkers for the chapter on learned optimizers (update rules found by search, and the LSTM optimizer)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import learned
from . import CheckFailed, compare

__all__ = ["addsign_rule", "lstm_preprocess", "meta_objective", "powersign_window"]


def _rule_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    t = torch.tensor
    return [
        (t([1.0, -2.0, 0.5]), t([0.3, -0.1, -0.4]), t([1.0, 4.0, 0.25])),  # agree, agree, disagree
        (t([-1.0]), t([2.0]), t([1.0])),  # disagree
        (t([0.0, 3.0]), t([1.0, 0.0]), t([0.0, 9.0])),  # a zero gradient, a zero average
        (t([1e-6, -1e3]), t([1e-6, -1e3]), t([1e-12, 1e6])),  # tiny and huge, same sign
    ]


def addsign_rule(text: str) -> None:
    """Check a rule string for AddSign: ``(1 + sign(g)·sign(m)) · g``.

    >>> addsign_rule("(1 + sign(g) * sign(m)) * g")
    ✅ addsign_rule: right on all 4 cases.
    """
    if text is None or text is Ellipsis:
        raise CheckFailed("❌ addsign_rule: no answer yet. Hint: use sign(g), sign(m), + and *.")
    try:
        rule = learned.parse(text)
    except learned.RuleError as err:
        raise CheckFailed(f"❌ addsign_rule: the rule does not parse: {err}") from None
    compare(
        "addsign_rule",
        rule,
        learned.parse("(1+sign(g)*sign(m))*g"),
        _rule_cases(),
        hint="the step is the gradient g, doubled where sign(g) agrees with sign(m) and zero where they "
        "disagree: (1 + sign(g)*sign(m)) * g.",
    )


def lstm_preprocess(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(g, p)``: the LSTM optimizer's input, ``(log|g|/p, sign g)`` or ``(−1, eᵖ·g)`` for ``|g| < e⁻ᵖ``.

    The answer has shape ``g.shape + (2,)``.

    >>> lstm_preprocess(learned.preprocess_gradient)
    ✅ lstm_preprocess: right on all 4 cases.
    """
    t = torch.tensor
    compare(
        "lstm_preprocess",
        fn,
        learned.preprocess_gradient,
        [
            (t([1.0, -1.0, math.e]), 10.0),
            (t([1e-3, -1e-6, 0.0]), 10.0),  # tiny gradients and an exact zero take the second branch
            (t([1e-3, -2e-2]), 5.0),  # exp(-5) = 6.7e-3: one on each side of the threshold
            (t([[100.0, -0.5], [0.01, 1e-9]]), 10.0),  # any shape
        ],
        hint="where |g| >= exp(-p) return (log|g| / p, sign(g)); elsewhere (-1, exp(p) * g); "
        "stack the two on a new last dimension with torch.stack([...], -1).",
    )


def _meta_objective(losses: torch.Tensor) -> torch.Tensor:
    return torch.log(losses[1:] / losses[0]).mean()


def meta_objective(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(losses)``: the mean over steps ``t ≥ 1`` and problems of ``log(f_t / f_0)``.

    ``losses`` has shape ``(steps + 1, problems)``; row 0 holds the starting losses.

    >>> meta_objective(lambda l: torch.log(l[1:] / l[0]).mean())
    ✅ meta_objective: right on all 4 cases.
    """
    t = torch.tensor
    compare(
        "meta_objective",
        fn,
        _meta_objective,
        [
            (t([[1.0], [0.5], [0.25]]),),
            (t([[2.0, 10.0], [1.0, 1.0], [0.5, 0.1]]),),  # problems of different scale count alike
            (t([[4.0, 4.0], [4.0, 8.0]]),),  # no progress, and a step uphill
            (t([[1.0], [math.e]]),),
        ],
        hint="divide every row after the first by the first row (each problem by its own start), "
        "take the log, then the mean over steps and problems.",
    )


def _powersign_window(h: float) -> tuple[float, float]:
    return 1 / (math.e * h), 1 / h


def powersign_window(fn: Callable[[float], tuple[float, float]]) -> None:
    """Check ``fn(h)``: the rates ``(lo, hi)`` at which PowerSign overshoots a curvature-``h`` axis and SGD does not.

    On ``½hx²`` SGD multiplies ``x`` by ``1 − ηh``: it never changes sign for ``η ≤ 1/h``.
    PowerSign's agreeing step is ``e·η``, which overshoots once ``1 − eηh < 0``, i.e. ``η > 1/(e·h)``.

    >>> powersign_window(lambda h: (1 / (math.e * h), 1 / h))
    ✅ powersign_window: right on all 4 cases.
    """
    if fn is None or fn is Ellipsis:
        raise CheckFailed("❌ powersign_window: no answer yet. Hint: when does 1 − ηh, and 1 − eηh, turn negative?")

    def as_tensor(h: float) -> torch.Tensor:
        return torch.tensor([float(x) for x in fn(h)], dtype=torch.float64)

    compare(
        "powersign_window",
        as_tensor,
        lambda h: torch.tensor(_powersign_window(h), dtype=torch.float64),
        [(1.0,), (0.05,), (20.0,), (3.7,)],
        hint="SGD stays on one side while 1 − ηh ≥ 0 (η ≤ 1/h); PowerSign's agreeing step e·η overshoots "
        "when 1 − eηh < 0 (η > 1/(e·h)). Return (1/(e·h), 1/h).",
    )
