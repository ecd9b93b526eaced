"""Tests of lrcourse.optim against updates computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse.optim import SGDW, AddSign, PowerSign, sign_decay

GRADS = [[2.0, -1.0], [1.0, 1.0], [-3.0, 0.5]]


def run(opt_cls, grads=GRADS, w0=(1.0, 1.0), **kw):
    w = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = opt_cls([w], **kw)
    path = []
    for g in grads:
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        path.extend(w.detach().clone().tolist())
    return path


def sgn(v):
    return (v > 0) - (v < 0)


def hand_sign(rule, lr, beta, f):
    """Coordinate-wise PowerSign/AddSign in plain Python."""
    w, m, path = [1.0, 1.0], [0.0, 0.0], []
    for t, g in enumerate(GRADS):
        for i in range(2):
            m[i] = beta * m[i] + (1 - beta) * g[i]
            agree = sgn(g[i]) * sgn(m[i])
            w[i] -= lr * rule(f(t) * agree) * g[i]
        path.extend(w)
    return path


def test_powersign_by_hand():
    got = run(PowerSign, lr=0.1, beta=0.9)
    want = hand_sign(lambda s: math.e**s, 0.1, 0.9, lambda t: 1.0)
    assert got == pytest.approx(want, abs=1e-12)
    # gradients 3 then -1: m = 0.3 then 0.17 > 0 while g < 0, so the second step shrinks by e
    two = run(PowerSign, grads=[[3.0], [-1.0]], w0=(1.0,), lr=0.1, beta=0.9)
    assert two == pytest.approx([1 - 0.3 * math.e, 1 - 0.3 * math.e + 0.1 / math.e], abs=1e-12)


def test_addsign_by_hand_with_linear_decay():
    got = run(AddSign, lr=0.05, beta=0.5, decay="linear", total_steps=4)
    want = hand_sign(lambda s: 1.0 + s, 0.05, 0.5, lambda t: 1 - t / 4)
    assert got == pytest.approx(want, abs=1e-12)


def test_powersign_base_2_cyclical_and_restart():
    got = run(PowerSign, lr=0.1, beta=0.0, base=2.0, decay="cyclical", total_steps=3, periods=1)
    f = lambda t: 0.5 * (1 + math.cos(2 * math.pi * t / 3))  # noqa: E731
    assert got == pytest.approx(hand_sign(lambda s: 2.0**s, 0.1, 0.0, f), abs=1e-12)
    got = run(AddSign, lr=0.1, beta=0.3, decay="restart", total_steps=2, periods=1)
    f = lambda t: 0.5 * (1 + math.cos(math.pi * (t % 2) / 2))  # noqa: E731
    assert got == pytest.approx(hand_sign(lambda s: 1.0 + s, 0.1, 0.3, f), abs=1e-12)


def test_sign_decay_shapes():
    assert [sign_decay("none", t) for t in (0, 10)] == [1.0, 1.0]
    assert sign_decay("cyclical", 0, 10) == 1.0
    assert sign_decay("cyclical", 10, 10) == pytest.approx(0.0, abs=1e-12)  # periods=0.5: one decay to 0
    assert sign_decay("cyclical", 20, 10) == pytest.approx(0.0, abs=1e-12)  # stays there
    assert sign_decay("restart", 5, 10, periods=2) == pytest.approx(1.0)
    assert sign_decay("restart", 4, 10, periods=2) < 0.1


def test_sgdw_by_hand_and_vs_torch():
    lr, mu, wd = 0.1, 0.9, 0.01
    w, b, want = [1.0, 1.0], None, []
    for g in GRADS:
        b = list(g) if b is None else [mu * bi + gi for bi, gi in zip(b, g)]
        w = [wi - lr * wd * wi - lr * bi for wi, bi in zip(w, b)]
        want.extend(w)
    assert run(SGDW, lr=lr, momentum=mu, weight_decay=wd) == pytest.approx(want, abs=1e-12)
    # no decay: exactly torch's SGD with momentum (and Nesterov)
    for nesterov in (False, True):
        ours = run(SGDW, lr=lr, momentum=mu, nesterov=nesterov)
        theirs = run(torch.optim.SGD, lr=lr, momentum=mu, nesterov=nesterov)
        assert ours == pytest.approx(theirs, abs=1e-12)
    # no momentum: decoupled decay equals L2 in SGD; with momentum it does not
    assert run(SGDW, lr=lr, momentum=0.0, weight_decay=0.5) == pytest.approx(
        run(torch.optim.SGD, lr=lr, weight_decay=0.5), abs=1e-12
    )
    assert run(SGDW, lr=lr, momentum=mu, weight_decay=0.5) != pytest.approx(
        run(torch.optim.SGD, lr=lr, momentum=mu, weight_decay=0.5), abs=1e-6
    )


def test_trains_a_model_with_fit():
    from lrcourse.data import load
    from lrcourse.train import fit

    torch.manual_seed(0)
    d = load("blobs", n_train=256, n_test=128, device="cpu", seed=0)
    for make in (lambda p: PowerSign(p, lr=0.05), lambda p: AddSign(p, lr=0.05), lambda p: SGDW(p, lr=0.1, weight_decay=1e-3)):
        m = torch.nn.Linear(2, d.num_classes)
        h = fit(m, d, make(m.parameters()), epochs=3, seed=0, progress=False)
        assert h.train_loss[-1] < h.loss[0]


@pytest.mark.parametrize("make", [
    lambda p: PowerSign(p, lr=-0.1),
    lambda p: AddSign(p, lr=-1),
    lambda p: SGDW(p, lr=-0.01),
])
def test_negative_lr_is_one_clear_sentence(make):
    with pytest.raises(ValueError, match="learning rate must be a number >= 0"):
        make([torch.nn.Parameter(torch.zeros(1))])


def test_bad_decay_and_missing_total_steps():
    p = [torch.nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match="decay must be one of"):
        PowerSign(p, decay="cosine")
    with pytest.raises(ValueError, match="needs total_steps"):
        AddSign(p, decay="linear")
    with pytest.raises(ValueError, match="beta"):
        PowerSign(p, beta=1.0)


def hand_yogi(grads, lr, b1, b2, eps, v0):
    """Yogi in plain Python, one coordinate at a time."""
    w, m, v, path = [1.0, 1.0], [0.0, 0.0], [v0, v0], []
    for t, g in enumerate(grads, start=1):
        for i in range(2):
            g2 = g[i] ** 2
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = v[i] - (1 - b2) * sgn(v[i] - g2) * g2
            w[i] -= lr * (m[i] / (1 - b1**t)) / (math.sqrt(v[i] / (1 - b2**t)) + eps)
        path.extend(w)
    return path


@pytest.mark.parametrize("v0", [0.0, 1e-6, 5.0])
def test_yogi_matches_hand(v0):
    from lrcourse.optim import Yogi

    got = run(Yogi, lr=0.1, betas=(0.9, 0.99), eps=1e-3, initial_accumulator=v0)
    assert got == pytest.approx(hand_yogi(GRADS, 0.1, 0.9, 0.99, 1e-3, v0), rel=1e-12, abs=1e-12)


def test_yogi_memory_fades_additively():
    """After one large gradient, Adam's v shrinks geometrically, Yogi's by (1 - b2)·g² per step."""
    from lrcourse.optim import Yogi

    w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = Yogi([w], betas=(0.0, 0.9), initial_accumulator=0.0)
    for g in [30.0] + [1.0] * 20:
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    v = opt.state[w]["v"].item()
    assert v == pytest.approx(0.1 * 900 - 20 * 0.1 * 1.0)  # Adam's: 0.1·900·0.9^20 + ... ≈ 12


def test_yogi_rejects_bad_arguments():
    from lrcourse.optim import Yogi

    w = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError):
        Yogi([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError):
        Yogi([w], eps=-1.0)
