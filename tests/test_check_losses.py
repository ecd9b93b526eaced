"""Chapter 10's checkers accept the right answer and reject typical wrong ones."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from lrcourse.check import CheckFailed
from lrcourse.check import losses as chk
from tests.references.losses import ce_mse, logit_square


def test_stable_softmax():
    def right(z):
        e = (z - z.max(-1, keepdim=True).values).exp()
        return e / e.sum(-1, keepdim=True)

    chk.stable_softmax(right)
    chk.stable_softmax(lambda z: (z - torch.logsumexp(z, -1, keepdim=True)).exp())  # right too, to float32's rounding
    with pytest.raises(CheckFailed, match="stable_softmax"):
        chk.stable_softmax(lambda z: z.exp() / z.exp().sum(-1, keepdim=True))  # overflows at 1000


def test_ce_mse_matches_the_library_loss():
    from lrcourse.train import mse_onehot

    z, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 0])
    assert torch.allclose(ce_mse(z, y), mse_onehot(z, y))


def test_uniform_grad_ratio():
    chk.uniform_grad_ratio(lambda k: 2 / k)
    with pytest.raises(CheckFailed):
        chk.uniform_grad_ratio(lambda k: 1 / k)  # forgets the 2 of the square
    with pytest.raises(CheckFailed):
        chk.uniform_grad_ratio(lambda k: 2 / k * (1 - 1 / k))  # a Jacobian term that vanishes at p = 1/K


def test_logit_square_grad():
    chk.logit_square_grad(lambda z, y: 2 * (z - F.one_hot(y, z.shape[-1])) / len(y))
    with pytest.raises(CheckFailed):
        chk.logit_square_grad(lambda z, y: 2 * (z - F.one_hot(y, z.shape[-1])))  # forgets the mean
    with pytest.raises(CheckFailed):  # puts the softmax back in
        chk.logit_square_grad(lambda z, y: 2 * (z.softmax(-1) - F.one_hot(y, z.shape[-1])) / len(y))


def test_logit_square_matches_the_chapter_loss():
    z, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 0])
    expected = F.mse_loss(z, F.one_hot(y, 4).float(), reduction="sum") / 5
    assert torch.allclose(logit_square(z, y), expected)
