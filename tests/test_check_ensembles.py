"""Each checker of the snapshot-ensembles chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import ensembles as C


def test_pairwise_disagreement():
    C.pairwise_disagreement(lambda a, b: (a.argmax(-1) != b.argmax(-1)).float().mean().item())
    with pytest.raises(CheckFailed):  # agreement instead of disagreement
        C.pairwise_disagreement(lambda a, b: (a.argmax(-1) == b.argmax(-1)).float().mean().item())


def _equal_mass(p, y, bins, descending=False, weighted=True):
    conf, pred = p.max(-1)
    right = (pred == y).float()
    order = conf.argsort(descending=descending)
    sizes = [len(order) // bins + (1 if k < len(order) % bins else 0) for k in range(bins)]
    total, start = 0.0, 0
    for n in sizes:
        group = order[start : start + n]
        start += n
        if n:
            gap = abs(right[group].mean().item() - conf[group].mean().item())
            total += (n / len(order) if weighted else 1 / min(bins, len(order))) * gap
    return total


def test_equal_mass_ece_right(capsys):
    C.equal_mass_ece(_equal_mass)
    C.equal_mass_ece(lambda p, y, bins: torch.tensor(_equal_mass(p, y, bins)))  # a 0-d tensor is fine
    assert capsys.readouterr().out.count("✅") == 2


def test_equal_mass_ece_wrong():
    from lrcourse.ensembles import expected_calibration_error

    def accuracy_gap_only(p, y, bins):  # no binning: |mean accuracy - mean confidence| over all examples
        conf, pred = p.max(-1)
        return abs((pred == y).float().mean().item() - conf.mean().item())

    wrongs = [
        expected_calibration_error,  # equal-width bins
        accuracy_gap_only,
        lambda p, y, bins: _equal_mass(p, y, bins, descending=True),  # the larger groups at the confident end
        lambda p, y, bins: _equal_mass(p, y, bins, weighted=False),  # every group weighs the same
    ]
    for wrong in wrongs:
        with pytest.raises(CheckFailed, match="equal_mass_ece"):
            C.equal_mass_ece(wrong)


def test_last_k_nll():
    def right(p, y):
        return [torch.nn.functional.nll_loss(p[-k:].mean(0).log(), y).item() for k in range(1, len(p) + 1)]

    C.last_k_nll(right)

    def first_k(p, y):
        return [torch.nn.functional.nll_loss(p[:k].mean(0).log(), y).item() for k in range(1, len(p) + 1)]

    def mean_of_losses(p, y):  # averages the members' losses, not their probabilities
        return [
            sum(torch.nn.functional.nll_loss(q.log(), y).item() for q in p[-k:]) / k for k in range(1, len(p) + 1)
        ]

    for wrong in (first_k, mean_of_losses):
        with pytest.raises(CheckFailed, match="last_k_nll"):
            C.last_k_nll(wrong)
