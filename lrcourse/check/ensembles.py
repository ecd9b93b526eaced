"""Checkers for the chapter on snapshot ensembles."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import compare

__all__ = ["two_member_accuracy_range", "equal_mass_ece", "last_k_nll"]


def two_member_accuracy_range(fn: Callable[[float, float, float, int], tuple[float, float]]) -> None:
    """Check ``fn(err_a, err_b, disagreement, n_classes)``: the lowest and highest accuracy the
    average of two members' probabilities can have, given only their error rates and how often
    their top classes differ (shares of a large test set, ties aside), as ``(lowest, highest)``.

    >>> two_member_accuracy_range(lambda ea, eb, d, k: (1 - max(ea, eb), 1 - min(ea, eb) + d))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ two_member_accuracy_range(0.2, 0.2, 0.1, 10): expected [0.75, 0.9], got [0.8, 0.9]. Hint: ...
    """
    compare(
        "two_member_accuracy_range",
        lambda *a: torch.tensor([float(v) for v in fn(*a)], dtype=torch.float64),
        None,
        [
            (0.2, 0.2, 0.1, 10),
            (0.2, 0.2, 0.1, 2),  # two classes: two wrong members always agree
            (0.1, 0.3, 0.25, 10),
            (0.3, 0.3, 0.0, 5),  # the same predictions everywhere: the ensemble is either member
            (0.4, 0.5, 0.6, 10),  # the highest is capped at 1
            (0.7, 0.8, 0.9, 10),  # the lowest is capped at 0
            (0.1, 0.15, 0.05, 2),
            (0.0, 0.1, 0.1, 3),  # one member is never wrong
        ],
        hint="sort the examples into kinds: both members right; one right, the other wrong; both wrong on the "
        "same class; both wrong on different classes. For each kind, must the average of the probabilities be "
        "right, must it be wrong, or can it go either way? Then write the errors and the disagreement as sums of "
        "the kinds' shares and push the free kinds to one end or the other; mind which kind two classes rule out.",
    )


def equal_mass_ece(fn: Callable[[torch.Tensor, torch.Tensor, int], float]) -> None:
    """Check ``fn(probs, labels, bins)``: the expected calibration error with ``bins`` equal-mass bins.

    The examples, sorted by confidence (their largest probability), are cut into ``bins``
    consecutive groups whose sizes differ by at most one, the larger groups first; the error is
    the sum over groups of (share of examples) × |accuracy − mean confidence|.

    >>> equal_mass_ece(lambda p, y, b: 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ equal_mass_ece([[0.012690708972513676, 0.02541065774857998, 0.9398318529..., [1, 1, 3, 3, 2, 0, 0, 0, 2, 3, 3, 3, 3, 0, 0, 1, 2, 2, 0,..., 15): expected 0.16852284550666813, got 0.0. Hint: ...
    """
    g = torch.Generator().manual_seed(2)
    rand = torch.randn(200, 4, generator=g, dtype=torch.float64).mul(2).softmax(-1).float()
    # right on about 60%: over-confident in some groups, under-confident in others
    rand_y = torch.where(torch.rand(200, generator=g, dtype=torch.float64) < 0.5, rand.argmax(-1),
                         torch.randint(0, 4, (200,), generator=g))
    # a confident model, right on about two thirds: equal-width bins would put most of it in the top bin
    sure = torch.randn(60, 10, generator=g, dtype=torch.float64).mul(8).softmax(-1).float()
    sure_y = torch.where(torch.rand(60, generator=g, dtype=torch.float64) < 0.7, sure.argmax(-1),
                         torch.randint(0, 10, (60,), generator=g))
    compare(
        "equal_mass_ece",
        lambda p, y, b: float(fn(p, y, b)),
        None,
        [
            (rand, rand_y, 15),  # 200 examples: five groups of 14, then ten of 13
            (rand, rand_y, 1),  # one group: |accuracy - mean confidence|
            (rand[:7], rand_y[:7], 3),  # groups of 3, 2 and 2
            (rand, rand_y, 200),  # one example per group
            (sure, sure_y, 10),
            (torch.tensor([[0.5, 0.3, 0.2], [0.8, 0.1, 0.1]]), torch.tensor([1, 0]), 5),  # more groups than examples
        ],
        hint="sort the examples by confidence (the largest probability) and cut the sorted order into bins "
        "consecutive groups, sizes as equal as possible and the larger ones first (torch.tensor_split cuts that "
        "way); then weigh each group's |accuracy - mean confidence| by its share of the examples, and skip "
        "empty groups.",
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
        hint="the ensemble of the last k members averages their probabilities (the members taken last, not "
        "first); its loss is the mean negative log-probability of the true class, for every k from 1 to M.",
        tol=1e-5,
    )
