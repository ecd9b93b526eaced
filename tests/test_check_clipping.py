"""Every clipping checker passes a right answer and rejects a wrong one."""

from __future__ import annotations

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import clipping as check


def test_clip_per_tensor() -> None:
    check.clip_per_tensor(lambda gs, c: [g * min(1.0, c / (g.norm().item() + 1e-6)) for g in gs])
    with pytest.raises(CheckFailed, match="clip_per_tensor"):  # the global norm is a different rule
        check.clip_per_tensor(lambda gs, c: [g * min(1.0, c / (torch.cat([h.flatten() for h in gs]).norm().item() + 1e-6)) for g in gs])


def test_momentum_step_bound() -> None:
    check.momentum_step_bound(lambda lr, c, mu, k: lr * c * (1 - mu**k) / (1 - mu) if mu < 1 else lr * c * k)
    with pytest.raises(CheckFailed, match="momentum_step_bound"):
        check.momentum_step_bound(lambda lr, c, mu, k: lr * c)  # the plain-SGD bound


def test_explosion_length() -> None:
    import math

    check.explosion_length(lambda u, f: math.ceil(math.log(f) / math.log(u) - 1e-9))
    with pytest.raises(CheckFailed, match="explosion_length"):
        check.explosion_length(lambda u, f: int(math.log(f) / math.log(u)))  # floor: one step short


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("clip_per_tensor", lambda gs, c: list(gs)),
        ("momentum_step_bound", lambda lr, c, mu, k: lr * c),
        ("explosion_length", lambda u, f: 0),
    ],
)
def test_hints_guide_without_the_answer(name: str, wrong) -> None:
    """A hint names the idea and the edge case; it does not spell out the formula or the code of the answer."""
    with pytest.raises(CheckFailed) as err:
        getattr(check, name)(wrong)
    hint = str(err.value).split("Hint:", 1)[1]
    for answer in ["torch.clamp", "clamp(", "min(1", "c/‖g‖", "ceil(", "log(", "1 + μ", "μ^", "/ (‖g‖", "divide by"]:
        assert answer not in hint, f"{name}'s hint gives the answer away: {answer!r} in {hint!r}"
