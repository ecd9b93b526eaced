"""Benchmark of the LR range test (issue 3).

(a) ``lrcourse.lr_finder.range_test`` against the same number of plain training steps, timed
    in the same run: ``lrcourse.fit`` with ``max_steps`` (which also evaluates once per epoch),
    and a bare loop of forward/backward/step (the floor). Goal: overhead <= 10% over ``fit``.
(b) Against ``torch-lr-finder`` (``pip install torch-lr-finder``; a benchmark-only dependency)
    on the same model, data and iterations: time ratio, and the two suggestions side by side,
    each followed by a short training run at the suggested rate.

Run it alone (``python benchmarks/bench_range_test.py``) or through ``benchmarks/run.py``,
which calls :func:`main`. Timings use one CPU thread (or the GPU when there is one) and report
the median of several repeats.
"""

from __future__ import annotations

import contextlib
import io
import math
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

import lrcourse
from lrcourse import lr_finder, models

NUM_ITER = 100
BATCH = 128
REPEATS = 5


def _median_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _setup(data: lrcourse.Data) -> tuple[nn.Module, torch.optim.Optimizer]:
    lrcourse.seed_everything(0)
    model = models.mlp(math.prod(data.input_shape), data.num_classes).to(data.x_train.device)
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def _final_loss(data: lrcourse.Data, lr: float, epochs: int = 6) -> float:
    model, opt = _setup(data)
    for g in opt.param_groups:
        g["lr"] = lr
    hist = lrcourse.fit(model, data, opt, epochs=epochs, batch_size=BATCH, seed=0, progress=False)
    return math.inf if hist.diverged else hist.final("train_loss")


def overhead(data: lrcourse.Data) -> dict[str, float]:
    """Seconds for NUM_ITER steps: range test, fit, bare loop (LR range chosen so the test never stops early)."""
    model, opt = _setup(data)
    steps_per_epoch = math.ceil(len(data.x_train) / BATCH)

    def rt() -> None:
        r = lr_finder.range_test(
            model, data, opt, start_lr=1e-4, end_lr=1e-1, num_iter=NUM_ITER, batch_size=BATCH, seed=0, progress=False
        )
        assert len(r.lrs) == NUM_ITER, r.stopped

    def fit() -> None:
        m, o = _setup(data)
        epochs = math.ceil(NUM_ITER / steps_per_epoch)
        h = lrcourse.fit(m, data, o, epochs=epochs, max_steps=NUM_ITER, batch_size=BATCH, seed=0,
                         eval_train=False, progress=False)
        assert h.steps == NUM_ITER

    def bare() -> None:
        m, o = _setup(data)
        gen = torch.Generator().manual_seed(0)
        n, done = len(data.x_train), 0
        while done < NUM_ITER:
            for idx in lrcourse.data.batches(n, BATCH, generator=gen, device=data.x_train.device):
                loss = nn.functional.cross_entropy(m(data.x_train[idx]), data.y_train[idx])
                o.zero_grad(set_to_none=True)
                loss.backward()
                o.step()
                loss.item()
                done += 1
                if done == NUM_ITER:
                    break

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the test cycles the data; that is expected here
        return {"range_test": _median_seconds(rt), "fit": _median_seconds(fit), "bare": _median_seconds(bare)}


def against_torch_lr_finder(data: lrcourse.Data) -> None:
    """Time and suggestions of torch-lr-finder and lrcourse on the same model, data and iterations."""
    try:
        from torch_lr_finder import LRFinder
    except ImportError:
        print("torch-lr-finder not installed: pip install torch-lr-finder")
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dev = data.x_train.device
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data.x_train, data.y_train),
        batch_size=BATCH,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    model, opt = _setup(data)
    found: dict[str, object] = {}

    def theirs() -> None:
        finder = LRFinder(model, opt, nn.CrossEntropyLoss(), device=dev)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            finder.range_test(loader, start_lr=1e-4, end_lr=10, num_iter=NUM_ITER, step_mode="exp")
        finder.reset()
        found["finder"] = finder

    def ours() -> None:
        found["ours"] = lr_finder.range_test(
            model, data, opt, start_lr=1e-4, end_lr=10, num_iter=NUM_ITER, batch_size=BATCH, seed=0, progress=False
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_theirs, t_ours = _median_seconds(theirs), _median_seconds(ours)
    finder = found["finder"]
    fig, ax = plt.subplots()
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            _, their_lr = finder.plot(ax=ax, suggest_lr=True)  # type: ignore[attr-defined]
        except RuntimeError as err:  # too few points before it diverged
            their_lr = math.nan
            print(f"torch-lr-finder gave no suggestion: {err}")
    plt.close(fig)
    result: lr_finder.RangeTestResult = found["ours"]  # type: ignore[assignment]
    print(f"(b) torch-lr-finder {t_theirs * 1e3:7.1f} ms   lrcourse {t_ours * 1e3:7.1f} ms   "
          f"ratio lrcourse / torch-lr-finder = {t_ours / t_theirs:.2f}")
    print(f"    steps recorded: torch-lr-finder {len(finder.history['lr'])}, lrcourse {len(result.lrs)}")  # type: ignore[attr-defined]
    rows = [("torch-lr-finder (steepest)", their_lr)]
    rows += [(f"lrcourse {name}", s.lr) for name, s in result.suggestions().items()]
    for name, lr in rows:
        loss = _final_loss(data, lr) if math.isfinite(lr) else math.nan
        print(f"    {name:28s} lr = {lr:9.3g}   train loss after 6 epochs at it: {loss:.3f}")


def main() -> None:
    """Print the benchmark: range-test overhead over plain steps, and the torch-lr-finder comparison."""
    torch.set_num_threads(1)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = lrcourse.load("mnist1d", device=dev)
    print(f"range test benchmark: MLP 40-128-128-10 on MNIST-1D, batch {BATCH}, {NUM_ITER} steps, "
          f"{dev.type}, median of {REPEATS}")
    t = overhead(data)
    print(f"(a) range_test {t['range_test'] * 1e3:7.1f} ms   fit {t['fit'] * 1e3:7.1f} ms   "
          f"bare loop {t['bare'] * 1e3:7.1f} ms")
    print(f"    ratio range_test / fit = {t['range_test'] / t['fit']:.2f} (goal <= 1.10), "
          f"range_test / bare loop = {t['range_test'] / t['bare']:.2f}")
    against_torch_lr_finder(data)


if __name__ == "__main__":
    main()
