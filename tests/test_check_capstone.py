"""Each checker of the capstone chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import math

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import capstone as C


def _split(model, wd):
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    return [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]


def test_decay_split():
    C.decay_split(_split)
    with pytest.raises(CheckFailed):  # decays everything, BatchNorm scales and biases included
        C.decay_split(lambda m, wd: [{"params": list(m.parameters()), "weight_decay": wd}])
    with pytest.raises(CheckFailed):  # forgets the biases altogether
        C.decay_split(lambda m, wd: _split(m, wd)[:1])


def _wc(lr, w, total, t):
    if t < w:
        return lr * t / w
    return lr * (1 + math.cos(math.pi * (t - w) / (total - w))) / 2


def test_warmup_cosine_lr():
    C.warmup_cosine_lr(_wc)
    with pytest.raises(CheckFailed):  # cosine over the whole run instead of after the warm-up
        C.warmup_cosine_lr(lambda lr, w, T, t: lr * t / w if t < w else lr * (1 + math.cos(math.pi * t / T)) / 2)


def test_epochs_to_accuracy():
    C.epochs_to_accuracy(lambda acc, target: next((i + 1 for i, a in enumerate(acc) if a >= target), None))
    with pytest.raises(CheckFailed):  # counts epochs from 0
        C.epochs_to_accuracy(lambda acc, target: next((i for i, a in enumerate(acc) if a >= target), None))
