"""Unit tests of lrcourse.ensembles: schedule, snapshot collection (memory and disk), averaging, disagreement."""

from __future__ import annotations

import math
import os

import pytest
import torch
from torch import nn

from lrcourse import ensembles as E
from lrcourse import schedules as sch
from lrcourse.data import load


def test_the_snapshot_schedule_is_cosine_restarts_bit_for_bit():
    """Huang et al.'s formula, max_lr/2 * (1 + cos(pi (t mod T) / T)), is SGDR with one cycle length:
    fit_snapshots uses schedules.cosine_restarts, and the two agree exactly (halving is exact in floating point)."""
    for max_lr, T in [(0.1, 10), (0.37, 7), (1.0, 1), (0.5, 25), (3e-3, 96)]:
        f = sch.cosine_restarts(max_lr, T_0=T)
        p = nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=max_lr)
        torch_sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=T, eta_min=0.0)
        for step in range(5 * T + 3):
            assert f(step) == max_lr / 2 * (1 + math.cos(math.pi * (step % T) / T)), (max_lr, T, step)
            assert math.isclose(f(step), opt.param_groups[0]["lr"], rel_tol=1e-9, abs_tol=1e-12), (max_lr, T, step)
            opt.step()
            torch_sched.step()


def test_cycle_ends():
    assert E.cycle_ends(30, 3) == [10, 20, 30]
    assert E.cycle_ends(5, 1) == [5]
    with pytest.raises(ValueError, match="evenly"):
        E.cycle_ends(10, 3)
    with pytest.raises(ValueError):
        E.cycle_ends(10, 0)


def _perturb(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)


def test_snapshots_in_memory_are_copies_taken_at_the_right_epochs():
    m = nn.Linear(3, 2)
    snaps = E.Snapshots(at=[2, 4])
    for epoch in range(1, 5):
        _perturb(m, float(epoch))
        snaps(epoch, m, None)
    assert snaps.epochs == [2, 4]
    # later changes to the model must not leak into stored snapshots
    _perturb(m, 99.0)
    assert snaps.state(0)["weight"].eq(2.0).all()
    assert snaps.state(1)["weight"].eq(4.0).all()
    loaded = list(snaps.models(m))
    assert [mm.weight[0, 0].item() for mm in loaded] == [2.0, 4.0]
    assert all(not mm.training for mm in loaded)


def test_snapshots_on_disk_are_written_atomically(tmp_path):
    m = nn.Linear(3, 2)
    snaps = E.Snapshots(at=[1, 3], directory=tmp_path / "snaps")
    for epoch in range(1, 4):
        _perturb(m, float(epoch))
        snaps(epoch, m, None)
    files = sorted(os.listdir(tmp_path / "snaps"))
    assert files == ["snapshot_0001.pt", "snapshot_0003.pt"]  # no temporary files left behind
    assert snaps.state(1)["bias"].eq(3.0).all()
    assert snaps._states == []  # nothing kept in memory


def test_snapshots_rejects_bad_epochs():
    with pytest.raises(ValueError):
        E.Snapshots(at=[])
    with pytest.raises(ValueError):
        E.Snapshots(at=[0, 3])


def test_average_softmax_is_mean_of_probabilities_not_of_logits():
    a, b = nn.Linear(2, 3), nn.Linear(2, 3)
    with torch.no_grad():
        a.weight.zero_(), b.weight.zero_()
        a.bias.copy_(torch.tensor([8.0, 0.0, 0.0]))
        b.bias.copy_(torch.tensor([0.0, 1.0, 0.9]))
    x = torch.zeros(4, 2)
    p = E.average_softmax([a, b], x)
    expected = (a(x).softmax(-1) + b(x).softmax(-1)) / 2
    assert torch.allclose(p, expected)
    assert not torch.allclose(p, ((a(x) + b(x)) / 2).softmax(-1))
    with pytest.raises(ValueError):
        E.average_softmax([], x)


def test_average_softmax_accuracy_and_disagreement():
    x = torch.eye(3)
    y = torch.tensor([0, 1, 2])
    right, wrong = nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        right.weight.copy_(torch.eye(3))
        wrong.weight.copy_(torch.eye(3)[[1, 2, 0]])  # predicts the next class everywhere
    assert torch.equal(E.average_softmax([right], x).argmax(-1), y)
    assert not (E.average_softmax([wrong], x).argmax(-1) == y).any()
    d = E.disagreement([right, wrong, right], x)
    assert d.shape == (3, 3)
    assert torch.equal(d, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))


def test_fit_snapshots_follows_the_schedule_and_snapshots_each_cycle(tmp_path):
    torch.manual_seed(0)
    d = load("blobs", n_train=256, n_test=128, device="cpu")
    m = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    seen = []
    h, s = E.fit_snapshots(
        m, d, opt, 6, 3, 0.5, batch_size=64, seed=0, progress=False, directory=tmp_path,
        on_epoch_end=lambda e, model, hist: seen.append(e),
    )
    assert s.epochs == [2, 4, 6] and seen == [1, 2, 3, 4, 5, 6]
    # 4 steps per epoch, 8 per cycle: the lr restarts at max_lr at steps 0, 8 and 16
    assert [h.lr[i] for i in (0, 8, 16)] == [0.5, 0.5, 0.5]
    assert h.lr[7] < 0.05 and h.lr[4] == pytest.approx(0.25)
    # the final snapshot is the trained model itself
    last = list(s.models(m))[-1]
    assert all(torch.equal(a, b) for a, b in zip(last.state_dict().values(), m.state_dict().values()))
    assert (E.average_softmax(list(s.models(m)), d.x_test).argmax(-1) == d.y_test).float().mean() > 0.8


def test_expected_calibration_error():
    from lrcourse.ensembles import expected_calibration_error as ece

    y = torch.tensor([0, 1, 2, 0])
    onehot = torch.nn.functional.one_hot(y, 3).float()
    assert ece(onehot, y) == 0.0  # sure and right: perfectly calibrated
    assert abs(ece(onehot.roll(1, dims=1), y) - 1.0) < 1e-6  # sure and always wrong
    uniform = torch.full((4, 3), 1 / 3)
    assert abs(ece(uniform, torch.tensor([0, 0, 1, 2])) - abs(0.5 - 1 / 3)) < 1e-6  # one bin: |acc - conf|
    g = torch.Generator().manual_seed(0)
    p = torch.randn(500, 5, generator=g).softmax(-1)
    labels = torch.randint(0, 5, (500,), generator=g)
    assert 0.0 <= ece(p, labels, bins=10) <= 1.0
    with pytest.raises(ValueError):
        ece(p, labels[:10])
