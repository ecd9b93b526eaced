"""Each checker of the learned-optimizers chapter accepts a right answer and rejects wrong ones."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse import learned
from lrcourse.check import CheckFailed
from lrcourse.check import learned as chk


def _recover_by_branches(x: torch.Tensor, p: float) -> torch.Tensor:
    """A right answer written as the two branches the encoding has."""
    small = x[..., 0] == -1
    return torch.where(small, x[..., 1] * math.exp(-p), x[..., 1] * torch.exp(p * x[..., 0]))


def _recover_in_float64(x: torch.Tensor, p: float) -> torch.Tensor:
    """A right answer computed in double precision, branch by branch through |g|."""
    x = x.double()
    size = torch.where(x[..., 0] > -1, torch.exp(p * x[..., 0]), x[..., 1].abs() * math.exp(-p))
    return torch.where(x[..., 0] > -1, x[..., 1], torch.sign(x[..., 1])) * size


@pytest.mark.parametrize("right", [_recover_by_branches, _recover_in_float64])
def test_recover_gradient_right(right, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    chk.recover_gradient(right)
    assert "✅" in capsys.readouterr().out


def test_recover_gradient_round_trip() -> None:
    """The inverse undoes the library's encoding on random gradients of every scale."""
    g = torch.randn(1000, dtype=torch.float64) * 10.0 ** torch.empty(1000, dtype=torch.float64).uniform_(-8, 3)
    for p in (2.0, 10.0):
        assert torch.allclose(_recover_by_branches(learned.preprocess_gradient(g, p), p), g, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda x, p: x[..., 1] * torch.exp(x[..., 0]),  # forgot to undo the division by p
        lambda x, p: torch.sign(x[..., 1]) * torch.exp(p * x[..., 0]),  # the small branch read as the large
        lambda x, p: x[..., 1] * torch.exp(p * x[..., 0]).clamp_min(1.0),  # |g| < 1 lost
        lambda x, p: torch.where(x[..., 0] == -1, x[..., 1] * math.exp(p), x[..., 1] * torch.exp(p * x[..., 0])),
        lambda x, p: x[..., 1],  # only the second channel
        None,
    ],
)
def test_recover_gradient_wrong(wrong) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CheckFailed, match="recover_gradient"):
        chk.recover_gradient(wrong)


def test_meta_objective_right() -> None:
    chk.meta_objective(lambda losses: torch.log(losses[1:] / losses[0]).mean())


def test_meta_objective_wrong() -> None:
    wrongs = [
        lambda losses: torch.log(losses / losses[0]).mean(),  # includes the starting row
        lambda losses: torch.log(losses[1:]).mean(),  # not normalized by the start
        lambda losses: (losses[1:] / losses[0]).mean(),  # no log
    ]
    for wrong in wrongs:
        with pytest.raises(CheckFailed, match="meta_objective"):
            chk.meta_objective(wrong)


def test_powersign_window_right() -> None:
    chk.powersign_window(lambda h: (1 / (math.e * h), 1 / h))


@pytest.mark.parametrize(
    "wrong",
    [
        lambda h: (1 / h, 2 / h),  # SGD's oscillation window, not PowerSign's
        lambda h: (2 / (math.e * h), 1 / h),  # PowerSign's divergence threshold as the lower end
        lambda h: (1 / (math.e * h), 2 / h),  # SGD's stability limit as the upper end
        None,
    ],
)
def test_powersign_window_wrong(wrong) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CheckFailed, match="powersign_window"):
        chk.powersign_window(wrong)


def _hidden() -> tuple[dict, dict]:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("references") / "learned.py"
    spec = importlib.util.spec_from_file_location("lrcourse_references_learned_test", path)
    assert spec is not None and spec.loader is not None
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    return ref.REFERENCES, ref.HIDDEN


def test_every_checker_has_hidden_cases_that_right_answers_pass() -> None:
    refs, hidden = _hidden()
    assert sorted(hidden) == sorted(chk.__all__)
    right = {
        "meta_objective": lambda losses: torch.log(losses[1:]).mean(0).sub(torch.log(losses[0])).mean(),
        "powersign_window": lambda h: torch.tensor([math.exp(-1) / h, 1 / h], dtype=torch.float64),
        "recover_gradient": _recover_in_float64,
    }
    for name, cases in hidden.items():
        for case in cases:
            got, want = right[name](*case), refs[name](*case)
            assert torch.allclose(torch.as_tensor(got).double(), torch.as_tensor(want).double(), rtol=1e-5, atol=1e-12), name
