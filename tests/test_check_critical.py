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


def test_predicted_cliff() -> None:
    from torch.nn import functional as F

    from lrcourse import landscape

    def right(m, x, y):
        return 2 / landscape.top_hessian_eigenvalues(m, F.cross_entropy, x, y, k=1)[0].item()

    chk.predicted_cliff(right)
    with pytest.raises(CheckFailed, match="predicted_cliff"):
        chk.predicted_cliff(lambda m, x, y: right(m, x, y) / 2)  # 1/λ_max: the one-step rate, not the limit
    with pytest.raises(CheckFailed, match="predicted_cliff"):  # the sum of the losses instead of the mean
        chk.predicted_cliff(lambda m, x, y: right(m, x, y) / len(x))
