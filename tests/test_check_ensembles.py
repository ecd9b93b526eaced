"""Each checker of the snapshot-ensembles chapter passes a right answer and rejects a wrong one."""

from __future__ import annotations

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import ensembles as C


def _two_member_range(ea, eb, d, k):
    lowest = max(0.0, 1 - (ea + eb + d) / 2)
    highest = 1 - (ea + eb - d) / 2 if k == 2 else min(1.0, 1 - max(ea, eb) + d)
    return lowest, highest


def test_two_member_accuracy_range_right(capsys):
    C.two_member_accuracy_range(_two_member_range)
    C.two_member_accuracy_range(lambda *a: list(_two_member_range(*a)))  # a list is fine
    assert capsys.readouterr().out.count("✅") == 2


def test_two_member_accuracy_range_brute_force():
    """The bounds are the extremes over every split of a small test set into kinds of examples."""
    from fractions import Fraction

    n, found = 8, {}
    for r in range(n + 1):  # both right
        for only_a in range(n + 1 - r):
            for only_b in range(n + 1 - r - only_a):
                for same in range(n + 1 - r - only_a - only_b):  # both wrong, on the same class
                    diff = n - r - only_a - only_b - same  # both wrong, on different classes
                    for k in (2, 10):
                        if k == 2 and diff:
                            continue
                        key = (Fraction(only_b + same + diff, n), Fraction(only_a + same + diff, n),
                               Fraction(only_a + only_b + diff, n), k)
                        lo, hi = Fraction(r, n), Fraction(r + only_a + only_b + diff, n)
                        old = found.get(key, (lo, hi))
                        found[key] = (min(old[0], lo), max(old[1], hi))
    for (ea, eb, d, k), (lo, hi) in found.items():
        f_lo, f_hi = _two_member_range(ea, eb, d, k)
        assert f_lo <= lo < f_lo + Fraction(1, n) and f_hi - Fraction(1, n) < hi <= f_hi  # whole examples round
        if (ea + eb + d) * n % 2 == 0:
            assert (lo, hi) == (f_lo, f_hi)


def test_two_member_accuracy_range_wrong():
    wrongs = [
        lambda ea, eb, d, k: _two_member_range(ea, eb, d, 2),  # the two-class answer for every k
        lambda ea, eb, d, k: _two_member_range(ea, eb, d, 10),  # the many-class answer for every k
        lambda ea, eb, d, k: (1 - (ea + eb + d) / 2, 1 - max(ea, eb) + d),  # no caps at 0 and 1
        lambda ea, eb, d, k: (1 - max(ea, eb), min(1.0, 1 - min(ea, eb) + d)),  # no worse than the worse member
        lambda ea, eb, d, k: _two_member_range(ea, eb, d, k)[::-1],  # (highest, lowest)
    ]
    for wrong in wrongs:
        with pytest.raises(CheckFailed, match="two_member_accuracy_range"):
            C.two_member_accuracy_range(wrong)


def _equal_mass(p, y, bins, descending=False, weighted=True):
    conf, pred = p.max(-1)
    right = (pred == y).float()
    order = conf.argsort(descending=descending)
    sizes = [len(order) // bins + (1 if k < len(order) % bins else 0) for k in range(bins)]
    total, start = 0.0, 0
    for n in sizes:
        group = order[start : start + n]
        start += n
        if n:
            gap = abs(right[group].mean().item() - conf[group].mean().item())
            total += (n / len(order) if weighted else 1 / min(bins, len(order))) * gap
    return total


def test_equal_mass_ece_right(capsys):
    C.equal_mass_ece(_equal_mass)
    C.equal_mass_ece(lambda p, y, bins: torch.tensor(_equal_mass(p, y, bins)))  # a 0-d tensor is fine
    assert capsys.readouterr().out.count("✅") == 2


def test_equal_mass_ece_wrong():
    from lrcourse.ensembles import expected_calibration_error

    def accuracy_gap_only(p, y, bins):  # no binning: |mean accuracy - mean confidence| over all examples
        conf, pred = p.max(-1)
        return abs((pred == y).float().mean().item() - conf.mean().item())

    wrongs = [
        expected_calibration_error,  # equal-width bins
        accuracy_gap_only,
        lambda p, y, bins: _equal_mass(p, y, bins, descending=True),  # the larger groups at the confident end
        lambda p, y, bins: _equal_mass(p, y, bins, weighted=False),  # every group weighs the same
    ]
    for wrong in wrongs:
        with pytest.raises(CheckFailed, match="equal_mass_ece"):
            C.equal_mass_ece(wrong)


def test_last_k_nll():
    def right(p, y):
        return [torch.nn.functional.nll_loss(p[-k:].mean(0).log(), y).item() for k in range(1, len(p) + 1)]

    C.last_k_nll(right)

    def first_k(p, y):
        return [torch.nn.functional.nll_loss(p[:k].mean(0).log(), y).item() for k in range(1, len(p) + 1)]

    def mean_of_losses(p, y):  # averages the members' losses, not their probabilities
        return [
            sum(torch.nn.functional.nll_loss(q.log(), y).item() for q in p[-k:]) / k for k in range(1, len(p) + 1)
        ]

    for wrong in (first_k, mean_of_losses):
        with pytest.raises(CheckFailed, match="last_k_nll"):
            C.last_k_nll(wrong)
