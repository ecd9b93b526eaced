"""`make gpu-check`: every chapter under LRCOURSE_PROFILE=gpu on a machine with a GPU, in 10 minutes.

For each chapter (and each seed offset asked for) it records the wall time, the precision that
``lrcourse.runtime.precision`` chose, the data it ran on (real files, or synthetic files in the
real format where the download cannot happen: the GPU machine has no network, and those rows
are marked), and the printed output of its claims-check cells (their margins). Chapters run in
their own processes, ``--jobs`` at a time. Then ``fit`` against a bare loop over index slices and
against a ``DataLoader`` loop on the GPU; the capstone's recipe timed at its real size on
made-up pictures of CIFAR-10's shape (a step's time does not depend on the pictures); and the
capstone's time to 94 % when real CIFAR-10 files are present. It writes ``benchmarks/gpu/RESULTS.md``.

Chapters start until the budget (``--budget``, 540 s) is spent; the rest are listed as not
run. ``--tiny`` runs the same code at the smoke size (``LRCOURSE_SMOKE=1``, claims cells left
out) on whatever device there is, so that CI exercises this script on a CPU; its figures are
not measurements and RESULTS says so.

    python benchmarks/gpu/check.py                   # on the GPU machine
    python benchmarks/gpu/check.py --jobs 8 --offsets 0 100 --keep /tmp/executed   # both seed sets, 8 at a time
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


def run_one(md: Path, tiny: bool, timeout: int, kinds: dict[str, str], keep: Path | None = None) -> dict:
    """Execute one chapter (this process's environment: profile, data, seed offset); return its row."""
    import nbformat

    from tests.test_smoke import run_notebook, smoke_notebook

    offset = int(os.environ.get("LRCOURSE_SEED_OFFSET", "0"))
    row = {"chapter": md.stem, "offset": offset, "data": _chapter_data(md, kinds)}
    nb = smoke_notebook(md) if tiny else __import__("jupytext").read(md)
    claims = [i for i, c in enumerate(nb.cells) if "claims" in c.get("metadata", {}).get("tags", [])]
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    started = time.perf_counter()
    try:
        nb = run_notebook(nb, timeout=timeout)
        status = "passed"
    except Exception as err:  # noqa: BLE001 - a failing chapter is a result to record, not a crash
        if "Timeout" in type(err).__name__:  # nbclient's CellTimeoutError: the budget, not the chapter
            status = f"stopped at the budget's end ({timeout} s)"
        else:
            status = f"FAILED: {(str(err).strip().splitlines() or [type(err).__name__])[-1][:200]}"
    seconds = time.perf_counter() - started
    if keep is not None:  # the executed notebook, text outputs only (figures dropped to keep it small)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                out.get("data", {}).pop("image/png", None)
        keep.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, keep / f"{md.stem}_offset{offset}.ipynb")
    report = {}
    outputs = {i: _text(nb.cells[i]) for i in claims}
    for line in _text(nb.cells[-1]).splitlines():
        if line.startswith("LRCOURSE_REPORT "):
            report = json.loads(line.split(" ", 1)[1])
    extra = [ln for c in nb.cells for ln in _text(c).splitlines() if ln.startswith("CIFAR-10 speedrun on")]
    return {**row, **report, "status": status, "seconds": seconds,
            "claims": "\n".join(outputs.values()).strip(), "capstone": extra}


def run_chapters(chapters: list[Path], offsets: list[int], tiny: bool, budget: float, kinds: dict[str, str],
                 jobs: int = 1, keep: Path | None = None) -> list[dict]:
    """Every (chapter, seed offset) in its own process, ``jobs`` at a time, until ``budget`` seconds are spent.

    Each runs in a fresh ``python check.py --worker`` (its own kernel, its own CUDA context), so
    one chapter's crash or hang never takes the others down. A run that cannot start with 30 s
    left is listed as not run; a running one is stopped at the budget's end.
    """
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.perf_counter() + budget
    threads = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))

    def one(job: tuple[Path, int]) -> dict:
        md, offset = job
        row = {"chapter": md.stem, "offset": offset, "data": _chapter_data(md, kinds)}
        left = deadline - time.perf_counter()
        if left < 30:
            return {**row, "status": "not run (budget spent)"}
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "row.json"
            cmd = [sys.executable, __file__, "--worker", str(md), "--row", str(out), "--timeout", str(int(left))]
            cmd += ["--tiny"] * tiny + (["--keep", str(keep)] if keep else [])
            env = {**os.environ, "LRCOURSE_SEED_OFFSET": str(offset), "OMP_NUM_THREADS": threads}
            started = time.perf_counter()
            try:
                subprocess.run(cmd, env=env, timeout=left + 60, check=False, cwd=ROOT)
            except subprocess.TimeoutExpired:
                pass
            if out.exists():
                row = json.loads(out.read_text())
            else:
                row = {**row, "status": "FAILED: the worker process died or outran the budget",
                       "seconds": time.perf_counter() - started}
        print(f"{row.get('seconds', 0):7.1f} s  {md.stem} (seed offset {offset})  {row.get('precision', '?')}  "
              f"{row['status']}", flush=True)
        return row

    jobs_list = [(md, off) for off in offsets for md in chapters]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(one, jobs_list))


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
    lines = ["| device | batch | steps | DataLoader steps/s | fit steps/s | bare loop steps/s | fit / DataLoader "
             "| fit / bare |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for batch_size in (128,) if tiny else (32, 128, 512):
        repeats = 1 if tiny else 3
        loops = {"DataLoader": bf._dataloader_loop, "fit": bf._fit, "bare": bf._sliced_loop}
        timed = bf._time(loops, data, batch_size, 1 if tiny else 3, repeats=repeats)  # in turn, round after round
        (t_ref, n), (t_fit, _), (t_bare, _) = timed["DataLoader"], timed["fit"], timed["bare"]
        lines.append(f"| {dev.type} | {batch_size} | {n} | {n / t_ref:.0f} | {n / t_fit:.0f} | {n / t_bare:.0f} "
                     f"| {t_ref / t_fit:.2f}x | {t_bare / t_fit:.2f} |")
    return lines


def speedrun_time(tiny: bool, seeds: int = 3) -> list[str]:
    """The capstone's recipe at its real size (50,000 training images, 9.9 epochs, batch 1024) on made-up pictures.

    The time of a step does not depend on what the pictures show, so this measures the recipe's
    training time on this GPU without the real files; the accuracy on made-up pictures means
    nothing and is not reported. A warm-up run first pays for ``cudnn.benchmark``'s autotuning.
    """
    import statistics

    from lrcourse import speedrun

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    n_train, n_test, widths, epochs = (50_000, 10_000, speedrun.WIDTHS, 9.9) if not tiny else (256, 64, (8, 16, 16), 1)
    data = speedrun.synthetic_cifar10(n_train, n_test, device=dev)
    speedrun.train(data, epochs=epochs, widths=widths, seed=0, tta=False)  # warm-up
    runs = [speedrun.train(data, epochs=epochs, widths=widths, seed=s, tta=False) for s in range(1, seeds + 1)]
    return [f"The recipe at {'its real size' if not tiny else 'a tiny size (a dry run)'} ({n_train:,} training images, "
            f"{epochs} epochs, batch 1024, "
            f"widths {tuple(widths)}) on made-up pictures of CIFAR-10's shape: {runs[0].steps} steps in a median "
            f"{statistics.median(r.seconds for r in runs):.2f} s of training "
            f"(seeds 1-{seeds}: {', '.join(f'{r.seconds:.2f}' for r in runs)} s; after a warm-up run; "
            f"{runs[0].precision} on {runs[0].device}). The time of a step does not depend on what the pictures "
            "show; the accuracy does, so it is not reported."]


def write(out: Path, rows: list[dict], bench: list[str], tiny: bool, kinds: dict[str, str], total: float,
          speed: list[str] | None = None, jobs: int = 1) -> None:
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
              f"{jobs} at a time, each in its own process (the wall times include sharing the GPU and the CPU).", "",
              "| chapter | seed offset | s | precision | data | status |", "| --- | ---: | ---: | --- | --- | --- |"]
    for r in rows:
        secs = f"{r['seconds']:.1f}" if "seconds" in r else "-"
        lines.append(f"| {r['chapter']} | {r.get('offset', 0)} | {secs} | {r.get('precision', '-')} | {r['data']} "
                     f"| {r['status']} |")
    lines += ["", "## Claims checks (each chapter's printed margins)", ""]
    for r in rows:
        if r.get("claims"):
            lines += [f"### {r['chapter']} (seed offset {r.get('offset', 0)})", "", "```", r["claims"], "```", ""]
    if tiny:
        lines += ["(claims cells are left out at the smoke size)", ""]
    lines += ["## `fit` against a bare loop and a `DataLoader` loop", "",
              "MLP 40-256-256-10 on MNIST-1D, SGD with momentum, 3 epochs, best of 3 rounds, the loops timed "
              "in turn within a round (`bench_fit.py`'s `_time`).", ""]
    lines += bench
    capstone = [ln for r in rows for ln in r.get("capstone", [])]
    lines += ["", "## Capstone: time to 94 % on CIFAR-10", ""]
    if kinds.get("cifar10") == "real" and capstone:
        lines += capstone
    else:
        lines += ["Unmeasured: no real CIFAR-10 files on this machine (put them under "
                  f"{os.environ.get('LRCOURSE_REAL_DATA', data_dir())}/cifar10 to measure it)."]
    if speed:
        lines += ["", "### The recipe's training time at its real size", ""] + speed
    out.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke size, on any device: exercises the script")
    parser.add_argument("--chapters", nargs="*", help="chapter numbers, e.g. 03 15 (default: all)")
    parser.add_argument("--budget", type=float, default=540.0, help="seconds for the chapters (default 540)")
    parser.add_argument("--out", type=Path, help="default: benchmarks/gpu/RESULTS.md (with --tiny: a temp file)")
    parser.add_argument("--jobs", type=int, default=1, help="chapters run at the same time (default 1)")
    parser.add_argument("--offsets", type=int, nargs="*", default=[0], help="seed offsets to run each chapter at")
    parser.add_argument("--keep", type=Path, help="a folder for the executed notebooks (text outputs only)")
    parser.add_argument("--no-bench", action="store_true", help="skip fit's timing and the recipe's timing")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # internal: run one chapter, write --row
    parser.add_argument("--row", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=int, default=600, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kinds = json.loads(os.environ.get("LRCOURSE_GPU_CHECK_KINDS", "{}"))
        args.row.write_text(json.dumps(run_one(args.worker, args.tiny, args.timeout, kinds, args.keep)))
        return
    if args.out is None:
        args.out = Path(tempfile.gettempdir()) / "gpu_check_tiny.md" if args.tiny else Path(__file__).with_name("RESULTS.md")
    order = [c.zfill(2) for c in args.chapters or []]  # the order given (longest first pays with --jobs)
    chapters = sorted((md for md in CHAPTERS if not order or md.name[:2] in order),
                      key=lambda md: order.index(md.name[:2]) if order else md.name)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        root, kinds = _data_root(args.tiny, Path(scratch))
        os.environ.update(LRCOURSE_REAL_DATA=str(data_dir()))  # where real files would go, for the report
        os.environ.update(LRCOURSE_PROFILE="gpu", LRCOURSE_DATA=str(root), MPLBACKEND="Agg",
                          LRCOURSE_GPU_CHECK_KINDS=json.dumps(kinds))
        os.environ.pop("LRCOURSE_SEED_OFFSET", None)
        if args.tiny:
            os.environ["LRCOURSE_SMOKE"] = "1"
        lrcourse.load("mnist1d", device="cpu")  # generated once here, not by every worker at the same time
        rows = run_chapters(chapters, args.offsets, args.tiny, args.budget, kinds, args.jobs, args.keep)
        bench = [] if args.no_bench else bench_fit(args.tiny)
        speed = [] if args.no_bench else speedrun_time(args.tiny)
    write(args.out, rows, bench, args.tiny, kinds, time.perf_counter() - started, speed, args.jobs)
    print(f"wrote {args.out}")
    if any(r["status"].startswith("FAILED") for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
