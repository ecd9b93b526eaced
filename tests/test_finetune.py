"""Unit tests of lrcourse.finetune: layer groups, discriminative LRs, freezing, gradual unfreezing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lrcourse import finetune as FT
from lrcourse import models
from lrcourse.data import Data, load
from lrcourse.train import fit


def test_layer_groups_skip_parameterless_children():
    m = models.cnn1d(40, 10, channels=8)  # Unflatten, three conv blocks, head
    groups = FT.layer_groups(m)
    assert len(groups) == 4 and groups[-1] is m[-1]
    with pytest.raises(ValueError):
        FT.layer_groups(nn.Linear(2, 2))  # no children
    with pytest.raises(ValueError):
        FT.layer_groups(nn.Sequential(nn.ReLU(), nn.Flatten()))  # no parameters


def test_discriminative_lrs():
    lrs = FT.discriminative_lrs(0.026, 3, factor=2.6)
    assert lrs[-1] == 0.026
    assert lrs[1] == pytest.approx(0.01) and lrs[0] == pytest.approx(0.01 / 2.6)
    assert FT.discriminative_lrs(0.1, 4, factor=1.0) == [0.1] * 4
    for bad in [dict(lr_head=0.0, n_groups=2), dict(lr_head=0.1, n_groups=0), dict(lr_head=0.1, n_groups=2, factor=0.5)]:
        with pytest.raises(ValueError):
            FT.discriminative_lrs(**bad)


def test_discriminative_groups_are_head_first_and_cover_every_parameter():
    m = models.mlp(6, 3, hidden=(8, 8))
    groups = FT.discriminative_groups(m, 0.1, factor=2.0, weight_decay=1e-3)
    assert [g["lr"] for g in groups] == pytest.approx([0.1, 0.05, 0.025])
    assert groups[0]["params"][0] is m[-1].weight  # the head comes first
    assert all(g["weight_decay"] == 1e-3 for g in groups)
    ids = sorted(id(p) for g in groups for p in g["params"])
    assert ids == sorted(id(p) for p in m.parameters())
    custom = FT.discriminative_groups(m, 0.1, lrs=[1.0, 2.0, 3.0])
    assert [g["lr"] for g in custom] == [3.0, 2.0, 1.0]
    with pytest.raises(ValueError, match="one per group"):
        FT.discriminative_groups(m, 0.1, lrs=[1.0, 2.0])


def test_fit_keeps_the_ratios_between_groups():
    d = load("blobs", n_train=64, n_test=32, device="cpu")
    m = models.mlp(2, 3, hidden=(8,))
    opt = torch.optim.SGD(FT.discriminative_groups(m, 0.1, factor=4.0), lr=0.1)
    h = fit(m, d, opt, 1, schedule=lambda t: 0.2, batch_size=32, seed=0, progress=False)
    assert h.lr == [0.2, 0.2]
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.2, 0.05])


def test_freeze_and_unfreeze_top():
    m = models.mlp(6, 3, hidden=(8, 8))
    assert FT.trainable_groups(FT.freeze(m, 2)) == [False, False, True]
    assert FT.trainable_groups(FT.unfreeze_top(m, 2)) == [False, True, True]
    assert FT.trainable_groups(FT.freeze(m, 0)) == [True, True, True]
    with pytest.raises(ValueError):
        FT.freeze(m, 4)
    with pytest.raises(ValueError):
        FT.unfreeze_top(m, -1)


def test_frozen_groups_do_not_move_in_training():
    torch.manual_seed(0)
    d = load("blobs", n_train=64, n_test=32, device="cpu")
    m = models.mlp(2, 3, hidden=(8, 8))
    before = [p.detach().clone() for p in m.parameters()]
    FT.unfreeze_top(m, 1)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    fit(m, d, opt, 2, batch_size=16, seed=0, progress=False)
    moved = [not torch.equal(a, b) for a, b in zip(before, m.parameters())]
    assert moved == [False, False, False, False, True, True]  # only the head's weight and bias


def test_gradual_unfreeze_one_group_per_epoch():
    m = models.mlp(6, 3, hidden=(8, 8, 8))
    cb = FT.GradualUnfreeze(m)
    seen = [FT.trainable_groups(m)]
    for epoch in range(1, 5):
        cb(epoch, m, None)
        seen.append(FT.trainable_groups(m))
    assert seen == [
        [False, False, False, True],
        [False, False, True, True],
        [False, True, True, True],
        [True, True, True, True],
        [True, True, True, True],
    ]
    m2 = models.mlp(6, 3, hidden=(8, 8))
    cb2 = FT.GradualUnfreeze(m2, every=2)
    cb2(1, m2, None)
    assert FT.trainable_groups(m2) == [False, False, True]
    cb2(2, m2, None)
    assert FT.trainable_groups(m2) == [False, True, True]
    with pytest.raises(ValueError):
        FT.GradualUnfreeze(m2, every=0)


def test_resnet18_groups_fine_tune_with_gradual_unfreezing():
    """Chapter 12's gpu path (ImageNet ResNet-18 on CIFAR-10), with random weights and tiny data."""
    m = models.pretrained_resnet18(num_classes=4, weights=None)
    assert len(FT.layer_groups(m)) == 6
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 3, 32, 32, generator=g), torch.randint(0, 4, (16,), generator=g)
    data = Data("tiny images", x, y, x[:8], y[:8], num_classes=4)
    opt = torch.optim.SGD(FT.discriminative_groups(m, 0.05, factor=2.6), lr=0.05, momentum=0.9)
    assert [grp["lr"] for grp in opt.param_groups] == pytest.approx([0.05 / 2.6**k for k in range(6)])
    before = [[p.detach().clone() for p in grp.parameters()] for grp in FT.layer_groups(m)]
    cb = FT.GradualUnfreeze(m)
    fit(m, data, opt, 2, batch_size=8, seed=0, progress=False, on_epoch_end=cb)
    moved = [
        any(not torch.equal(a, b) for a, b in zip(old, grp.parameters()))
        for old, grp in zip(before, FT.layer_groups(m))
    ]
    # epoch 1 trains the head, epoch 2 the head and stage 4; stage 3 opens only after the last epoch
    assert moved == [False, False, False, False, True, True]
    assert FT.trainable_groups(m) == [False, False, False, True, True, True]


def test_resnet18_without_weights_is_one_clear_sentence(monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(torchvision.models, "resnet18", offline)
    with pytest.raises(RuntimeError, match="could not be had .OSError.; connect to the internet once"):
        models.pretrained_resnet18()
    with pytest.raises(ValueError, match="num_classes"):
        models.pretrained_resnet18(num_classes=0)
