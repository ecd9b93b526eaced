"""Every checker of lrcourse.check.schedules passes a right answer and rejects typical wrong ones."""

from __future__ import annotations

import math

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import schedules as chk


def _sgdr(t, hi, t0, mult, lo):
    ti = t0
    while t >= ti:
        t, ti = t - ti, ti * mult
    return lo + (hi - lo) * (1 + math.cos(math.pi * t / ti)) / 2


def _restarts(t0, mult, total):
    out, at, length = [], t0, t0
    while at < total:
        out.append(at)
        length *= mult
        at += length
    return out


def _warm(t, peak, w, total):
    if t < w:
        return peak * t / w
    return peak * (1 + math.cos(math.pi * min(t - w, total - w) / (total - w))) / 2


def _tri2(t, lo, hi, n):
    cycle, x = divmod(t, 2 * n)
    return lo + (hi - lo) * (1 - abs(x / n - 1)) / 2**cycle


def _floor(lr, T, h, s, x0):
    q = (1 - lr * h) ** 2
    return h / 2 * (q**T * x0**2 + (lr * s) ** 2 * (T if q == 1 else (1 - q**T) / (1 - q)))


def _wsd(t, lr, total, w, d):
    if t < w:
        return lr * t / w
    return lr * min(1.0, (total - min(t, total)) / d)


def _growth(lo, hi, n, h):
    out = 1.0
    for t in range(2 * n):
        out *= abs(1 - (lo + (hi - lo) * (1 - abs(t / n - 1))) * h)
    return out


RIGHT = {
    "time_based_decay": lambda lr0, k, t: lr0 / (1 + k * t),
    "linear_warmup": _warm,
    "noam": lambda s, d, w: d**-0.5 * min((s + 1) ** -0.5, (s + 1) * w**-1.5),
    "triangular2": _tri2,
    "sgdr": _sgdr,
    "sgdr_restarts": _restarts,
    "noise_floor_loss": _floor,
    "wsd_schedule": _wsd,
    "noam_peak": lambda d, w: (w - 1, (d * w) ** -0.5),
    "cycle_growth": _growth,
}

WRONG = {
    "time_based_decay": [
        lambda lr0, k, t: lr0 / (k * t + 1e-12),  # forgot the 1
        lambda lr0, k, t: lr0 * math.exp(-k * t),  # exponential instead
    ],
    "linear_warmup": [
        lambda t, peak, w, total: peak * min(1, t / w),  # no decay after warmup
        lambda t, peak, w, total: _warm(t, peak, w, total + w),  # cosine over the whole run, not the rest
        lambda t, peak, w, total: peak * (t + 1) / w if t < w else _warm(t, peak, w, total),  # off by one
    ],
    "noam": [
        lambda s, d, w: d**-0.5 * min(max(s, 1) ** -0.5, max(s, 1) * w**-1.5),  # t = step
        lambda s, d, w: min((s + 1) ** -0.5, (s + 1) * w**-1.5),  # no d_model factor
    ],
    "triangular2": [
        lambda t, lo, hi, n: lo + (hi - lo) * (1 - abs((t % (2 * n)) / n - 1)),  # triangular
        lambda t, lo, hi, n: lo + (hi - lo) * (1 - abs((t % (2 * n)) / n - 1)) / 2 ** (t // n),  # halves per half
    ],
    "sgdr": [
        lambda t, hi, t0, mult, lo: _sgdr(t, hi, t0, 1, lo),  # ignores T_mult
        lambda t, hi, t0, mult, lo: lo + (hi - lo) * (1 + math.cos(math.pi * (t % t0) / t0)) / 2 if mult == 1
        else _sgdr(t, hi, t0, mult, 0.0),  # drops eta_min when T_mult > 1
    ],
    "sgdr_restarts": [
        lambda t0, mult, total: [0, *_restarts(t0, mult, total)],  # counts step 0
        lambda t0, mult, total: _restarts(t0, mult, total + 1),  # counts a restart at total
        lambda t0, mult, total: [t0 * (i + 1) for i in range(len(_restarts(t0, mult, total)))],  # T_mult ignored
    ],
    "noise_floor_loss": [
        lambda lr, T, h, s, x0: lr * s**2 / (2 * (2 - lr * h)),  # the floor alone, no transient
        lambda lr, T, h, s, x0: h / 2 * (1 - lr * h) ** (2 * T) * x0**2,  # the transient alone, no noise
        lambda lr, T, h, s, x0: h / 2 * ((1 - lr * h) ** T * x0**2 + lr**2 * s**2 * T),  # q to the power T/2
    ],
    "wsd_schedule": [
        lambda t, lr, total, w, d: lr * min(1.0, t / w) if w else lr,  # never decays
        lambda t, lr, total, w, d: _wsd(t, lr, total + 1, w, d),  # ends one step late
        lambda t, lr, total, w, d: lr * min(1.0, (t + 1) / max(w, 1), (total - min(t, total)) / d),  # warmup early
    ],
    "noam_peak": [
        lambda d, w: (w, (d * w) ** -0.5),  # t = step, not step + 1
        lambda d, w: (w - 1, w**-0.5),  # no d_model factor
    ],
    "cycle_growth": [
        lambda lo, hi, n, h: abs(1 - (lo + hi) / 2 * h) ** (2 * n),  # the mean rate's factor, not the product
        lambda lo, hi, n, h: _growth(lo, hi, n, h) ** 0.5,  # half a cycle
    ],
}


def test_every_checker_is_covered():
    assert set(RIGHT) == set(chk.__all__) == set(WRONG)


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_answer_passes(name, capsys):
    getattr(chk, name)(RIGHT[name])
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize("name, i", [(n, i) for n in sorted(WRONG) for i in range(len(WRONG[n]))])
def test_wrong_answer_fails_with_a_hint(name, i):
    with pytest.raises(CheckFailed, match="Hint"):
        getattr(chk, name)(WRONG[name][i])


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_missing_answer_says_so(name):
    def todo(*args):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="not implemented"):
        getattr(chk, name)(todo)
