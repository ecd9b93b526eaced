"""Time per optimizer step and per epoch against the batch size (chapter 8's table).

The chapter's MLP (40 -> 128 -> 128 -> 10) and the 1-D CNN on MNIST-1D (4000 training
examples), SGD with momentum, on the device this runs on (CUDA when present, else CPU).
Each figure is the *minimum* over 20 single steps, which resists other load on a
shared machine (the file records the load average too). The table is printed and written, with the
machine it came from, to ``benchmarks/batch_size_<device>.md``.

    python benchmarks/bench_batch_size.py
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import torch
from torch.nn import functional as F

import lrcourse
from lrcourse import models

HERE = Path(__file__).resolve().parent
SIZES = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4000]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what platform knows)."""
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def seconds_per_step(model: torch.nn.Module, data: lrcourse.Data, batch: int, repeats: int = 20) -> float:
    """Minimum over ``repeats`` single steps of the seconds one SGD step takes.

    The minimum is the step least disturbed by other processes, which is what the
    hardware can do; on a quiet machine it is close to the mean.
    """
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x, y = data.x_train[:batch], data.y_train[:batch]
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    best = float("inf")
    for i in range(repeats + 3):  # the first three warm up
        sync()
        start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        if i >= 3:
            best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    dev = lrcourse.device() if torch.cuda.is_available() else torch.device("cpu")
    data = lrcourse.load("mnist1d", device=dev)
    n = len(data.x_train)
    rows = []
    for name, make in [("mlp", lambda: models.mlp(40, 10)), ("cnn1d", lambda: models.cnn1d())]:
        base = None
        for b in SIZES:
            torch.manual_seed(0)
            model = make().to(dev)
            t = seconds_per_step(model, data, b)
            epoch = t * lrcourse.data.num_batches(n, b)
            base = base or epoch
            rows.append((name, b, 1e3 * t, 1e3 * epoch, b / t, base / epoch))
    if dev.type == "cuda":
        where = torch.cuda.get_device_name()
    else:
        where = f"{cpu_model()}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"# Time per step and per epoch against batch size ({dev.type})",
        "",
        f"- machine: {where}",
        f"- torch {torch.__version__}, Python {platform.python_version()}",
        f"- measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; "
        f"1-minute load average at the end: {load:.1f} (the figures are minima over repeats)",
        f"- MNIST-1D, {n} training examples; SGD with momentum; `benchmarks/bench_batch_size.py`",
        "",
        "| model | batch | ms / step | ms / epoch | examples / s | epoch speed-up vs batch 8 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {m} | {b} | {s:.3f} | {e:.1f} | {r:,.0f} | {u:.1f}x |" for m, b, s, e, r, u in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / f"batch_size_{dev.type}.md").write_text(text)


if __name__ == "__main__":
    main()
