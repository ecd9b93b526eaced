"""Tests of lrcourse.landscape: Hessians, HVPs, top eigenvalues, lines, planes, critical points."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from lrcourse import landscape as L


def mse(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return ((out - t) ** 2).mean()


@pytest.fixture
def small():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 3))
    x = torch.randn(32, 3)
    y = torch.randint(0, 3, (32,))
    return model.double(), x.double(), y


def dense_eigs(model, loss_fn, x, y):
    fn, theta = L.as_function(model, loss_fn, x, y)
    return torch.linalg.eigvalsh(L.hessian(fn, theta)).flip(0)


def test_top_eigenvalues_match_dense_hessian(small):
    model, x, y = small
    dense = dense_eigs(model, F.cross_entropy, x, y)
    top = L.top_hessian_eigenvalues(model, F.cross_entropy, x, y, k=3, iters=500, tol=1e-10)
    assert top.shape == (3,)
    assert torch.allclose(top, dense[:3], rtol=1e-4, atol=1e-6), (top, dense[:3])


def test_float32_model_top_eigenvalue_close(small):
    model, x, y = small
    dense = dense_eigs(model, F.cross_entropy, x, y)
    top = L.top_hessian_eigenvalues(model.float(), F.cross_entropy, x.float(), y, k=1)
    assert abs(float(top[0]) - float(dense[0])) <= 1e-3 * abs(float(dense[0]))


def test_largest_algebraic_when_a_negative_eigenvalue_dominates():
    # out = w (3 numbers), loss = Σ c_i w_i²  ->  H = diag(2c) = diag(2, -8, 1)
    model = nn.Linear(1, 3, bias=False).double()
    c = torch.tensor([1.0, -4.0, 0.5], dtype=torch.float64)
    loss_fn = lambda out, t: (c * out[0] ** 2).sum()  # noqa: E731
    x = torch.ones(1, 1, dtype=torch.float64)
    top = L.top_hessian_eigenvalues(model, loss_fn, x, None, k=2, iters=300, tol=1e-10)
    assert torch.allclose(top, torch.tensor([2.0, 1.0], dtype=torch.float64), atol=1e-5), top


def test_mode_is_restored_and_weights_unchanged(small):
    model, x, y = small
    before = [p.clone() for p in model.parameters()]
    model.train()
    L.top_hessian_eigenvalues(model, F.cross_entropy, x, y, k=1)
    assert model.training
    model.eval()
    L.loss_along_line(model, F.cross_entropy, x, y, L.random_direction(model, seed=0), [0.0, 1.0])
    assert not model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_hvp_equals_dense_hessian_times_v(small):
    model, x, y = small
    fn, theta = L.as_function(model, F.cross_entropy, x, y)
    h = L.hessian(fn, theta)
    v = torch.randn(theta.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(L.hvp(model, F.cross_entropy, x, y, v), h @ v, atol=1e-10)
    as_list = L.hvp(model, F.cross_entropy, x, y, [c.view_as(p) for c, p in zip(torch.split(v, [p.numel() for p in model.parameters()]), model.parameters())])
    assert [t.shape for t in as_list] == [p.shape for p in model.parameters()]
    assert torch.allclose(torch.cat([t.reshape(-1) for t in as_list]), h @ v, atol=1e-10)


def test_gradient_and_hessian_of_a_known_function():
    f = lambda w: w[0] ** 3 + w[0] * w[1] ** 2  # noqa: E731
    w = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert L.gradient(f, w).tolist() == [3 + 4, 4.0]
    assert L.hessian(f, w).tolist() == [[6.0, 4.0], [4.0, 2.0]]
    # dict and list params flatten in order
    g = lambda p: (p["a"] ** 2).sum() * p["b"][0]  # noqa: E731
    hd = L.hessian(g, {"a": torch.tensor([1.0, 1.0]), "b": torch.tensor([3.0])})
    assert hd.shape == (3, 3) and hd[0, 0] == 6.0 and hd[0, 2] == 2.0


def test_line_and_surface_against_direct_evaluation(small):
    model, x, y = small
    d1, d2 = L.random_direction(model, seed=1), L.random_direction(model, normalize="layer", seed=2)
    alphas, betas = [-0.5, 0.0, 0.25], [0.0, 1.0]
    line = L.loss_along_line(model, F.cross_entropy, x, y, d1, alphas)
    surf = L.loss_surface(model, F.cross_entropy, x, y, d1, d2, alphas, betas)
    assert surf.shape == (2, 3)
    fn, theta = L.as_function(model, F.cross_entropy, x, y)
    f1, f2 = torch.cat([d.reshape(-1) for d in d1]), torch.cat([d.reshape(-1) for d in d2])
    for i, a in enumerate(alphas):
        assert abs(float(line[i]) - float(fn(theta + a * f1))) < 1e-10
        for j, b in enumerate(betas):
            assert abs(float(surf[j, i]) - float(fn(theta + a * f1 + b * f2))) < 1e-10
    assert torch.allclose(surf[0], line)


def test_filter_normalization():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(1, 4, 3), nn.BatchNorm1d(4), nn.Flatten(), nn.Linear(8, 2))
    d = L.random_direction(m, seed=0)
    for di, p in zip(d, m.parameters()):
        if p.dim() <= 1:
            assert di.abs().sum() == 0
        else:
            assert torch.allclose(di.reshape(len(di), -1).norm(dim=1), p.detach().reshape(len(p), -1).norm(dim=1))
    assert not torch.equal(d[0], L.random_direction(m, seed=1)[0])
    assert torch.equal(d[0], L.random_direction(m, seed=0)[0])


@pytest.mark.parametrize(
    "diag, kind",
    [([1.0, 2.0], "minimum"), ([-1.0, -3.0], "maximum"), ([2.0, -1.0], "saddle"), ([1.0, 0.0], "degenerate"), ([0.0, -1.0], "degenerate")],
)
def test_classify(diag, kind):
    q, _ = torch.linalg.qr(torch.randn(2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    h = q @ torch.diag(torch.tensor(diag, dtype=torch.float64)) @ q.T
    got, d = L.classify_critical_point(h)
    assert got == kind
    if min(diag) < 0:
        most_negative = int(torch.tensor(diag).argmin())
        assert torch.allclose(d.abs(), q[:, most_negative].abs(), atol=1e-10)
        assert float(d @ h @ d) == pytest.approx(min(diag))
    else:
        assert d is None


def test_bad_input_is_one_clear_sentence():
    with pytest.raises(ValueError, match="square"):
        L.classify_critical_point(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="no trainable parameters"):
        L.top_hessian_eigenvalues(nn.ReLU(), mse, torch.zeros(1, 1), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="no trainable parameters"):
        L.random_direction(nn.Sequential())
    m = nn.Linear(2, 1)
    with pytest.raises(ValueError, match="3 parameters"):
        L.loss_along_line(m, mse, torch.zeros(1, 2), torch.zeros(1, 1), torch.zeros(5), [0.0])
    with pytest.raises(ValueError, match="1-D"):
        L.loss_surface(m, mse, torch.zeros(1, 2), torch.zeros(1, 1), torch.zeros(3), torch.zeros(3), torch.zeros(2, 2), [0.0])
    with pytest.raises(ValueError, match="k <= 3"):
        L.top_hessian_eigenvalues(m, mse, torch.zeros(1, 2), torch.zeros(1, 1), k=4)
    with pytest.raises(ValueError, match="scalar"):
        L.top_hessian_eigenvalues(m, lambda o, t: o, torch.zeros(2, 2), None)
