"""Checkers for the chapter on snapshot ensembles."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from . import compare

__all__ = ["snapshot_schedule", "snapshot_average", "pairwise_disagreement", "calibration_error", "last_k_nll"]


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


def _ece(probs: torch.Tensor, labels: torch.Tensor, bins: int) -> float:
    from ..ensembles import expected_calibration_error

    return expected_calibration_error(probs, labels, bins)


def calibration_error(fn: Callable[[torch.Tensor, torch.Tensor, int], float]) -> None:
    """Check ``fn(probs, labels, bins)``: the expected calibration error with ``bins`` equal bins on (0, 1].

    >>> from lrcourse.ensembles import expected_calibration_error as ece
    >>> calibration_error(ece)
    ✅ calibration_error: right on all 5 cases.
    """
    g = torch.Generator().manual_seed(2)
    rand = torch.randn(200, 4, generator=g).mul(2).softmax(-1)
    rand_y = torch.randint(0, 4, (200,), generator=g)
    sure = torch.tensor([[0.99, 0.01], [0.99, 0.01], [0.99, 0.01], [0.99, 0.01]])
    compare(
        "calibration_error",
        lambda p, y, b: float(fn(p, y, b)),
        _ece,
        [
            (sure, torch.tensor([0, 0, 0, 0]), 10),  # confident and right: 0.01 off
            (sure, torch.tensor([1, 1, 0, 0]), 10),  # confident and half wrong: 0.49 off
            (torch.tensor([[0.5, 0.3, 0.2], [0.8, 0.1, 0.1]]), torch.tensor([1, 0]), 2),  # two bins
            (rand, rand_y, 15),
            (rand, rand_y, 1),  # one bin: |accuracy - mean confidence|
        ],
        hint="confidence = max probability; put example i in bin ceil(conf * bins) - 1; sum over bins of "
        "(share of examples) * |accuracy - mean confidence| in that bin.",
        tol=1e-5,
    )


def _last_k(member_probs: torch.Tensor, labels: torch.Tensor) -> list[float]:
    out = []
    for k in range(1, len(member_probs) + 1):
        p = member_probs[-k:].mean(0)
        out.append(-p[torch.arange(len(labels)), labels].clamp_min(1e-12).log().mean().item())
    return out


def last_k_nll(fn: Callable[[torch.Tensor, torch.Tensor], list[float]]) -> None:
    """Check ``fn(member_probs, labels)``: the test loss (NLL) of the ensemble of the last ``k`` members, k = 1..M.

    ``member_probs`` has shape ``(M, N, K)`` (each member's probabilities, in the order the
    snapshots were taken); the answer is a list of ``M`` floats, entry ``k − 1`` for the last ``k``.

    >>> def ans(p, y):
    ...     return [torch.nn.functional.nll_loss(p[-k:].mean(0).log(), y).item() for k in range(1, len(p) + 1)]
    >>> last_k_nll(ans)
    ✅ last_k_nll: right on all 3 cases.
    """
    g = torch.Generator().manual_seed(3)
    probs = torch.randn(4, 30, 5, generator=g).mul(3).softmax(-1)
    labels = torch.randint(0, 5, (30,), generator=g)
    compare(
        "last_k_nll",
        lambda p, y: torch.tensor([float(v) for v in fn(p, y)]),
        lambda p, y: torch.tensor(_last_k(p, y)),
        [
            (probs, labels),
            (probs[:1], labels),  # one member: its own loss
            # the first (oldest) member is sure and wrong: it hurts every k that includes it
            (torch.tensor([[[0.98, 0.02]], [[0.3, 0.7]], [[0.2, 0.8]]]), torch.tensor([1])),
        ],
        hint="for k = 1..M average the probabilities of member_probs[-k:] (the LAST k), then take the mean "
        "of -log p(true class).",
        tol=1e-5,
    )
