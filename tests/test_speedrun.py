"""The fast CIFAR-10 recipe: its pieces, and its whole code path on small format-true CIFAR-10 files."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
import torch
import torchvision

from lrcourse import speedrun as S
from lrcourse.data import load

try:  # the shared writer of format-true CIFAR-10 files
    from tests.synthetic import fake_cifar10
except ImportError:  # older checkouts kept it in test_data
    from tests.test_data import _fake_cifar10 as fake_cifar10  # type: ignore[no-redef]


@pytest.fixture
def cifar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake_cifar10(tmp_path, per_batch=8)  # 40 training and 8 test images in the real pickled layout
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader may warn that these files are synthetic
        return load("cifar10", root=tmp_path, download=False, device="cpu")


def test_train_runs_the_whole_recipe_on_cifar10_files(cifar) -> None:
    r = S.train(cifar, epochs=2.5, batch_size=16, widths=(8, 8, 8), seed=1, whiten_bias_epochs=1)
    assert r.steps == math.ceil(2 * 2.5) and len(r.epoch_loss) == 3 and not r.diverged
    assert 0.0 <= r.accuracy <= 1.0 and 0.0 <= r.tta_accuracy <= 1.0
    assert r.precision == "float32" and r.device == "cpu" and r.seconds > 0


def test_train_is_repeatable_on_the_cpu(cifar) -> None:
    a = S.train(cifar, epochs=1, batch_size=16, widths=(8, 8, 8), seed=3)
    b = S.train(cifar, epochs=1, batch_size=16, widths=(8, 8, 8), seed=3)
    assert a.epoch_loss == b.epoch_loss


def test_a_diverged_run_is_scored_at_chance() -> None:
    d = S.synthetic_cifar10(64, 20)
    r = S.train(d, epochs=2, batch_size=16, widths=(8, 8, 8), schedule=lambda step: math.inf if step > 4 else 1.0)
    assert r.diverged and r.accuracy == r.tta_accuracy == 0.1


def test_the_recipe_learns_the_synthetic_classes() -> None:
    d = S.synthetic_cifar10(512, 200, seed=0)
    r = S.train(d, epochs=4, batch_size=64, widths=(16, 32, 32), seed=0)
    assert r.tta_accuracy > 0.5, r  # chance is 0.1


def test_flip_alternates_so_every_image_is_seen_both_ways() -> None:
    x = torch.randn(6, 3, 4, 4)
    mask = torch.tensor([True, False, True, False, False, True])
    e0, e1 = S.flip(x, mask, 0), S.flip(x, mask, 1)
    for i in range(6):
        assert {e0[i].equal(x[i]), e1[i].equal(x[i])} == {True, False}, i  # as it is in one epoch
        assert {e0[i].equal(x[i].flip(-1)), e1[i].equal(x[i].flip(-1))} == {True, False}, i  # mirrored in the other
    assert e0[0].equal(x[0].flip(-1)) and e0[1].equal(x[1])  # the mask picks the first epoch's flips


def test_translate_shifts_by_at_most_pad_pixels() -> None:
    x = torch.randn(32, 3, 8, 8)
    out = S.translate(x, pad=2, generator=torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (2,) * 4, mode="reflect")
    for i in range(32):
        hits = [(dy, dx) for dy in range(5) for dx in range(5) if out[i].equal(padded[i, :, dy : dy + 8, dx : dx + 8])]
        assert hits, i
    assert not out.equal(x)  # some were moved


def test_param_groups_cover_each_trainable_parameter_once_and_decay_alike() -> None:
    m = S.net(widths=(8, 16, 16))
    shifts, rest = S.param_groups(m, lr=10.0, weight_decay=0.01, momentum=0.8, batch_size=512)
    trainable = [p for p in m.parameters() if p.requires_grad]
    assert sorted(map(id, shifts["params"] + rest["params"])) == sorted(map(id, trainable))
    bn_shifts = [mod.bias for mod in m.modules() if isinstance(mod, S.ShiftBatchNorm)]
    assert sorted(map(id, shifts["params"])) == sorted(map(id, bn_shifts))
    assert all(not mod.weight.requires_grad for mod in m.modules() if isinstance(mod, S.ShiftBatchNorm))
    lr_sgd = 10.0 / (1024 * (1 + 1 / 0.2))
    assert math.isclose(rest["lr"], lr_sgd) and math.isclose(shifts["lr"], 64 * lr_sgd)
    decay = 0.01 * 512 / (1024 * (1 + 1 / 0.2))
    for g in (shifts, rest):
        assert math.isclose(g["lr"] * g["weight_decay"], decay)


def test_triangle_is_linear_up_then_down() -> None:
    f = S.triangle(200, start=0.2, peak=0.25, end=0.1)
    assert math.isclose(f(0), 0.2) and math.isclose(f(50), 1.0) and math.isclose(f(200), 0.1)
    assert math.isclose(f(25), 0.6) and math.isclose(f(125), 0.55)


def test_tta_of_a_flip_symmetric_model_equals_its_plain_logits() -> None:
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 4))
    x = torch.randn(5, 3, 1, 1).expand(5, 3, 6, 6).contiguous()  # constant images: shifts change nothing
    assert torch.allclose(S.tta_logits(m, x), m(x), atol=1e-6)


def test_whitening_decorrelates_the_patches() -> None:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(64, 1, 16, 16, generator=g)
    images = torch.cat([base, 0.9 * base + 0.1 * torch.randn(64, 1, 16, 16, generator=g), base.roll(1, 2)], 1)
    conv = torch.nn.Conv2d(3, 24, 2, bias=False)
    S.whiten_(conv, images)
    out = conv(images)[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    cov = out.T @ out / len(out)  # the second moment, which whitening makes the identity
    off = cov - torch.diag(torch.diag(cov))
    assert off.abs().max() < 0.02  # uncorrelated
    var = torch.diag(cov)  # largest eigenvalues first: unit variance where eps is negligible, less where it is not
    assert torch.allclose(var[:6], torch.ones(6), atol=0.01) and bool((var <= 1.001).all())


def test_train_refuses_vectors() -> None:
    with pytest.raises(ValueError, match="images"):
        S.train(load("blobs", n_train=32, n_test=8, device="cpu"))


def test_the_defaults_are_airbench94s_published_settings() -> None:
    """Line by line against ``hyp`` of airbench94 (legacy/airbench94.py, 94.01% mean over 1000 runs)."""
    import inspect

    airbench94 = {"epochs": 9.9, "batch_size": 1024, "lr": 11.5, "momentum": 0.85, "weight_decay": 0.0153,
                  "bias_scaler": 64.0, "label_smoothing": 0.2, "whiten_bias_epochs": 3, "translate_pad": 2,
                  "widths": (64, 256, 256), "tta": True, "lookahead": True}
    train_defaults = {k: p.default for k, p in inspect.signature(S.train).parameters.items()}
    assert {k: train_defaults[k] for k in airbench94} == airbench94
    net_defaults = {k: p.default for k, p in inspect.signature(S.net).parameters.items()}
    assert net_defaults["whiten_kernel"] == 2 and net_defaults["bn_momentum"] == 0.6
    assert math.isclose(net_defaults["logit_scale"], 1 / 9)
    bn = S.ShiftBatchNorm(4)
    assert bn.eps == 1e-12 and math.isclose(bn.momentum, 0.4) and not bn.weight.requires_grad
    m = S.net()
    assert m[0].weight.shape == (24, 3, 2, 2) and m[0].bias is not None and not m[0].weight.requires_grad
    assert [mod.out_channels for mod in m.modules() if isinstance(mod, S.Conv)] == [64, 64, 256, 256, 256, 256]
    assert sum(isinstance(mod, torch.nn.GELU) for mod in m.modules()) == 7 and isinstance(m[-1], S.Scale)
    # 50000 images, batch 1024, the last partial batch dropped: 48 steps an epoch, ceil(48 * 9.9) = 476 steps,
    # the rate rising for int(0.23 * 476) = 109 of them, from 0.2 to 1, then down to 0.07
    f = S.triangle(math.ceil(50000 // 1024 * 9.9))
    assert math.isclose(f(0), 0.2) and math.isclose(f(109), 1.0) and f(108) < 1.0 and math.isclose(f(476), 0.07)


def test_lookahead_ends_at_the_average_and_changes_the_run() -> None:
    d = S.synthetic_cifar10(64, 16)
    kwargs = dict(epochs=2, batch_size=8, widths=(8, 8, 8), seed=0, tta=False)
    with_avg, without = S.train(d, **kwargs), S.train(d, lookahead=False, **kwargs)
    assert with_avg.steps == without.steps == 16
    assert with_avg.epoch_loss != without.epoch_loss  # averaging every 5 steps moves the weights
    # the first 4 steps happen before any averaging: the two runs agree up to there
    a = S.train(d, epochs=0.5, **{k: v for k, v in kwargs.items() if k != "epochs"})
    b = S.train(d, epochs=0.5, lookahead=False, **{k: v for k, v in kwargs.items() if k != "epochs"})
    assert a.steps == b.steps == 4 and a.epoch_loss == b.epoch_loss
