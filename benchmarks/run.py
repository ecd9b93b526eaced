"""Run every benchmark in this folder (each bench_*.py has a main()) and print its table.

    make bench            # all of them
    python benchmarks/run.py fit range_test   # some of them
"""

from __future__ import annotations

import importlib.util
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line),
        platform.processor() or "unknown CPU",
    ) if Path("/proc/cpuinfo").exists() else platform.processor()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {torch.get_num_threads()} threads, {gpu}, torch {torch.__version__}"


def main(names: list[str]) -> None:
    print(f"# lrcourse benchmarks on {machine()}\n")
    files = sorted(HERE.glob("bench_*.py"))
    if names:
        files = [f for f in files if f.stem.removeprefix("bench_") in names]
    for path in files:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        start = time.perf_counter()
        module.main()
        print(f"({path.name}: {time.perf_counter() - start:.1f} s)\n")


if __name__ == "__main__":
    main(sys.argv[1:])
