"""Is the range test's advice any good on tasks the book never uses?

Four small tasks that differ in optimizer, architecture, normalization and loss:

* ``regression``: teacher-student regression (a random tanh network labels Gaussian inputs),
  ReLU MLP, mean squared error, plain SGD, batch 32;
* ``mixture``: ten-class Gaussian mixture, MLP, cross-entropy, SGD with momentum 0.9, batch 64;
* ``conv-bn``: oriented bars in noisy 12x12 images, a small conv net with BatchNorm,
  cross-entropy, SGD with momentum 0.9 and weight decay, batch 64;
* ``checker-adam``: a 2-D checkerboard, MLP with LayerNorm, binary cross-entropy, Adam, batch 64.

Each task trains for a fixed number of steps at each of 19 log-spaced fixed rates, for 3 seeds;
the score of a rate is its final training loss averaged over the seeds (a diverged run scores
infinity). Each rule's advice comes from one range test per seed, called as a new user would
(only the model, data, optimizer, loss and batch size given), and is trained on the same seed.
Reported per rule: how many grid rates beat the advice, and the ratio of the advice's loss to
the best grid rate's. Rivals: torch-lr-finder's suggestion (steepest slope of its smoothed loss,
``pip install torch-lr-finder``; skipped when missing), and fastai's ``valley`` rule
(fastai/callback/schedule.py, reimplemented as ``lrcourse.lr_finder.fastai_valley``) on fastai's default sweep, 1e-7 to 10 in 100
steps, read on the smoothed losses ``[num_it // 10 : -5]`` as ``Learner.lr_find`` does.

Run alone (``python benchmarks/bench_lr_advice.py``) or through ``benchmarks/run.py``.
"""

from __future__ import annotations

import contextlib
import io
import math
import statistics
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

import lrcourse
from lrcourse import lr_finder
from lrcourse.data import Data

SEEDS = (0, 1, 2)
STEPS = 200


# --------------------------------------------------------------------------- the tasks


def _regression_data() -> Data:
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(2304, 16, generator=g)
    w1, w2 = torch.randn(16, 16, generator=g) / 4, torch.randn(16, 1, generator=g) / 2
    y = torch.tanh(x @ w1) @ w2 + 0.05 * torch.randn(2304, 1, generator=g)
    return Data("teacher-student", x[:2048], y[:2048], x[2048:], y[2048:], 1)


def _mixture_data() -> Data:
    g = torch.Generator().manual_seed(1235)
    centers = 0.7 * torch.randn(10, 20, generator=g)
    y = torch.randint(0, 10, (2304,), generator=g)
    x = centers[y] + torch.randn(2304, 20, generator=g)
    return Data("mixture", x[:2048], y[:2048], x[2048:], y[2048:], 10)


def _bars_data() -> Data:
    g = torch.Generator().manual_seed(1236)
    n, size = 1280, 8
    y = torch.randint(0, 4, (n,), generator=g)
    x = 0.6 * torch.randn(n, 1, size, size, generator=g)
    pos = torch.randint(2, size - 2, (n, 2), generator=g)
    r = torch.arange(-2, 3)
    for i in range(n):
        a, b = pos[i].tolist()
        rows, cols = {0: (a + 0 * r, b + r), 1: (a + r, b + 0 * r), 2: (a + r, b + r), 3: (a + r, b - r)}[int(y[i])]
        keep = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
        x[i, 0, rows[keep], cols[keep]] += 1.5
    return Data("bars", x[:1024], y[:1024], x[1024:], y[1024:], 4)


def _checker_data() -> Data:
    g = torch.Generator().manual_seed(1237)
    x = 2 * torch.rand(2304, 2, generator=g) - 1
    y = ((torch.sin(4 * x[:, 0]) * torch.sin(4 * x[:, 1])) > 0).float().unsqueeze(1)
    return Data("checker", x[:2048], y[:2048], x[2048:], y[2048:], 1)


def _mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(out, y)


def _bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.binary_cross_entropy_with_logits(out, y)


def _ce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out, y)


def _conv_bn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Conv2d(6, 12, 3, stride=2, padding=1), nn.BatchNorm2d(12), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 4),
    )


def _mlp_ln() -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, 64), nn.LayerNorm(64), nn.ReLU(), nn.Linear(64, 64), nn.LayerNorm(64), nn.ReLU(), nn.Linear(64, 1)
    )


@dataclass
class Task:
    name: str
    data: Callable[[], Data]
    model: Callable[[], nn.Module]
    optimizer: Callable[[list[nn.Parameter], float], torch.optim.Optimizer]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    batch_size: int
    grid: tuple[float, float]  # log10 of the smallest and largest of the 19 grid rates


TASKS = [
    Task("regression (MSE, SGD)", _regression_data, lambda: lrcourse.models.mlp(16, 1, hidden=(64, 64)),
         lambda p, lr: torch.optim.SGD(p, lr=lr), _mse, 32, (-3.0, 1.5)),
    Task("mixture (CE, SGD+mom 0.9)", _mixture_data, lambda: lrcourse.models.mlp(20, 10, hidden=(64, 64)),
         lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), _ce, 64, (-4.0, 0.5)),
    Task("conv-bn (CE, SGD+mom, wd)", _bars_data, _conv_bn,
         lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, weight_decay=5e-4), _ce, 64, (-3.5, 1.0)),
    Task("checker (BCE, Adam, LayerNorm)", _checker_data, _mlp_ln,
         lambda p, lr: torch.optim.Adam(p, lr=lr), _bce, 64, (-4.5, 0.0)),
]


def grid_of(task: Task) -> list[float]:
    lo, hi = task.grid
    return [10 ** (lo + (hi - lo) * k / 18) for k in range(19)]


def final_loss(task: Task, data: Data, seed: int, lr: float) -> float:
    """Training loss on the whole training set after STEPS steps at a fixed lr (inf if it diverged)."""
    lrcourse.seed_everything(seed)
    model = task.model()
    opt = task.optimizer(list(model.parameters()), lr)
    epochs = math.ceil(STEPS / lrcourse.data.num_batches(len(data.x_train), task.batch_size))
    with contextlib.redirect_stdout(io.StringIO()):  # fit says when a run diverges; the score says it too
        hist = lrcourse.fit(model, data, opt, epochs=epochs, max_steps=STEPS, loss=task.loss,
                            batch_size=task.batch_size, seed=seed, eval_train=False, progress=False)
    if hist.diverged:
        return math.inf
    loss = lrcourse.evaluate(model, data.x_train, data.y_train, task.loss)[0]
    return loss if math.isfinite(loss) else math.inf


# --------------------------------------------------------------------------- the rivals


def fastai_advice(task: Task, data: Data, seed: int) -> float:
    """fastai's ``lr_find()`` defaults: 1e-7 to 10 in 100 steps, valley on ``[10:-5]``."""
    lrcourse.seed_everything(seed)
    model = task.model()
    opt = task.optimizer(list(model.parameters()), 1e-3)
    r = lr_finder.range_test(model, data, opt, task.loss, start_lr=1e-7, end_lr=10.0, num_iter=100,
                             batch_size=task.batch_size, seed=seed, progress=False)
    try:
        return lr_finder.fastai_valley(r.lrs, r.smoothed)
    except ValueError:
        return math.nan


def torch_lr_finder_advice(task: Task, data: Data, seed: int) -> float:
    """torch-lr-finder 0.2.2: ``range_test(start_lr=1e-7, end_lr=10, num_iter=100)``, then the
    steepest slope of its smoothed loss (``plot(suggest_lr=True)``)."""
    import matplotlib
    from torch_lr_finder import LRFinder

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lrcourse.seed_everything(seed)
    model = task.model()
    opt = task.optimizer(list(model.parameters()), 1e-7)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data.x_train, data.y_train), batch_size=task.batch_size,
        shuffle=True, generator=torch.Generator().manual_seed(seed),
    )
    finder = LRFinder(model, opt, task.loss, device="cpu")
    fig, ax = plt.subplots()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            finder.range_test(loader, start_lr=1e-7, end_lr=10, num_iter=100, step_mode="exp")
            _, lr = finder.plot(ax=ax, suggest_lr=True)
    except (RuntimeError, ValueError):
        lr = math.nan
    finally:
        plt.close(fig)
    return float(lr) if lr is not None else math.nan


def lrcourse_test(task: Task, data: Data, seed: int) -> lr_finder.RangeTestResult:
    """The first call a user makes: defaults for everything but the batch size."""
    lrcourse.seed_everything(seed)
    model = task.model()
    opt = task.optimizer(list(model.parameters()), 1e-3)
    return lr_finder.range_test(model, data, opt, task.loss, batch_size=task.batch_size, seed=seed, progress=False)


# --------------------------------------------------------------------------- the table


def score(losses: list[float]) -> float:
    return statistics.fmean(losses) if all(math.isfinite(v) for v in losses) else math.inf


def run_task(task: Task, rivals: bool = True) -> list[tuple[str, str, str, str]]:
    """Rows (rule, advice per seed, grid rates that beat it, loss / best grid loss) for one task."""
    data = task.data()
    grid = grid_of(task)
    grid_score = {lr: score([final_loss(task, data, s, lr) for s in SEEDS]) for lr in grid}
    best = min(grid_score.values())
    advice: dict[str, list[float]] = {m: [] for m in lr_finder.METHODS}
    refused: dict[str, list[str]] = {m: [] for m in lr_finder.METHODS}
    if rivals:
        advice["fastai valley"] = [fastai_advice(task, data, s) for s in SEEDS]
        try:
            advice["torch-lr-finder"] = [torch_lr_finder_advice(task, data, s) for s in SEEDS]
        except ImportError:
            pass
    for s in SEEDS:
        r = lrcourse_test(task, data, s)
        for m in lr_finder.METHODS:
            try:
                advice[m].append(r.suggest(m).lr)
            except ValueError as err:
                advice[m].append(math.nan)
                refused[m].append(str(err))
    rows = []
    for name, lrs in advice.items():
        label = name if name in ("fastai valley", "torch-lr-finder") else f"lrcourse {name}"
        if not all(math.isfinite(v) for v in lrs):
            rows.append((label, ", ".join(f"{v:.2g}" for v in lrs), "refused", "-"))
            continue
        sc = score([final_loss(task, data, s, lr) for s, lr in zip(SEEDS, lrs)])
        beat = sum(v < sc for v in grid_score.values())
        rows.append((label, ", ".join(f"{v:.2g}" for v in lrs), str(beat), f"{sc / best:.2f}"))
    best_lr = min(grid_score, key=grid_score.get)
    rows.append(("best grid rate", f"{best_lr:.2g}", "0", f"1.00 (loss {best:.3g})"))
    for m, errs in refused.items():
        for e in errs[:1]:
            print(f"    {task.name}: {m} refused: {e}")
    return rows


def main() -> None:
    """Print, per task, each rule's advice and how it ranks on the 19-rate grid."""
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="The data holds")
    print(f"Range-test advice on four tasks outside the book: 19-rate grid x seeds {list(SEEDS)}, "
          f"{STEPS} steps, score = final train loss (mean over seeds)\n")
    print("| task | rule | advice per seed | grid rates that beat it | loss / best |")
    print("| --- | --- | --- | ---: | ---: |")
    for task in TASKS:
        for rule, lrs, beat, ratio in run_task(task):
            print(f"| {task.name} | {rule} | {lrs} | {beat} | {ratio} |")


if __name__ == "__main__":
    main()
