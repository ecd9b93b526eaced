"""``fit`` and ``range_test`` reproduce the stored fingerprints (tests/golden.json).

The fixture pins histories, final weights, the global RNG state after each call, range-test
curves and suggestions on small CPU configs (constant and scheduled rates, momentum
schedules, clipping, param groups, an LRScheduler, divergence, augmentation, accumulation,
validation data, repeats, two seeds, float32). A refactor of the training step must keep it.

On the machine the fixture was recorded on (same torch build, same CPU kernels) the
comparison is bit for bit. Elsewhere rounding differs in the last bits (try
``ATEN_CPU_CAPABILITY=default``) and training near divergence amplifies that difference
(a range test's last steps at the largest rates move by tens of percent): the first half of
every recorded sequence must then agree to 1e-3 relative, while the weight and RNG hashes
and the suggestions' sentences, which depend on the chaotic tail, are left out.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tests import golden

STORED = json.loads((Path(__file__).parent / "golden.json").read_text())
EXACT = STORED["machine"] == golden.machine()
HASH = re.compile(r"[0-9a-f]{24}")


def _number(text: str) -> float | None:
    try:
        return float.fromhex(text)
    except ValueError:
        return None


def same(got: Any, stored: Any, exact: bool, rtol: float = 1e-3) -> bool:
    """Equal bit for bit when ``exact``; else the first half of a list within ``rtol``, hashes ignored.

    >>> same(["0x1.0000000000000p+0", 3], ["0x1.0000100000000p+0", 3], exact=False)
    True
    >>> same(["0x1.0p+0", "0x1.0p+0"], ["0x1.0p+0", "0x1.8p+0"], exact=False)  # the tail may drift
    True
    >>> same(["0x1.0000000000000p+0"], ["0x1.0000100000000p+0"], exact=True)
    False
    >>> same("0x1.0p+0", "0x1.1p+0", exact=False)
    False
    """
    if exact:
        return got == stored
    if isinstance(stored, list) and isinstance(got, list):
        head = (len(stored) + 1) // 2
        return len(got) == len(stored) and all(same(g, s, exact, rtol) for g, s in zip(got[:head], stored[:head]))
    if isinstance(stored, str) and isinstance(got, str):
        if HASH.fullmatch(stored):
            return HASH.fullmatch(got) is not None
        a, b = _number(got), _number(stored)
        if a is not None and b is not None:
            return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=1e-6)
    return got == stored


@pytest.fixture(scope="module")
def now() -> dict:
    return golden.snapshot()


@pytest.mark.parametrize("kind", ["fit", "range_test"])
def test_same_as_the_stored_fingerprints(now: dict, kind: str) -> None:
    assert sorted(now[kind]) == sorted(STORED[kind])
    for name, stored in STORED[kind].items():
        got = now[kind][name]
        for key in stored:
            if not EXACT and key == "suggest":
                continue
            how = "bit for bit" if EXACT else "first half to 1e-3"
            assert same(got[key], stored[key], EXACT), f"{kind}/{name}: {key} changed ({how})"
