"""`make gpu-check` (benchmarks/gpu/check.py) exercised on the CPU: its --tiny mode on one chapter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_tiny_and_says_unmeasured(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu" / "check.py"), "--tiny", "--chapters", "10",
         "--out", str(out)],
        check=True, cwd=ROOT, env=env, timeout=600,
    )
    text = out.read_text()
    assert "**Unmeasured.**" in text and "| 10_mse_vs_ce |" in text and "passed" in text
    assert "fashion_mnist: synthetic (real format" in text  # no network here: synthetic files, marked so
    assert "fp32" in text and "fit / DataLoader" in text and "| 10_mse_vs_ce | 0 |" in text  # chapter, seed offset
    assert "The recipe at a tiny size (a dry run)" in text  # the capstone's recipe timed on made-up pictures
    assert "time to 94 %" in text and "Unmeasured: no real CIFAR-10" in text
