"""Checkers for the chapter on snapshot ensembles."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import compare

__all__ = ["snapshot_schedule", "snapshot_average", "pairwise_disagreement"]


def _snapshot_lr(lr_max: float, cycle_steps: int, step: int) -> float:
    return lr_max / 2 * (1 + math.cos(math.pi * (step % cycle_steps) / cycle_steps))


def snapshot_schedule(fn: Callable[[float, int, int], float]) -> None:
    """Check ``fn(lr_max, cycle_steps, step)``: the cosine that restarts every ``cycle_steps`` steps.

    >>> import math
    >>> snapshot_schedule(lambda a, T, t: a / 2 * (1 + math.cos(math.pi * (t % T) / T)))
    ✅ snapshot_schedule: right on all 6 cases.
    """
    compare(
        "snapshot_schedule",
        fn,
        _snapshot_lr,
        [
            (0.1, 10, 0),  # the start of the first cycle: lr_max
            (0.1, 10, 5),  # half way: lr_max / 2
            (0.1, 10, 9),  # the last step of a cycle: close to 0
            (0.1, 10, 10),  # the restart: back to lr_max
            (0.4, 7, 23),  # inside the fourth cycle
            (1.0, 1, 3),  # one-step cycles: always lr_max
        ],
        hint="use the position inside the cycle, step % cycle_steps, in lr_max/2 * (1 + cos(pi * pos / T)).",
        tol=1e-9,
    )


def _average(logits: torch.Tensor) -> torch.Tensor:
    return logits.softmax(-1).mean(0)


def snapshot_average(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(logits)``: ``(M, N, K)`` logits of M snapshots -> ``(N, K)`` mean of their softmax.

    >>> snapshot_average(lambda z: z.softmax(-1).mean(0))
    ✅ snapshot_average: right on all 4 cases.
    """
    g = torch.Generator().manual_seed(0)
    compare(
        "snapshot_average",
        fn,
        _average,
        [
            (torch.randn(3, 5, 4, generator=g),),
            (torch.randn(1, 2, 3, generator=g),),  # one snapshot: its own softmax
            # confident and unsure snapshots: averaging logits would give a different answer
            (torch.tensor([[[8.0, 0.0, 0.0]], [[0.0, 1.0, 0.9]], [[0.0, 1.0, 0.9]]]),),
            (torch.zeros(2, 3, 5),),  # all zeros: uniform probabilities
        ],
        hint="take softmax over the last dimension of each snapshot first, then the mean over snapshots (dim 0).",
    )


def _disagree(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.argmax(-1) != b.argmax(-1)).float().mean().item()


def pairwise_disagreement(fn: Callable[[torch.Tensor, torch.Tensor], float]) -> None:
    """Check ``fn(logits_a, logits_b)``: the fraction of examples where two models' top classes differ.

    >>> pairwise_disagreement(lambda a, b: (a.argmax(-1) != b.argmax(-1)).float().mean().item())
    ✅ pairwise_disagreement: right on all 4 cases.
    """
    g = torch.Generator().manual_seed(1)
    a = torch.randn(50, 4, generator=g)
    compare(
        "pairwise_disagreement",
        fn,
        _disagree,
        [
            (a, a.clone()),  # a model agrees with itself
            (a, torch.randn(50, 4, generator=g)),
            (a, 3 * a + 1),  # same ranking, different scale: full agreement
            (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 1.0], [0.0, 1.0]])),
        ],
        hint="compare the argmax over classes of both, and average the mismatches into a float.",
    )
