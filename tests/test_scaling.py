"""The batch-size arithmetic of lrcourse.scaling, checked against first principles."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse import scaling
from lrcourse.data import num_batches


def test_effective_batch_is_the_product_of_its_factors():
    assert scaling.effective_batch_size(64) == 64
    assert scaling.effective_batch_size(64, world_size=8) == 512
    assert scaling.effective_batch_size(16, world_size=4, accumulation_steps=2) == 128


def test_linear_rule_keeps_lr_per_example_constant():
    # the ratio lr / batch is what the linear rule holds fixed
    for batch in (32, 256, 1000, 8192):
        lr = scaling.linear_scaled_lr(0.1, batch, base_batch_size=256)
        assert lr / batch == pytest.approx(0.1 / 256)
    assert scaling.linear_scaled_lr(0.1, 256, 256) == pytest.approx(0.1)


def test_sqrt_rule_grows_slower_than_linear():
    assert scaling.sqrt_scaled_lr(1e-3, 1024, 256) == pytest.approx(2e-3)
    assert scaling.sqrt_scaled_lr(1e-3, 64, 256) == pytest.approx(5e-4)
    assert scaling.sqrt_scaled_lr(0.1, 4096, 256) < scaling.linear_scaled_lr(0.1, 4096, 256)


def test_warmup_is_measured_in_examples_so_steps_shrink_with_batch():
    small = scaling.warmup_steps(5, 50_000, 128)
    large = scaling.warmup_steps(5, 50_000, 1024)
    assert small == math.ceil(5 * 50_000 / 128) == 1954
    assert large == 245
    # one warmup step at batch 1024 covers 8 at batch 128 (up to rounding)
    assert abs(small - 8 * large) < 8
    assert scaling.warmup_steps(0.5, 1000, 100) == 5


def test_plan_combines_the_pieces_for_ddp():
    p = scaling.plan(0.1, 256, per_device=128, n_train=50_000, world_size=8, warmup_epochs=5)
    assert p.batch_size == 1024
    assert p.lr == pytest.approx(0.4)
    assert p.steps_per_epoch == 49
    assert p.warmup_steps == 245
    one = scaling.plan(0.1, 256, per_device=128, n_train=50_000)
    assert one.batch_size == 128 and one.lr == pytest.approx(0.05)
    acc = scaling.plan(0.1, 256, per_device=32, n_train=1000, world_size=2, accumulation_steps=4, rule="sqrt")
    assert acc.batch_size == 256 and acc.lr == pytest.approx(0.1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: scaling.effective_batch_size(0),
        lambda: scaling.effective_batch_size(8, world_size=1.5),
        lambda: scaling.linear_scaled_lr(-0.1, 64),
        lambda: scaling.linear_scaled_lr(0.1, 64, base_batch_size=0),
        lambda: scaling.warmup_steps(-1, 100, 10),
        lambda: num_batches(100, 0),
        lambda: scaling.plan(0.1, 256, per_device=64, n_train=100, rule="cubic"),
    ],
)
def test_bad_input_says_what_to_do(call):
    with pytest.raises(ValueError, match="must be|rule must"):
        call()


def _one_step(opt_cls, w0, g, **kw):
    w = torch.nn.Parameter(w0.clone())
    w.grad = g.clone()
    opt_cls([w], **kw).step()
    return w.detach() - w0


def test_lars_moves_each_tensor_by_a_fraction_of_its_norm():
    w0 = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    g = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    d = _one_step(scaling.LARS, w0, g, lr=2.0, trust=0.01, momentum=0.9)
    assert torch.allclose(d.norm(), 0.02 * w0.norm(), rtol=1e-5)
    assert torch.allclose(d, _one_step(scaling.LARS, w0, 1000 * g, lr=2.0, trust=0.01), rtol=1e-4)  # blind to the scale of g
    assert torch.allclose(-d / d.norm(), g / g.norm(), atol=1e-6)  # along -g
    zero = _one_step(scaling.LARS, torch.zeros(3), torch.ones(3), lr=1.0, trust=0.1)
    assert torch.allclose(zero, torch.full((3,), -0.1))  # a zero tensor gets the plain rate lr * trust


def test_lars_momentum_accumulates_and_weight_decay_is_in_the_ratio():
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    opt = scaling.LARS([w], lr=1.0, trust=0.1, momentum=0.5, weight_decay=0.1)
    w.grad = torch.tensor([0.0, 1.0])
    opt.step()
    local = 0.1 * 5.0 / (1.0 + 0.1 * 5.0)
    first = local * (torch.tensor([0.0, 1.0]) + 0.1 * torch.tensor([3.0, 4.0]))
    assert torch.allclose(w.detach(), torch.tensor([3.0, 4.0]) - first, atol=1e-6)
    with pytest.raises(ValueError):
        scaling.LARS([w], lr=1.0, momentum=1.0)


def test_lamb_step_is_lr_times_the_weight_norm():
    w0 = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    g = torch.randn(5, 3, generator=torch.Generator().manual_seed(3))
    d = _one_step(scaling.LAMB, w0, g, lr=0.05, weight_decay=0.01)
    assert torch.allclose(d.norm(), 0.05 * w0.norm(), rtol=1e-5)
    d_small = _one_step(scaling.LAMB, w0, 1e-3 * g, lr=0.05)
    assert torch.allclose(d_small.norm(), 0.05 * w0.norm(), rtol=1e-4)
    with pytest.raises(ValueError):
        scaling.LAMB([torch.nn.Parameter(w0)], lr=-1.0)
