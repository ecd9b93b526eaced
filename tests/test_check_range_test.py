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


def _unstable(h, a, b, n, strict=True):
    i = math.log(2 / (max(h) * a)) / math.log((b / a) ** (1 / (n - 1)))
    i = math.floor(i) + 1 if strict else math.ceil(i)
    return max(i, 0) if i < n else None


def test_unstable_step_right(capsys):
    chk.range_unstable_step(_unstable)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong",
    [
        lambda h, a, b, n: _unstable([min(h)], a, b, n),  # the flattest direction
        lambda h, a, b, n: _unstable([x / 2 for x in h], a, b, n),  # 1/L instead of 2/L
        lambda h, a, b, n: _unstable(h, a, b, n + 1),  # q from num_iter instead of num_iter - 1
        lambda h, a, b, n: min(_unstable(h, a, b, 10**9), n),  # never None
    ],
)
def test_unstable_step_wrong(wrong):
    with pytest.raises(CheckFailed, match="range_unstable_step"):
        chk.range_unstable_step(wrong)


def test_fastai_valley_accepts_the_rule_and_a_right_prediction(capsys):
    from lrcourse import lr_finder

    chk.range_fastai_valley(lr_finder.fastai_valley, prediction="right")
    assert capsys.readouterr().out.count("✅") == 2


def test_fastai_valley_rejects_a_rule_without_the_trim_or_with_another_pick():
    from lrcourse import lr_finder

    def untrimmed(lrs, smoothed):  # forgets to drop the first tenth and the last five steps
        n = len(smoothed)
        pad = [smoothed[0]] * (n // 10)
        return lr_finder.fastai_valley(list(lrs[:1]) * (n // 10) + list(lrs) + [lrs[-1]] * 5,
                                       pad + list(smoothed) + [smoothed[-1]] * 5)

    def two_thirds(lrs, smoothed):  # picks two thirds of the way along instead of the middle
        n = len(smoothed)
        lo = n // 10
        a, b = lo, n - 6
        return float(lrs[a + 2 * (b - a) // 3])

    for wrong in (untrimmed, two_thirds):
        with pytest.raises(CheckFailed):
            chk.range_fastai_valley(wrong)


def test_fastai_valley_rejects_a_wrong_prediction():
    from lrcourse import lr_finder

    with pytest.raises(CheckFailed, match="Hint"):
        chk.range_fastai_valley(lr_finder.fastai_valley, prediction="left")
    with pytest.raises(ValueError, match="prediction"):
        chk.range_fastai_valley(lr_finder.fastai_valley, prediction="middle")


def test_ema_lag_accepts_the_mean_age_and_rejects_the_window_length():
    def lag(step, beta, start_lr, end_lr, num_iter):
        w = [beta**k for k in range(step + 1)]
        return sum(k * x for k, x in enumerate(w)) / sum(w) * math.log10(end_lr / start_lr) / (num_iter - 1)

    chk.range_ema_lag(lag)

    def window(step, beta, start_lr, end_lr, num_iter):  # 1/(1-beta) steps, ignoring the start
        return 1 / (1 - beta) * math.log10(end_lr / start_lr) / (num_iter - 1)

    with pytest.raises(CheckFailed, match="mean age"):
        chk.range_ema_lag(window)
