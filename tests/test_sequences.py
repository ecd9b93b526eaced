"""Tests of lrcourse.sequences: the adding problem and the recurrent regressor."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

import lrcourse
from lrcourse import sequences
from lrcourse.sequences import BASELINE_MSE, RecurrentRegressor, adding, adding_problem, rnn_jacobian_norms


def test_adding_problem_targets_are_the_sum_of_the_marked_values() -> None:
    x, y = adding_problem(200, 12, generator=torch.Generator().manual_seed(1))
    marks = x[..., 1]
    assert bool((marks.sum(1) == 2).all())
    # one mark in each half
    assert bool((marks[:, :6].sum(1) == 1).all()) and bool((marks[:, 6:].sum(1) == 1).all())
    assert torch.allclose((x[..., 0] * marks).sum(1), y)
    assert 0.0 <= float(x[..., 0].min()) and float(x[..., 0].max()) <= 1.0


def test_constant_prediction_gives_the_baseline_mse() -> None:
    _, y = adding_problem(20000, 10, generator=torch.Generator().manual_seed(0))
    mse = F.mse_loss(torch.ones_like(y), y).item()
    assert abs(mse - BASELINE_MSE) < 0.01


def test_adding_is_repeatable_and_seeded() -> None:
    a, b, c = adding(16, 8, length=5, seed=3), adding(16, 8, length=5, seed=3), adding(16, 8, length=5, seed=4)
    assert torch.equal(a.x_train, b.x_train) and not torch.equal(a.x_train, c.x_train)
    assert a.x_test.shape == (8, 5, 2) and a.y_train.dtype == torch.float32


def test_bad_sizes_give_one_clear_sentence() -> None:
    with pytest.raises(ValueError, match="length >= 2"):
        adding_problem(4, 1)
    with pytest.raises(ValueError, match="'rnn' or 'lstm'"):
        RecurrentRegressor(2, 4, cell="gru")


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_regressor_trains_with_fit_and_mse(cell: str) -> None:
    torch.manual_seed(0)
    d = adding(256, 64, length=6, seed=0, device="cpu")
    m = RecurrentRegressor(2, 16, cell=cell)
    h = lrcourse.fit(m, d, torch.optim.Adam(m.parameters(), lr=1e-2), 3, loss=F.mse_loss, batch_size=32, seed=0, progress=False)
    assert h.steps == 24 and not h.diverged
    assert h.final("train_loss") < h.loss[0]
    assert h.final("test_acc") != h.final("test_acc")  # NaN: regression has no accuracy


def test_jacobian_norms_match_autograd() -> None:
    torch.manual_seed(0)
    m = RecurrentRegressor(2, 5)
    x = torch.rand(1, 7, 2)
    norms = rnn_jacobian_norms(m, x)
    # ∂h_T/∂h_2 by autograd: rerun the recurrence from a leaf h_2
    hs, _ = m.rnn(x)
    h = hs[0, 2].detach().requires_grad_(True)

    def tail(h0: torch.Tensor) -> torch.Tensor:
        out, _ = m.rnn(x[:, 3:], h0.view(1, 1, -1))
        return out[0, -1]

    jac = torch.autograd.functional.jacobian(tail, h)
    assert abs(torch.linalg.matrix_norm(jac, ord=2).item() - norms[2].item()) < 1e-5
    assert norms.shape == (7,) and abs(norms[-1].item() - 1.0) < 1e-6


def test_windowed_sums() -> None:
    d = sequences.windowed_sums(20, 10, length=12, window=3, seed=1, device="cpu")
    assert d.x_train.shape == (20, 12, 1) and d.y_test.shape == (10, 12)
    x = torch.cat([d.x_train, d.x_test])[..., 0]
    y = torch.cat([d.y_train, d.y_test])
    for t in range(12):
        assert torch.allclose(y[:, t], x[:, max(0, t - 2) : t + 1].sum(1), atol=1e-6)
    again = sequences.windowed_sums(20, 10, length=12, window=3, seed=1, device="cpu")
    assert torch.equal(again.x_train, d.x_train)
    with pytest.raises(ValueError, match="window"):
        sequences.windowed_sums(20, 10, length=12, window=0)
