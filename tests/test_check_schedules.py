"""Every checker of lrcourse.check.schedules passes a right answer and rejects typical wrong ones."""

from __future__ import annotations

import math

import pytest

from lrcourse import schedules as sch
from lrcourse.check import CheckFailed
from lrcourse.check import schedules as chk


def _first_below(x, hi, t0, mult, lo):
    if x > hi:
        return 0
    if x <= lo:
        return None
    start, length = 0, t0
    while True:  # inside a cycle of `length` steps the rate is below x once cos(pi t / length) < c
        t = math.floor(length * math.acos(2 * (x - lo) / (hi - lo) - 1) / math.pi) + 1
        if t < length:
            return start + t
        if mult == 1:
            return None
        start, length = start + length, length * mult


def _walk_below(x, hi, t0, mult, lo, limit=10**5):
    """Walk SGDR step by step (right wherever the answer comes within `limit` steps)."""
    t_cur, t_i = 0, t0
    for step in range(limit):
        if lo + (hi - lo) * (1 + math.cos(math.pi * t_cur / t_i)) / 2 < x:
            return step
        t_cur += 1
        if t_cur == t_i:
            t_cur, t_i = 0, t_i * mult
    return None


def _restarts(t0, mult, total):
    out, at, length = [], t0, t0
    while at < total:
        out.append(at)
        length *= mult
        at += length
    return out


def _floor(lr, T, h, s, x0):
    q = (1 - lr * h) ** 2
    return h / 2 * (q**T * x0**2 + (lr * s) ** 2 * (T if q == 1 else (1 - q**T) / (1 - q)))


def _equal_distance(total, w, d):
    wsd = (w - 1) / 2 * (w > 0) + total - w - d + (d + 1) / 2
    return wsd / ((total + 1) / 2)


def _summed(total, w, d, limit=10**5):
    """Sum the library's schedules step by step (right wherever the run has at most `limit` steps)."""
    if total > limit:
        return None
    return sum(sch.wsd(1.0, total, w, d)(t) for t in range(total)) / sum(sch.cosine(1.0, total)(t) for t in range(total))


def _growth(lo, hi, n, h):
    out = 1.0
    for t in range(2 * n):
        out *= abs(1 - (lo + (hi - lo) * (1 - abs(t / n - 1))) * h)
    return out


RIGHT = {
    "sgdr_first_below": _first_below,
    "sgdr_restarts": _restarts,
    "noise_floor_loss": _floor,
    "wsd_equal_distance": _equal_distance,
    "noam_peak": lambda d, w: (w - 1, (d * w) ** -0.5),
    "cycle_growth": _growth,
}

WRONG = {
    "sgdr_first_below": [
        lambda x, hi, t0, mult, lo: _first_below(x, hi, t0, 1, lo),  # only ever looks at the first cycle
        lambda x, hi, t0, mult, lo: None if x > hi else _first_below(x, hi, t0, mult, lo),  # nothing above the peak
        lambda x, hi, t0, mult, lo: _first_below(x, hi, t0, mult, 0.0),  # forgets eta_min
        lambda x, hi, t0, mult, lo: _walk_below(x, hi, t0, mult, lo),  # walks the steps: a billion is too many
        lambda x, hi, t0, mult, lo: (lambda r: r if r is None else r - 1)(_first_below(x, hi, t0, mult, lo)),  # at or below
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
    "wsd_equal_distance": [
        lambda total, w, d: (2 * total - w - d) / total,  # the integrals: the cosine's sum taken as total / 2
        lambda total, w, d: (2 * total - w - d) / (total + 1),  # as if step 0 were at 0 without warmup too
        lambda total, w, d: (total + 1) / (2 * total - w - d),  # upside down
        lambda total, w, d: (2 * total - d + 1) / (total + 1),  # forgets the warmup
        _summed,  # sums step by step: a trillion steps are too many
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


@pytest.mark.parametrize("case", [(100, 10, 20), (100, 0, 100), (100, 0, 99), (100, 1, 99), (10, 2, 4), (1, 0, 1),
                                  (1000, 0, 200), (37, 5, 11), (7, 0, 3)])
def test_equal_distance_closed_form_is_the_library_summed(case):
    assert math.isclose(_equal_distance(*case), _summed(*case), rel_tol=1e-12)
