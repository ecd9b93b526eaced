"""``fit`` and ``range_test`` give bit-identical numbers to the stored fingerprints (tests/golden.json).

The fixture pins histories, final weights, the global RNG state after each call, range-test
curves and suggestions on small CPU configs (constant and scheduled rates, momentum
schedules, clipping, param groups, an LRScheduler, divergence, augmentation, accumulation,
validation data, repeats, two seeds, float32). A refactor of the training step must keep it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import golden

STORED = json.loads((Path(__file__).parent / "golden.json").read_text())


@pytest.fixture(scope="module")
def now() -> dict:
    return golden.snapshot()


@pytest.mark.parametrize("kind", ["fit", "range_test"])
def test_bit_identical_to_the_stored_fingerprints(now: dict, kind: str) -> None:
    assert sorted(now[kind]) == sorted(STORED[kind])
    for name, stored in STORED[kind].items():
        got = now[kind][name]
        for key in stored:
            assert got[key] == stored[key], f"{kind}/{name}: {key} changed"
