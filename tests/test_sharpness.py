"""Tests of lrcourse.sharpness: ε-sharpness, Dinh rescaling, random labels, full-batch GD."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lrcourse
from lrcourse.sharpness import epsilon_sharpness, full_batch_gd, random_labels, rescale_relu, sharpness, square_loss


def _mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return lrcourse.models.mlp(6, 3, hidden=(8, 8))


def test_square_loss_matches_its_formula() -> None:
    out, y = torch.randn(5, 3), torch.tensor([0, 1, 2, 0, 1])
    expected = 0.5 * sum(((out[i] - torch.eye(3)[y[i]]) ** 2).sum() for i in range(5)) / 5
    assert torch.allclose(square_loss(out, y), expected)


def test_sharpness_of_a_quadratic_is_its_top_curvature() -> None:
    m = nn.Linear(3, 1, bias=False)
    x = torch.diag(torch.tensor([1.0, 2.0, 0.5]))  # loss ½Σ(w_i x_ii)², curvatures 1, 4, 0.25
    assert abs(sharpness(m, lambda o, t: ((o - t) ** 2).sum() / 2, x, torch.zeros(3, 1)) - 4.0) < 1e-4


def test_epsilon_sharpness_of_a_quadratic_at_its_minimum() -> None:
    # L(w) = ½ h w² at w = 0: the worst point of the box |δ| <= eps is at its corner, L = ½ h eps².
    m = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        m.weight.zero_()
    h, eps = 4.0, 0.05
    loss = lambda o, t: 0.5 * h * ((o - t) ** 2).mean()  # noqa: E731
    got = epsilon_sharpness(m, loss, torch.ones(1, 1), torch.zeros(1, 1), eps=eps)
    assert abs(got - 100 * 0.5 * h * eps**2) < 1e-6
    assert m.weight.item() == 0.0  # the model is not changed


def test_epsilon_sharpness_grows_with_curvature() -> None:
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    m = _mlp()
    sharp = rescale_relu(m, 100.0, layer=0)  # same function, curvature ×10⁴ in the second layer's block
    assert epsilon_sharpness(sharp, square_loss, x, y) > 10 * epsilon_sharpness(m, square_loss, x, y)
    with pytest.raises(ValueError, match="positive box size"):
        epsilon_sharpness(m, square_loss, x, y, eps=0.0)


def test_rescaling_keeps_the_function_and_changes_the_sharpness() -> None:
    x, y = torch.randn(64, 6), torch.randint(0, 3, (64,))
    m = _mlp()
    for layer in (0, 1):
        r = rescale_relu(m, 5.0, layer=layer)
        assert torch.allclose(m(x), r(x), atol=1e-5)
        assert r is not m and not torch.equal(r[1][0].weight, m[1][0].weight) or layer == 1
    before = sharpness(m, square_loss, x, y)
    alpha = 10.0
    after = sharpness(rescale_relu(m, alpha, layer=1), square_loss, x, y)
    # The output is linear in the last weight matrix, so its Hessian block is mean a aᵀ (per output),
    # with a the features it reads; rescaling multiplies those features by alpha, the block by alpha²,
    # and λ_max of the whole Hessian is at least λ_max of any diagonal block.
    with torch.no_grad():
        a = m[:-1](x)
        block = torch.linalg.eigvalsh(a.T @ a / len(a))[-1].item()
    assert after >= alpha**2 * block * (1 - 1e-3)
    assert after > 5 * before


def test_rescaling_refuses_what_would_change_the_function() -> None:
    m = _mlp()
    with pytest.raises(ValueError, match="positive finite"):
        rescale_relu(m, -1.0)
    with pytest.raises(ValueError, match="0 <= layer < 2"):
        rescale_relu(m, 2.0, layer=2)
    tanh = lrcourse.models.mlp(6, 3, hidden=(8,), activation=nn.Tanh)
    with pytest.raises(ValueError, match="Tanh"):
        rescale_relu(tanh, 2.0)
    bn = lrcourse.models.mlp(6, 3, hidden=(8,), norm="batch")
    with pytest.raises(ValueError, match="BatchNorm1d"):
        rescale_relu(bn, 2.0)


def test_random_labels_are_uniform_and_seeded() -> None:
    d = lrcourse.load("blobs", n_train=3000, n_test=50, device="cpu")
    r, r2 = random_labels(d, seed=1), random_labels(d, seed=1)
    assert torch.equal(r.y_train, r2.y_train) and torch.equal(r.y_test, d.y_test)
    agree = (r.y_train == d.y_train).float().mean().item()
    assert abs(agree - 1 / 3) < 0.05  # independent of the true labels
    counts = torch.bincount(r.y_train, minlength=3).float() / 3000
    assert bool(((counts - 1 / 3).abs() < 0.05).all())


def test_full_batch_gd_is_gradient_descent() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    m = _mlp()
    twin = _mlp()
    run = full_batch_gd(m, x, y, lr=0.1, steps=3, every=3)
    opt = torch.optim.SGD(twin.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        square_loss(twin(x), y).backward()
        opt.step()
    assert all(torch.allclose(a, b) for a, b in zip(m.parameters(), twin.parameters()))
    assert run.sharpness_step == [0, 3] and len(run.loss) == 3 and run.threshold == 20.0


def test_full_batch_gd_on_a_quadratic_diverges_beyond_two_over_lambda() -> None:
    # loss ½ (w x)² with x = 2: λ = 4, so lr = 0.6 > 2/4 makes |1 - lr λ| = 1.4 > 1.
    m = nn.Linear(1, 3, bias=False)
    loss = lambda o, t: 0.5 * (o**2).sum(-1).mean()  # noqa: E731
    run = full_batch_gd(m, torch.full((4, 1), 2.0), torch.zeros(4, dtype=torch.long), lr=0.6, steps=40, loss_fn=loss, every=40)
    assert abs(run.sharpness[0] - 4.0) < 1e-4
    assert run.loss[-1] > 100 * run.loss[0]
    stable = full_batch_gd(nn.Linear(1, 3, bias=False), torch.full((4, 1), 2.0), torch.zeros(4, dtype=torch.long), lr=0.4, steps=40, loss_fn=loss, every=40)
    assert stable.loss[-1] < 1e-3 * stable.loss[0]
    with pytest.raises(ValueError, match="lr must be positive"):
        full_batch_gd(m, torch.ones(1, 1), torch.zeros(1, dtype=torch.long), lr=0.0, steps=1)
