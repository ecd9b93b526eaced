"""Each checker of the snapshot-ensembles chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import ensembles as C


def test_snapshot_schedule():
    C.snapshot_schedule(lambda a, T, t: a / 2 * (1 + math.cos(math.pi * (t % T) / T)))
    with pytest.raises(CheckFailed):  # forgot the restart
        C.snapshot_schedule(lambda a, T, t: a / 2 * (1 + math.cos(math.pi * t / T)))
    with pytest.raises(CheckFailed):  # not implemented
        C.snapshot_schedule(lambda a, T, t: (_ for _ in ()).throw(NotImplementedError))


def test_snapshot_average():
    C.snapshot_average(lambda z: z.softmax(-1).mean(0))
    with pytest.raises(CheckFailed):  # averaged the logits instead of the probabilities
        C.snapshot_average(lambda z: z.mean(0).softmax(-1))


def test_pairwise_disagreement():
    C.pairwise_disagreement(lambda a, b: (a.argmax(-1) != b.argmax(-1)).float().mean().item())
    with pytest.raises(CheckFailed):  # agreement instead of disagreement
        C.pairwise_disagreement(lambda a, b: (a.argmax(-1) == b.argmax(-1)).float().mean().item())


def test_calibration_error():
    from lrcourse.ensembles import expected_calibration_error

    C.calibration_error(expected_calibration_error)

    def accuracy_gap_only(p, y, bins):  # no binning: |mean accuracy - mean confidence| over all examples
        conf, pred = p.max(-1)
        return abs((pred == y).float().mean().item() - conf.mean().item())

    with pytest.raises(CheckFailed, match="calibration_error"):
        C.calibration_error(accuracy_gap_only)


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
