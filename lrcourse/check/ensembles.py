"""Checkers for the chapter on snapshot ensembles."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import compare

__all__ = ["snapshot_schedule", "snapshot_average", "pairwise_disagreement", "calibration_error", "last_k_nll"]





def snapshot_schedule(fn: Callable[[float, int, int], float]) -> None:
    """Check ``fn(lr_max, cycle_steps, step)``: the cosine that restarts every ``cycle_steps`` steps.

    >>> snapshot_schedule(lambda a, T, t: a)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ snapshot_schedule(0.1, 10, 5): expected 0.05, got 0.1. Hint: ...
    """
    compare(
        "snapshot_schedule",
        fn,
        None,
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





def snapshot_average(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(logits)``: ``(M, N, K)`` logits of M snapshots -> ``(N, K)`` mean of their softmax.

    >>> snapshot_average(lambda z: z.mean(0).softmax(-1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ snapshot_average([[[-2.3104116916656494, -0.3732508718967438, -1.060816645...): expected [[0.15829448401927948, 0.20563004910945892, 0.14418683946..., got [[0.141192.... Hint: ...
    """
    g = torch.Generator().manual_seed(0)
    compare(
        "snapshot_average",
        fn,
        None,
        [
            (torch.randn(3, 5, 4, generator=g, dtype=torch.float64).float(),),
            (torch.randn(1, 2, 3, generator=g, dtype=torch.float64).float(),),  # one snapshot: its own softmax
            # confident and unsure snapshots: averaging logits would give a different answer
            (torch.tensor([[[8.0, 0.0, 0.0]], [[0.0, 1.0, 0.9]], [[0.0, 1.0, 0.9]]]),),
            (torch.zeros(2, 3, 5),),  # all zeros: uniform probabilities
        ],
        hint="take softmax over the last dimension of each snapshot first, then the mean over snapshots (dim 0).",
    )





def pairwise_disagreement(fn: Callable[[torch.Tensor, torch.Tensor], float]) -> None:
    """Check ``fn(logits_a, logits_b)``: the fraction of examples where two models' top classes differ.

    >>> pairwise_disagreement(lambda a, b: 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ pairwise_disagreement([[-0.31128954887390137, -0.7130302786827087, -0.729068160..., [[0.41228148341178894, -0.5804349184036255, 2.26599645614...): expected 0.7599999904632568, got 0.0. Hint: ...
    """
    g = torch.Generator().manual_seed(1)
    a = torch.randn(50, 4, generator=g, dtype=torch.float64).float()
    compare(
        "pairwise_disagreement",
        fn,
        None,
        [
            (a, a.clone()),  # a model agrees with itself
            (a, torch.randn(50, 4, generator=g, dtype=torch.float64).float()),
            (a, 3 * a + 1),  # same ranking, different scale: full agreement
            (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 1.0], [0.0, 1.0]])),
        ],
        hint="compare the argmax over classes of both, and average the mismatches into a float.",
    )





def calibration_error(fn: Callable[[torch.Tensor, torch.Tensor, int], float]) -> None:
    """Check ``fn(probs, labels, bins)``: the expected calibration error with ``bins`` equal bins on (0, 1].

    >>> calibration_error(lambda p, y, b: 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ calibration_error([[0.9900000095367432, 0.009999999776482582], [0.990000009..., [0, 0, 0, 0], 10): expected 0.009999990463256836, got 0.0. Hint: ...
    """
    g = torch.Generator().manual_seed(2)
    rand = torch.randn(200, 4, generator=g, dtype=torch.float64).mul(2).softmax(-1).float()
    rand_y = torch.randint(0, 4, (200,), generator=g)
    sure = torch.tensor([[0.99, 0.01], [0.99, 0.01], [0.99, 0.01], [0.99, 0.01]])
    compare(
        "calibration_error",
        lambda p, y, b: float(fn(p, y, b)),
        None,
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





def last_k_nll(fn: Callable[[torch.Tensor, torch.Tensor], list[float]]) -> None:
    """Check ``fn(member_probs, labels)``: the test loss (NLL) of the ensemble of the last ``k`` members, k = 1..M.

    ``member_probs`` has shape ``(M, N, K)`` (each member's probabilities, in the order the
    snapshots were taken); the answer is a list of ``M`` floats, entry ``k − 1`` for the last ``k``.

    >>> last_k_nll(lambda p, y: [0.0] * len(p))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ last_k_nll([[[0.05343352630734444, 0.15944772958755493, 0.7642753720..., [1, 3, 3, 0, 1, 1, 1, 4, 4, 0, 0, 0, 3, 1, 4, 2, 3, 3, 3,...): expected [3.9749693870544434, 2.4938461780548096, 2.45344614982605..., got [0.0, 0.0, 0.0, 0.0]. Hint: ...
    """
    g = torch.Generator().manual_seed(3)
    probs = torch.randn(4, 30, 5, generator=g, dtype=torch.float64).mul(3).softmax(-1).float()
    labels = torch.randint(0, 5, (30,), generator=g)
    compare(
        "last_k_nll",
        lambda p, y: torch.tensor([float(v) for v in fn(p, y)]),
        None,
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
