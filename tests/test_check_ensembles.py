"""Each checker of the snapshot-ensembles chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import math

import pytest

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
