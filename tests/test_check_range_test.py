"""Chapter 3's checkers accept right answers and reject wrong ones with a hint."""

from __future__ import annotations

import math

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import range_test as chk


def _ema(losses, beta, correct=True):
    avg, out = 0.0, []
    for i, x in enumerate(losses):
        avg = beta * avg + (1 - beta) * x
        out.append(avg / (1 - beta ** (i + 1)) if correct else avg)
    return out


def _stop(smoothed, diverge, strict=True, check_nan=True):
    best = math.inf
    for i, s in enumerate(smoothed):
        above = s > diverge * best if strict else s >= diverge * best
        if (check_nan and not math.isfinite(s)) or above:
            return i
        best = min(best, s)
    return None


def test_growth_factor_right(capsys):
    chk.range_growth_factor(lambda a, b, n: math.exp((math.log(b) - math.log(a)) / (n - 1)))
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong",
    [
        lambda a, b, n: (b / a) ** (1 / n),  # off by one in the exponent
        lambda a, b, n: (b - a) / (n - 1),  # the linear increment, not a factor
        None,
    ],
)
def test_growth_factor_wrong(wrong):
    with pytest.raises(CheckFailed, match="range_growth_factor"):
        chk.range_growth_factor(wrong)


def test_smoothing_right(capsys):
    chk.range_smoothing(_ema)
    chk.range_smoothing(lambda losses, beta: tuple(_ema(losses, beta)))  # any sequence will do
    assert capsys.readouterr().out.count("✅") == 2


@pytest.mark.parametrize(
    "wrong",
    [
        lambda losses, beta: _ema(losses, beta, correct=False),  # no bias correction
        lambda losses, beta: _ema(losses, 1 - beta),  # beta weights the new value
        lambda losses, beta: list(losses),  # no smoothing at all
    ],
)
def test_smoothing_wrong(wrong):
    with pytest.raises(CheckFailed, match="range_smoothing"):
        chk.range_smoothing(wrong)


def test_stop_step_right(capsys):
    chk.range_stop_step(_stop)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong",
    [
        lambda s, d: _stop(s, d, strict=False),  # stops at exactly diverge x best
        lambda s, d: _stop(s, d, check_nan=False),  # misses NaN
        lambda s, d: next((i for i, v in enumerate(s) if v > d * s[0]), None),  # compares with the first
        lambda s, d: ...,
    ],
)
def test_stop_step_wrong(wrong):
    with pytest.raises(CheckFailed, match="range_stop_step"):
        chk.range_stop_step(wrong)
