"""Every checker of lrcourse.check.optimizers passes a right answer and fails wrong ones."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import optimizers as chk


def right_classify(eigs):
    neg, pos, zero = any(e < 0 for e in eigs), any(e > 0 for e in eigs), any(e == 0 for e in eigs)
    if neg and pos:
        return "saddle"
    if zero:
        return "degenerate"
    return "minimum" if pos else "maximum"


def test_classify_eigenvalues(capsys):
    chk.classify_eigenvalues(right_classify)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="saddle|degenerate"):
        chk.classify_eigenvalues(lambda e: "minimum" if min(e) >= 0 else ("maximum" if max(e) <= 0 else "saddle"))
    with pytest.raises(CheckFailed, match="no answer"):
        chk.classify_eigenvalues(None)


def test_look_around(capsys):
    def right(loss, point, radius, n):
        angles = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
        ring = point + radius * torch.stack([angles.cos(), angles.sin()], -1)
        change = loss(ring) - loss(point)  # vectorized over the circle: fine for these losses
        return "minimum" if (change >= 0).all() else "maximum" if (change <= 0).all() else "saddle"

    chk.look_around(right)
    assert "✅" in capsys.readouterr().out

    def hessian_only(loss, point, radius, n):  # the second-order test alone cannot decide these
        return "degenerate"

    with pytest.raises(CheckFailed, match="look_around"):
        chk.look_around(hessian_only)

    def one_axis(loss, point, radius, n):  # looks along the axes only: misses the ways down between them
        steps = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
        change = torch.stack([loss(point + radius * d) for d in steps]) - loss(point)
        return "minimum" if (change >= 0).all() else "maximum" if (change <= 0).all() else "saddle"

    with pytest.raises(CheckFailed, match="hidden_saddle"):
        chk.look_around(one_axis)

    def strict(loss, point, radius, n):  # uses > instead of >=: a flat ring is not "higher"
        angles = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
        ring = point + radius * torch.stack([angles.cos(), angles.sin()], -1)
        change = loss(ring) - loss(point)
        return "minimum" if (change > 0).all() else "maximum" if (change < 0).all() else "saddle"

    with pytest.raises(CheckFailed, match="half_pipe"):
        chk.look_around(strict)
    with pytest.raises(CheckFailed, match="no answer"):
        chk.look_around(None)


def test_momentum_step():
    def right(w, v, g, lr, mu):
        v = mu * v + g
        return w - lr * v, v

    chk.momentum_step(right)
    with pytest.raises(CheckFailed, match="momentum_step"):
        chk.momentum_step(lambda w, v, g, lr, mu: (w - lr * g, mu * v + g))  # steps with the old velocity
    with pytest.raises(CheckFailed, match="tuple of 2"):
        chk.momentum_step(lambda w, v, g, lr, mu: w - lr * (mu * v + g))


def test_taylor_second_order():
    chk.taylor_second_order(lambda f, g, h, d: f + g @ d + 0.5 * d @ h @ d)
    with pytest.raises(CheckFailed, match="one-half"):
        chk.taylor_second_order(lambda f, g, h, d: f + g @ d + d @ h @ d)


def test_adagrad_step():
    def right(w, g, s, lr, eps):
        s = s + g**2
        return w - lr * g / (s.sqrt() + eps), s

    chk.adagrad_step(right)
    with pytest.raises(CheckFailed, match="accumulate first"):
        chk.adagrad_step(lambda w, g, s, lr, eps: (w - lr * g / (s.sqrt() + eps), s + g**2))


def test_adam_step():
    def right(w, g, m, v, t, lr, b1, b2, eps):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        return w - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps), m, v

    def no_bias_correction(w, g, m, v, t, lr, b1, b2, eps):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        return w - lr * m / (v.sqrt() + eps), m, v

    chk.adam_step(right)
    with pytest.raises(CheckFailed, match="1 - beta"):
        chk.adam_step(no_bias_correction)


def test_powersign_step():
    def right(w, g, m, lr, beta):
        m = beta * m + (1 - beta) * g
        return w - lr * torch.exp(torch.sign(g) * torch.sign(m)) * g, m

    chk.powersign_step(right)

    def old_m(w, g, m, lr, beta):
        return w - lr * torch.exp(torch.sign(g) * torch.sign(m)) * g, beta * m + (1 - beta) * g

    with pytest.raises(CheckFailed, match="powersign_step"):
        chk.powersign_step(old_m)


def test_uncorrected_adam_ratio():
    chk.uncorrected_adam_ratio(lambda t, b1, b2: (1 - b1**t) / math.sqrt(1 - b2**t))
    with pytest.raises(CheckFailed, match="uncorrected_adam_ratio"):  # the first step only, for every t
        chk.uncorrected_adam_ratio(lambda t, b1, b2: (1 - b1) / math.sqrt(1 - b2))
    with pytest.raises(CheckFailed, match="uncorrected_adam_ratio"):  # upside down: "too small"
        chk.uncorrected_adam_ratio(lambda t, b1, b2: math.sqrt(1 - b2**t) / (1 - b1**t))


def _right_adamw(w, g, m, v, t, lr, b1, b2, eps, wd):
    w = w * (1 - lr * wd)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    return w - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps), m, v


def test_adamw_step():
    chk.adamw_step(_right_adamw)

    def l2(w, g, m, v, t, lr, b1, b2, eps, wd):  # Adam(weight_decay=...): the decay goes through v
        return _right_adamw(w, g + wd * w, m, v, t, lr, b1, b2, eps, 0.0)

    def decay_after(w, g, m, v, t, lr, b1, b2, eps, wd):  # shrinks the updated weights instead
        w, m, v = _right_adamw(w, g, m, v, t, lr, b1, b2, eps, 0.0)
        return w * (1 - lr * wd), m, v

    for wrong in (l2, decay_after):
        with pytest.raises(CheckFailed, match="decay"):
            chk.adamw_step(wrong)


def test_adamw_reference_is_torch_adamw():
    """The checker's reference equals torch.optim.AdamW over several steps."""
    from tests.references.optimizers import _adamw

    g = torch.Generator().manual_seed(0)
    w = torch.nn.Parameter(torch.randn(5, generator=g, dtype=torch.float64))
    opt = torch.optim.AdamW([w], lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.3)
    ref, m, v = w.detach().clone(), torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    for t in range(1, 8):
        grad = torch.randn(5, generator=g, dtype=torch.float64)
        w.grad = grad.clone()
        opt.step()
        ref, m, v = _adamw(ref, grad, m, v, t, 0.05, 0.8, 0.95, 1e-6, 0.3)
    assert torch.allclose(w.detach(), ref, atol=1e-12)


def test_adadelta_first_step():
    chk.adadelta_first_step(lambda g, rho, eps: -(eps**0.5) * g / ((1 - rho) * g**2 + eps).sqrt())
    with pytest.raises(CheckFailed, match="adadelta_first_step"):  # the sign-only approximation
        chk.adadelta_first_step(lambda g, rho, eps: -((eps / (1 - rho)) ** 0.5) * g.sign())
    with pytest.raises(CheckFailed, match="adadelta_first_step"):  # forgot the minus
        chk.adadelta_first_step(lambda g, rho, eps: (eps**0.5) * g / ((1 - rho) * g**2 + eps).sqrt())
    with pytest.raises(CheckFailed, match="adadelta_first_step"):  # eps under the gradient too: RMSProp with lr 1
        chk.adadelta_first_step(lambda g, rho, eps: -g / ((1 - rho) * g**2 + eps).sqrt())


def test_the_references_agree_with_runs() -> None:
    """The closed forms in tests/references agree with the update itself and with torch.optim.Adadelta."""
    from tests.references.optimizers import _adadelta_first, _uncorrected_ratio

    for t, b1, b2 in [(1, 0.9, 0.999), (10, 0.9, 0.999), (1000, 0.9, 0.999), (3, 0.9, 0.9), (50, 0.5, 0.99)]:
        m = v = 0.0
        for _ in range(t):
            m, v = b1 * m + (1 - b1) * 0.7, b2 * v + (1 - b2) * 0.49
        assert abs(m / v**0.5 - _uncorrected_ratio(t, b1, b2)) < 1e-9
    for g, rho, eps in [(torch.tensor([1.0, -2.0, 50.0], dtype=torch.float64), 0.9, 1e-6),
                        (torch.tensor([0.5, -0.5], dtype=torch.float64), 0.95, 1e-4)]:
        w = torch.nn.Parameter(torch.zeros_like(g))
        opt = torch.optim.Adadelta([w], lr=1.0, rho=rho, eps=eps)
        w.grad = g.clone()
        opt.step()
        assert torch.allclose(w.detach(), _adadelta_first(g, rho, eps), rtol=1e-9, atol=1e-15)
