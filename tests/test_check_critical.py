"""Every checker of lrcourse.check.critical passes a right answer and rejects typical wrong ones."""

from __future__ import annotations

import pytest

from lrcourse.check import CheckFailed
from lrcourse.check import critical as chk


def test_nesterov_max_lr() -> None:
    chk.nesterov_max_lr(lambda h, mu: 2 * (1 + mu) / (h * (1 + 2 * mu)))
    with pytest.raises(CheckFailed, match="nesterov_max_lr"):
        chk.nesterov_max_lr(lambda h, mu: 2 * (1 + mu) / h)  # heavy ball's limit, not Nesterov's
    with pytest.raises(CheckFailed, match="nesterov_max_lr"):
        chk.nesterov_max_lr(lambda h, mu: 2 / h)  # chapter 1's limit, momentum ignored


def test_runs_confirm_the_formula() -> None:
    limit = 2 * 1.9 / 2.8
    assert chk._nesterov_converges(1.0, 0.9, 0.98 * limit)
    assert not chk._nesterov_converges(1.0, 0.9, 1.02 * limit)
