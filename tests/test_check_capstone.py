"""Each checker of the capstone chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import importlib.util
import math
import statistics
from pathlib import Path

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import capstone as C


def _above(lr_max, lr_min, w, total, lr):
    if lr <= 0:
        return float(total)
    if lr > lr_max:
        return 0.0
    up = w * (1 - lr / lr_max)
    if lr <= lr_min:
        return up + total - w
    return up + (total - w) * math.acos(2 * (lr - lr_min) / (lr_max - lr_min) - 1) / math.pi


def _count_steps(lr_max, lr_min, w, total, lr):  # counts integer steps: no closed form, off by a fraction
    rate = [lr_max * t / w if t < w else lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * (t - w) / (total - w))) / 2
            for t in range(total)]
    return float(sum(r >= lr for r in rate))


def test_time_above_lr():
    C.time_above_lr(_above)
    with pytest.raises(CheckFailed):  # ignores the floor: the cosine taken down to 0
        C.time_above_lr(lambda a, b, w, T, lr: _above(a, 0.0, w, T, lr))
    with pytest.raises(CheckFailed):  # forgets the warm-up's share
        C.time_above_lr(lambda a, b, w, T, lr: _above(a, b, w, T, lr) - w * (1 - lr / a) if 0 < lr <= a else
                        _above(a, b, w, T, lr))
    with pytest.raises(CheckFailed):
        C.time_above_lr(_count_steps)


def _coupled(lr, d, mu, nesterov):  # (w, v) shrink by r = 1 - d per step: the characteristic equation, solved for lr*wd
    r = 1 - d
    return (1 - r) * (r - mu) / ((1 + mu) * r - mu if nesterov else r) / lr


def _sgd_shrink(lr, wd, mu, nesterov, steps=3000):
    """The long-run shrink per step of torch.optim.SGD on a weight the loss does not pull on."""
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, momentum=mu, nesterov=nesterov, weight_decay=wd)
    for _ in range(steps):
        before = w.item()
        w.grad = torch.zeros_like(w)
        opt.step()
    return 1 - w.item() / before


def test_coupled_decay():
    C.coupled_decay(_coupled)
    with pytest.raises(CheckFailed):  # decay / lr: forgets that the decay goes through the momentum buffer
        C.coupled_decay(lambda lr, d, mu, n: d / lr)
    with pytest.raises(CheckFailed):  # the effective-rate argument, d (1 - mu) / lr: right only to first order
        C.coupled_decay(lambda lr, d, mu, n: d * (1 - mu) / lr)
    with pytest.raises(CheckFailed):  # the heavy ball's answer for Nesterov too
        C.coupled_decay(lambda lr, d, mu, n: _coupled(lr, d, mu, False))
    with pytest.raises(CheckFailed):  # Nesterov's answer for the heavy ball too
        C.coupled_decay(lambda lr, d, mu, n: _coupled(lr, d, mu, True))


@pytest.mark.parametrize("case", [(0.1, 1e-3, 0.9, False), (0.1, 1e-3, 0.9, True), (0.5, 0.02, 0.85, True),
                                  (2.0, 5e-3, 0.5, False), (1.0, 0.02, 0.9, True)])
def test_coupled_decay_is_what_torch_sgd_does(case):
    lr, d, mu, nesterov = case
    assert _sgd_shrink(lr, _coupled(*case), mu, nesterov) == pytest.approx(d, rel=1e-9)


def test_matched_lr():
    C.matched_lr(lambda lr, a, b: lr * (1 - b) / (1 - a))
    with pytest.raises(CheckFailed):  # upside down
        C.matched_lr(lambda lr, a, b: lr * (1 - a) / (1 - b))


def _interp(finals, target, nan_as=0.0, first=True, log=True, strict=False, sort=True):
    budgets = sorted(finals) if sort else list(finals)
    med = [statistics.median([a if a == a else nan_as for a in finals[b] if a == a or nan_as is not None])
           for b in budgets]
    hits = [i for i, m in enumerate(med) if (m > target if strict else m >= target)]
    if not hits:
        return None
    k = hits[0] if first else next(i for i in hits if i == len(med) - 1 or all(m >= target for m in med[i:]))
    if k == 0:
        return float(budgets[0])
    f = (target - med[k - 1]) / (med[k] - med[k - 1])
    if log:
        return budgets[k - 1] * (budgets[k] / budgets[k - 1]) ** f
    return budgets[k - 1] + f * (budgets[k] - budgets[k - 1])


def _hidden(name):
    spec = importlib.util.spec_from_file_location("capstone_refs", Path(__file__).parent / "references" / "capstone.py")
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    return ref.HIDDEN[name], ref.REFERENCES[name]


def test_time_to_target():
    C.time_to_target(_interp)
    with pytest.raises(CheckFailed):  # the chapter's first_budget: a budget that was measured, not the crossing
        C.time_to_target(lambda f, t: next((float(b) for b in sorted(f) if statistics.median(f[b]) >= t), None))
    with pytest.raises(CheckFailed):  # drops diverged runs instead of scoring them 0
        C.time_to_target(lambda f, t: _interp(f, t, nan_as=None))
    with pytest.raises(CheckFailed):  # interpolates linearly in the budget, not in its logarithm
        C.time_to_target(lambda f, t: _interp(f, t, log=False))
    with pytest.raises(CheckFailed):  # takes the budgets in dict order
        C.time_to_target(lambda f, t: _interp(f, t, sort=False))


def test_time_to_target_hidden_cases_break_the_wrong_answers():
    cases, ref = _hidden("time_to_target")
    for case in cases:
        expected = ref(*case)
        assert _interp(*case) == (expected if expected is None else pytest.approx(expected, rel=1e-12))
    wrong = {
        "the last crossing": lambda f, t: _interp(f, t, first=False),
        "strictly above": lambda f, t: _interp(f, t, strict=True),
        "diverged runs dropped": lambda f, t: _interp(f, t, nan_as=None),
    }
    for name, fn in wrong.items():
        assert any(fn(*c) != ref(*c) for c in cases), name
