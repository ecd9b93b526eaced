"""Tests of lrcourse.toys: closed forms against autograd, and the counterexamples' behaviour."""

from __future__ import annotations

import pytest
import torch

from lrcourse import landscape, toys


def test_quadratic_unchanged():
    q = toys.quadratic_2d(10.0)
    assert q.condition == pytest.approx(10.0)
    assert toys.gradient_descent(q.grad, [1.0, 1.0], q.max_stable_lr * 0.99, 200)[-1].abs().max() < 0.5


@pytest.mark.parametrize("wd", [0.0, 0.5])
def test_one_sample_net_closed_forms_match_autograd(wd):
    net = toys.OneSampleNet(x=1.5, y=-0.7, weight_decay=wd)
    w = torch.tensor([0.3, -1.2], dtype=torch.float64)
    assert torch.allclose(net.grad(w), landscape.gradient(net.loss, w))
    assert torch.allclose(net.hessian(w), landscape.hessian(net.loss, w))


def test_one_sample_net_critical_points():
    plain = toys.OneSampleNet()
    (origin,) = plain.critical_points()
    assert landscape.classify_critical_point(plain.hessian(origin))[0] == "saddle"
    # a point on the valley w1·w2 = 1 is a degenerate minimum (zero eigenvalue along the valley)
    valley = torch.tensor([2.0, 0.5], dtype=torch.float64)
    assert plain.grad(valley).abs().max() < 1e-12
    assert landscape.classify_critical_point(plain.hessian(valley))[0] == "degenerate"
    decayed = toys.OneSampleNet(weight_decay=0.5)
    points = decayed.critical_points()
    assert len(points) == 3
    kinds = [landscape.classify_critical_point(decayed.hessian(p))[0] for p in points]
    assert kinds == ["saddle", "minimum", "minimum"]
    for p in points:
        assert decayed.grad(p).abs().max() < 1e-12
    # escape direction at the saddle is along w1 = w2 (xy > 0)
    _, d = landscape.classify_critical_point(plain.hessian(origin))
    assert torch.allclose(d, torch.tensor([1.0, 1.0], dtype=torch.float64) / 2**0.5)
    with pytest.raises(ValueError, match="x must be non-zero"):
        toys.OneSampleNet(x=0.0)


@pytest.mark.parametrize("x, y", [(1.0, 1.0), (2.0, -0.5), (-1.5, 3.0)])
def test_one_sample_net_seven_critical_points(x, y):
    net = toys.OneSampleNet(x=x, y=y)
    points = net.critical_points(per_branch=3)
    assert len(points) == 7 and len({tuple(p.tolist()) for p in points}) == 7
    kinds = [landscape.classify_critical_point(landscape.hessian(net.loss, p))[0] for p in points]
    assert kinds == ["saddle"] + ["degenerate"] * 6
    for p in points:
        assert landscape.gradient(net.loss, p).abs().max() < 1e-12
    for p in points[1:]:
        assert net.loss(p) < 1e-24  # on the valley w1·w2 = y/x: zero loss, so a global minimum
    # three per branch: one branch is the mirror image of the other
    assert torch.equal(torch.stack(points[1:4]), -torch.stack(points[4:7]))


def test_one_sample_net_critical_points_bad_input():
    with pytest.raises(ValueError, match="weight decay leaves isolated points only"):
        toys.OneSampleNet(weight_decay=0.1).critical_points(per_branch=3)
    with pytest.raises(ValueError, match="the two axes"):
        toys.OneSampleNet(y=0.0).critical_points(per_branch=1)
    with pytest.raises(ValueError, match="non-negative int"):
        toys.OneSampleNet().critical_points(per_branch=-1)
    assert len(toys.OneSampleNet(y=0.0).critical_points()) == 1


def test_rosenbrock():
    r = toys.Rosenbrock()
    w = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    assert torch.allclose(r.grad(w), landscape.gradient(r.loss, w))
    assert r.loss(r.minimum).item() == 0.0
    path = toys.optimize(r.loss, [-1.2, 1.0], lambda p: torch.optim.Adam(p, lr=0.02), 3000)
    assert (path[-1] - r.minimum).norm() < 0.05
    assert r.loss(path[-1]) < r.loss(path[0])


def test_reddi_problem_sampling_and_projection():
    prob = toys.ReddiOnline(C=30.0, p=0.05)
    g = prob.gradients(20000, torch.Generator().manual_seed(0))
    assert abs(float(g.mean()) - prob.expected_gradient) < 0.2
    path = prob.run(lambda p: torch.optim.SGD(p, lr=0.5), steps=50, runs=4, seed=0)
    assert path.abs().max() <= 1.0
    assert path.shape == (51, 4)
    # SGD with a small step follows the expected gradient to the optimum -1
    sgd = prob.run(lambda p: torch.optim.SGD(p, lr=0.002), steps=3000, runs=4, seed=1)
    assert float(sgd[-500:].mean()) < -0.8
    with pytest.raises(ValueError, match="0 < p < 1"):
        toys.ReddiOnline(p=1.5)


def test_wilson_construction():
    xtr, ytr, xte, yte = toys.wilson_separable(10, 30, seed=0)
    assert xtr.shape == (10, 3 + 5 * 40) and xte.shape == (30, 3 + 5 * 40)
    assert torch.equal(xtr[:, 0], ytr) and bool((xtr[:, 1:3] == 1).all())
    private = xtr[:, 3:].sum(1)
    assert torch.equal(private, torch.where(ytr > 0, 1.0, 5.0).to(private.dtype))
    # private features are never shared
    assert int((torch.cat([xtr, xte])[:, 3:].sum(0) > 1).sum()) == 0
    # the minimum-norm interpolant (what GD from zero finds) classifies the test set perfectly
    w = torch.linalg.pinv(xtr) @ ytr
    assert torch.allclose(xtr @ w, ytr, atol=1e-8)
    assert bool(((xte @ w).sign() == yte).all())
