"""Chapter 3's checkers accept right answers and reject wrong ones with a hint."""

from __future__ import annotations

import math

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import range_test as chk


def _between(lo, hi, a, b, n, linear=False):
    def at(x):  # where rate x sits on the axis of step numbers
        return (x - a) * (n - 1) / (b - a) if linear else math.log(x / a) / math.log(b / a) * (n - 1)

    first, stop = max(0, math.ceil(at(lo))), min(n, math.ceil(at(hi)))
    return max(0, stop - first)


def test_steps_between_right(capsys):
    chk.range_steps_between(_between)
    chk.range_steps_between(lambda lo, hi, a, b, n, linear: sum(  # walking the steps is right too
        lo <= (a + (b - a) * i / (n - 1) if linear else a * (b / a) ** (i / (n - 1))) < hi for i in range(n)))
    assert capsys.readouterr().out.count("✅") == 2


@pytest.mark.parametrize(
    "wrong",
    [
        lambda lo, hi, a, b, n, linear: _between(lo, hi, a, b, n + 1, linear),  # num_iter steps between the ends
        lambda lo, hi, a, b, n, linear: _between(lo, hi, a, b, n, False),  # the linear test spaced like the other
        lambda lo, hi, a, b, n, linear: round(n * math.log10(hi / lo) / math.log10(b / a)),  # no clipping at the ends
        lambda lo, hi, a, b, n, linear: _between(lo, hi, a, b, n, linear) + 1,  # counts hi's step too
        None,
    ],
)
def test_steps_between_wrong(wrong):
    with pytest.raises(CheckFailed, match="range_steps_between"):
        chk.range_steps_between(wrong)


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


def _pick(n, p, m, drift, cut=None):
    cut = n // 10 if cut is None else cut
    begin = cut if drift else max(p, cut)
    sections = (m - begin + 1) / 3
    return begin - 1 + int(sections) + int(sections / 2)


def _curve(n, p, m, drift):
    """A smoothed curve of the exercise's shape: plateau to p (drifting or not), a fall to m, a rise."""
    plateau = [2.0 - (1e-4 * i if drift else 0.0) for i in range(p + 1)]
    fall = [1.5 - (i - p - 1) / (m - p) for i in range(p + 1, m + 1)]
    rise = [fall[-1] + 0.01 * (i - m) for i in range(m + 1, n)]
    return plateau + fall + rise


@pytest.mark.parametrize("n", [40, 57, 100, 163])
@pytest.mark.parametrize("drift", [False, True])
def test_the_fastai_pick_is_what_the_rule_picks_when_run(n, drift):
    """The closed form (the reference's too) against lr_finder.fastai_valley run on every admissible shape."""
    from lrcourse import lr_finder

    lrs = lr_finder.lr_schedule_exp(1e-5, 1.0, n)
    shapes = [(p, m) for m in range(n // 10 + 2, n - 5) for p in range(0, m - 1)]
    for p, m in shapes[:: max(1, len(shapes) // 150)]:
        ran = lrs.index(lr_finder.fastai_valley(lrs, _curve(n, p, m, drift)))
        assert ran == _pick(n, p, m, drift), (n, p, m, drift)


def test_fastai_pick_right(capsys):
    chk.range_fastai_pick(_pick)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong",
    [
        lambda n, p, m, drift: (p + m) // 2,  # the middle of the fall
        lambda n, p, m, drift: _pick(n, p, m, False),  # a drifting plateau counted as one point
        lambda n, p, m, drift: _pick(n, p, m, drift) + 1,  # max_start taken as the subsequence's first point
        lambda n, p, m, drift: _pick(n, p, m, drift, cut=0),  # forgets that the first tenth is cut
        None,
    ],
)
def test_fastai_pick_wrong(wrong):
    with pytest.raises(CheckFailed, match="range_fastai_pick"):
        chk.range_fastai_pick(wrong)


def test_ema_lag_accepts_the_mean_age_and_rejects_the_window_length():
    def lag(step, beta, start_lr, end_lr, num_iter):
        w = [beta**k for k in range(step + 1)]
        return sum(k * x for k, x in enumerate(w)) / sum(w) * math.log10(end_lr / start_lr) / (num_iter - 1)

    chk.range_ema_lag(lag)

    def window(step, beta, start_lr, end_lr, num_iter):  # 1/(1-beta) steps, ignoring the start
        return 1 / (1 - beta) * math.log10(end_lr / start_lr) / (num_iter - 1)

    with pytest.raises(CheckFailed, match="mean age"):
        chk.range_ema_lag(window)
