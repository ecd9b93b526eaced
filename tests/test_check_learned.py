"""Each checker of the learned-optimizers chapter accepts a right answer and rejects wrong ones."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import learned as chk


def test_addsign_rule_right() -> None:
    chk.addsign_rule("(1 + sign(g) * sign(m)) * g")
    chk.addsign_rule("g + sign(g)*sign(m)*g")  # an equivalent rule is right too


@pytest.mark.parametrize(
    "wrong, words",
    [
        ("exp(sign(g)*sign(m))*g", "expected"),  # PowerSign, not AddSign
        ("(1 + sign(g) * sign(v)) * g", "expected"),  # v is always >= 0
        ("(1 + sign(g) * sign(m) * g", "does not parse"),
        (None, "no answer yet"),
    ],
)
def test_addsign_rule_wrong(wrong: str, words: str) -> None:
    with pytest.raises(CheckFailed, match=words):
        chk.addsign_rule(wrong)


def _preprocess(g: torch.Tensor, p: float) -> torch.Tensor:
    big = g.abs() >= math.exp(-p)
    first = torch.where(big, torch.log(g.abs().clamp_min(1e-30)) / p, torch.full_like(g, -1.0))
    second = torch.where(big, torch.sign(g), math.exp(p) * g)
    return torch.stack([first, second], -1)


def test_lstm_preprocess_right(capsys: pytest.CaptureFixture[str]) -> None:
    chk.lstm_preprocess(_preprocess)
    assert "✅" in capsys.readouterr().out


def test_lstm_preprocess_wrong() -> None:
    def no_small_branch(g: torch.Tensor, p: float) -> torch.Tensor:
        return torch.stack([torch.log(g.abs().clamp_min(1e-30)) / p, torch.sign(g)], -1)

    def natural_log_unscaled(g: torch.Tensor, p: float) -> torch.Tensor:
        out = _preprocess(g, p)
        out[..., 0] = torch.where(out[..., 0] == -1, out[..., 0], out[..., 0] * p)
        return out

    for wrong in (no_small_branch, natural_log_unscaled):
        with pytest.raises(CheckFailed, match="lstm_preprocess"):
            chk.lstm_preprocess(wrong)


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
