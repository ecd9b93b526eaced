"""Every sharpness checker passes a right answer and rejects a wrong one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import sharpness as check


def _power(mv, n, iters, start=None):  # noqa: ANN001, ANN202
    v = torch.randn(n, generator=torch.Generator().manual_seed(0)) if start is None else start(n)
    for _ in range(iters):
        w = mv(v / v.norm())
        v = w
    v = v / v.norm()
    return float(v @ mv(v))


def _power_from_ones(mv, n, iters):  # noqa: ANN001, ANN202
    return _power(mv, n, iters, start=lambda n: torch.ones(n) / n**0.5)


def test_power_iteration() -> None:
    check.power_iteration(_power)
    with pytest.raises(CheckFailed, match="power_iteration"):
        check.power_iteration(lambda mv, n, iters: float(mv(torch.ones(n) / n**0.5).norm()))  # one step only
    with pytest.raises(CheckFailed, match="power_iteration"):
        check.power_iteration(lambda mv, n, iters: _power(mv, n, iters) ** 0.5)


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_power_iteration_hidden_cases_fail_a_fixed_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The all-ones start passes every public case but not the hidden ones where it is orthogonal to the top
    eigenvector; a start from a seeded random vector passes them all (graded as lrcourse-grade does)."""
    from lrcourse.grade import instructor, recorder

    js, notes = instructor.hidden_json(None, tmp_path / "hidden_cases.json", course=["power_iteration"])
    assert not notes
    n_hidden = len(recorder.read_cases(js)["power_iteration"])
    check.power_iteration(_power_from_ones)  # self-study: the public cases alone pass
    monkeypatch.setenv(recorder.LOG, str(tmp_path / "log.jsonl"))
    monkeypatch.setenv(recorder.HIDDEN, str(js))
    check.power_iteration(_power)
    check.power_iteration(_power_from_ones)
    for seed in range(1, 6):  # other seeds too: no hidden case depends on a lucky start
        check.power_iteration(lambda mv, n, iters, s=seed: _power(mv, n, iters, lambda n: torch.randn(
            n, generator=torch.Generator().manual_seed(s))))
    right, ones, *others = _records(tmp_path / "log.jsonl")
    assert (right["passed"], right["hidden_passed"], right["hidden_total"]) == (4, n_hidden, n_hidden)
    assert ones["passed"] == 4 and ones["hidden_passed"] == n_hidden - 2
    assert all(r["passed"] == 4 and r["hidden_passed"] == n_hidden for r in others)


def _box(h, theta, eps):  # noqa: ANN001, ANN202
    loss = lambda t: 0.5 * (h * t**2).sum()  # noqa: E731
    worst = theta + torch.where(theta >= 0, 1.0, -1.0) * eps * (theta.abs() + 1)
    return float(100 * (loss(worst) - loss(theta)) / (1 + loss(theta)))


def test_box_sharpness() -> None:
    check.box_sharpness(_box)
    def towards_zero(h, th, e):  # noqa: ANN001, ANN202
        loss = lambda t: 0.5 * (h * t**2).sum()  # noqa: E731
        worst = th - torch.where(th >= 0, 1.0, -1.0) * e * (th.abs() + 1)
        return float(100 * (loss(worst) - loss(th)) / (1 + loss(th)))

    with pytest.raises(CheckFailed, match="box_sharpness"):  # pushes towards 0 instead of away
        check.box_sharpness(towards_zero)
    with pytest.raises(CheckFailed, match="box_sharpness"):  # forgot the normalization by 1 + L
        check.box_sharpness(lambda h, th, e: _box(h, th, e) * (1 + 0.5 * float((h * th**2).sum())))
    with pytest.raises(CheckFailed, match="box_sharpness"):  # a box of fixed size eps, not eps(|θ|+1)
        check.box_sharpness(lambda h, th, e: float(100 * (0.5 * (h * (th.abs() + e) ** 2).sum() - 0.5 * (h * th**2).sum()) / (1 + 0.5 * (h * th**2).sum())))


def test_sam_gradient() -> None:
    from tests.references.sharpness import _sam_gradient

    check.sam_gradient(_sam_gradient)
    for wrong in (
        lambda h, t, r: h * t,  # plain gradient descent: no perturbation
        lambda h, t, r: h * (t + r * t / t.norm()),  # the ascent direction must follow the gradient h*t, not t
    ):
        with pytest.raises(CheckFailed, match="sam_gradient"):
            check.sam_gradient(wrong)
