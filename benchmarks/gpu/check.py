"""`make gpu-check`: every chapter under LRCOURSE_PROFILE=gpu on a machine with a GPU, in 10 minutes.

For each chapter it records the wall time, the precision that ``lrcourse.runtime.precision``
chose, the data it ran on (real files, or synthetic files in the real format where the
download cannot happen: the GPU machine has no network, and those rows are marked), and
the printed output of its claims-check cells (their margins). Then ``fit`` against a bare
loop over index slices and against a ``DataLoader`` loop on the GPU, and the capstone's
time to 94 % when real CIFAR-10 files are present. It writes ``benchmarks/gpu/RESULTS.md``.

Chapters run in order until the budget (``--budget``, 540 s) is spent; the rest are listed
as not run. ``--tiny`` runs the same code at the smoke size (``LRCOURSE_SMOKE=1``, claims
cells left out) on whatever device there is, so that CI exercises this script on a CPU;
its figures are not measurements and RESULTS says so.

    python benchmarks/gpu/check.py                   # on the GPU machine
    python benchmarks/gpu/check.py --tiny --chapters 10 --out /tmp/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

import lrcourse  # noqa: E402
from lrcourse.data import SYNTHETIC_MARK, data_dir  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
REPORT = "import json, lrcourse, lrcourse.runtime as rt\nprint('LRCOURSE_REPORT ' + json.dumps({'precision': rt.precision(lrcourse.device()).name, 'device': str(lrcourse.device())}))\n"


def _data_root(tiny: bool, scratch: Path) -> tuple[Path, dict[str, str]]:
    """Real files where they are (``data_dir()``), synthetic ones in the real format where not."""
    from tests.synthetic import fake_cifar10, fake_fashion_mnist

    real = data_dir()
    kinds = {}
    root = scratch / "data"
    root.mkdir(parents=True, exist_ok=True)
    for cached in real.glob("mnist1d_seed*.pt"):
        (root / cached.name).symlink_to(cached)
    for name, folder, writer, kwargs in (
        ("fashion_mnist", "FashionMNIST", fake_fashion_mnist, dict(n_train=2000, n_test=500)),
        ("cifar10", "cifar-10-batches-py", fake_cifar10, dict(per_batch=400)),
    ):
        present = (real / name / folder).exists() and not (real / name / SYNTHETIC_MARK).exists()
        if present and not tiny:
            (root / name).symlink_to(real / name)
            kinds[name] = "real"
        else:
            writer(root, **kwargs)
            kinds[name] = "synthetic (real format, made-up pictures; no network here)"
    return root, kinds


def _chapter_data(md: Path, kinds: dict[str, str]) -> str:
    text = md.read_text()
    used = [k for k in kinds if f'"{k}"' in text]
    return "; ".join(f"{k}: {kinds[k]}" for k in used) or "offline (MNIST-1D, toys)"


def run_chapters(chapters: list[Path], tiny: bool, budget: float, kinds: dict[str, str]) -> list[dict]:
    import nbformat

    from tests.test_smoke import run_notebook, smoke_notebook

    rows, spent = [], 0.0
    for md in chapters:
        row = {"chapter": md.stem, "data": _chapter_data(md, kinds)}
        left = budget - spent
        if left < 30:
            rows.append({**row, "status": "not run (budget spent)"})
            continue
        nb = smoke_notebook(md) if tiny else __import__("jupytext").read(md)
        claims = [i for i, c in enumerate(nb.cells) if "claims" in c.get("metadata", {}).get("tags", [])]
        nb.cells.append(nbformat.v4.new_code_cell(REPORT))
        started = time.perf_counter()
        try:
            nb = run_notebook(nb, timeout=int(left))
            status = "passed"
        except Exception as err:  # noqa: BLE001 - a failing chapter is a result to record, not a crash
            status = f"FAILED: {str(err).strip().splitlines()[-1][:200]}"
        seconds = time.perf_counter() - started
        spent += seconds
        report = {}
        outputs = {i: _text(nb.cells[i]) for i in claims}
        for line in _text(nb.cells[-1]).splitlines():
            if line.startswith("LRCOURSE_REPORT "):
                report = json.loads(line.split(" ", 1)[1])
        extra = [ln for c in nb.cells for ln in _text(c).splitlines() if ln.startswith("CIFAR-10 speedrun on")]
        rows.append({**row, **report, "status": status, "seconds": seconds,
                     "claims": "\n".join(outputs.values()).strip(), "capstone": extra})
        print(f"{seconds:7.1f} s  {md.stem}  {report.get('precision', '?')}  {status}", flush=True)
    return rows


def _text(cell) -> str:  # noqa: ANN001
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(parts)


def bench_fit(tiny: bool) -> list[str]:
    """``fit`` vs a bare loop over index slices vs a ``DataLoader`` loop, steps/s on this machine's device."""
    import bench_fit as bf

    dev = lrcourse.device() if not tiny else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = lrcourse.load("mnist1d", device=dev)
    if tiny:
        data = data.subset(512, 256)
    lines = ["| device | batch | steps | DataLoader steps/s | fit steps/s | bare loop steps/s | fit / DataLoader |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for batch_size in (128,) if tiny else (32, 128, 512):
        repeats = 1 if tiny else 5
        loops = {"DataLoader": bf._dataloader_loop, "fit": bf._fit, "bare": bf._sliced_loop}
        timed = bf._time(loops, data, batch_size, 1 if tiny else 3, repeats=repeats)  # in turn, round after round
        (t_ref, n), (t_fit, _), (t_bare, _) = timed["DataLoader"], timed["fit"], timed["bare"]
        lines.append(f"| {dev.type} | {batch_size} | {n} | {n / t_ref:.0f} | {n / t_fit:.0f} | {n / t_bare:.0f} "
                     f"| {t_ref / t_fit:.2f}x |")
    return lines


def write(out: Path, rows: list[dict], bench: list[str], tiny: bool, kinds: dict[str, str], total: float) -> None:
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    lines = ["# GPU check (`make gpu-check`)", ""]
    if tiny or not torch.cuda.is_available():
        lines += ["**Unmeasured.** This file was written by a dry run (`--tiny`, the smoke size, or no GPU): "
                  "its figures test the script and measure nothing about a GPU. "
                  "Run `make gpu-check` on a machine with a GPU to fill it.", ""]
    lines += [f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; GPU: {gpu}; torch {torch.__version__}; "
              f"Python {platform.python_version()}; {'tiny (LRCOURSE_SMOKE=1)' if tiny else 'profile gpu'}; "
              f"total {total:.0f} s.", "",
              "Data: " + "; ".join(f"{k}: {v}" for k, v in kinds.items()) + ".", "",
              "## Chapters", "",
              "| chapter | s | precision | data | status |", "| --- | ---: | --- | --- | --- |"]
    for r in rows:
        secs = f"{r['seconds']:.1f}" if "seconds" in r else "-"
        lines.append(f"| {r['chapter']} | {secs} | {r.get('precision', '-')} | {r['data']} | {r['status']} |")
    lines += ["", "## Claims checks (each chapter's printed margins)", ""]
    for r in rows:
        if r.get("claims"):
            lines += [f"### {r['chapter']}", "", "```", r["claims"], "```", ""]
    if tiny:
        lines += ["(claims cells are left out at the smoke size)", ""]
    lines += ["## `fit` against a bare loop and a `DataLoader` loop", "",
              "MLP 40-256-256-10 on MNIST-1D, SGD with momentum, 3 epochs, best of 5 (`bench_fit.py`'s loops).", ""]
    lines += bench
    capstone = [ln for r in rows for ln in r.get("capstone", [])]
    lines += ["", "## Capstone: time to 94 % on CIFAR-10", ""]
    if kinds.get("cifar10") == "real" and capstone:
        lines += capstone
    else:
        lines += ["Unmeasured: no real CIFAR-10 files on this machine (put them under "
                  f"{data_dir() / 'cifar10'} to measure it)."]
    out.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke size, on any device: exercises the script")
    parser.add_argument("--chapters", nargs="*", help="chapter numbers, e.g. 03 15 (default: all)")
    parser.add_argument("--budget", type=float, default=540.0, help="seconds for the chapters (default 540)")
    parser.add_argument("--out", type=Path, help="default: benchmarks/gpu/RESULTS.md (with --tiny: a temp file)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = Path(tempfile.gettempdir()) / "gpu_check_tiny.md" if args.tiny else Path(__file__).with_name("RESULTS.md")
    chapters = [md for md in CHAPTERS if not args.chapters or md.name[:2] in {c.zfill(2) for c in args.chapters}]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        root, kinds = _data_root(args.tiny, Path(scratch))
        os.environ.update(LRCOURSE_PROFILE="gpu", LRCOURSE_DATA=str(root), MPLBACKEND="Agg")
        os.environ.pop("LRCOURSE_SEED_OFFSET", None)
        if args.tiny:
            os.environ["LRCOURSE_SMOKE"] = "1"
        rows = run_chapters(chapters, args.tiny, args.budget, kinds)
    bench = bench_fit(args.tiny)
    write(args.out, rows, bench, args.tiny, kinds, time.perf_counter() - started)
    print(f"wrote {args.out}")
    if any(r["status"].startswith("FAILED") for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
