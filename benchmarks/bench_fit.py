"""lrcourse.train.fit against the canonical DataLoader(TensorDataset) loop, same model and steps.

Both loops train the same MLP on MNIST-1D with the same batch size for the same number
of optimizer steps; the figure is steps per second, and the ratio is measured in this run.
"""

from __future__ import annotations

import time

import torch
from torch.utils.data import DataLoader, TensorDataset

import lrcourse
from lrcourse import models


def _dataloader_loop(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int) -> int:
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(data.x_train, data.y_train), batch_size=batch_size, shuffle=True)
    steps = 0
    for _ in range(epochs):
        for xb, yb in loader:
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    return steps


def _sliced_loop(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int,
                 evaluate: bool = False) -> int:
    """The ceiling: fit's data path (index slices of on-device tensors) with none of its bookkeeping.

    With ``evaluate``, it also does the one piece of work ``fit`` adds on top of training: the
    test set's loss and accuracy after every epoch. ``fit`` against that loop is its overhead alone.
    """
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    steps = 0
    for _ in range(epochs):
        for idx in lrcourse.data.batches(len(data.x_train), batch_size, generator=gen, device=data.x_train.device):
            loss = torch.nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
        if evaluate:
            lrcourse.train.evaluate(model, data.x_test, data.y_test)
    return steps


def _sliced_loop_evaluated(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int) -> int:
    return _sliced_loop(model, data, batch_size, epochs, evaluate=True)


def _fit(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int) -> int:
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    hist = lrcourse.fit(model, data, opt, epochs=epochs, batch_size=batch_size, progress=False, eval_train=False)
    return hist.steps


def _time(fn, *args, repeats: int = 5) -> tuple[float, int]:  # noqa: ANN001
    best, steps = float("inf"), 0
    for _ in range(repeats):
        lrcourse.seed_everything(0)
        model = models.mlp(40, 10, hidden=(256, 256)).to(args[0].x_train.device)
        if args[0].x_train.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        steps = fn(model, *args)
        if args[0].x_train.is_cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, steps


def main() -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("## fit vs DataLoader(TensorDataset): MLP 40-256-256-10 on MNIST-1D, SGD+momentum, best of 5")
    print("(ceiling: a bare loop over index slices, no records and no evaluation; the most any")
    print(" in-memory data path can gain over the DataLoader for this model on this device;")
    print(" fit/bare: fit's speed as a fraction of that loop's, its records and epoch evaluation included;")
    print(" fit/same work: against that loop plus the same test-set evaluation after each epoch, so")
    print(" the gap is fit's own bookkeeping: records, gradient norm, divergence check, schedule)")
    print(
        f"{'device':>6} {'batch':>5} {'steps':>5} {'DataLoader steps/s':>19} {'fit steps/s':>12}"
        f" {'ratio':>6} {'ceiling':>8} {'fit/bare':>9} {'fit/same work':>14}"
    )
    for dev in devices:
        data = lrcourse.load("mnist1d", device=dev)
        for batch_size in (32, 128, 512):
            epochs = 3
            t_ref, n_ref = _time(_dataloader_loop, data, batch_size, epochs)
            t_fit, n_fit = _time(_fit, data, batch_size, epochs)
            t_bare, n_bare = _time(_sliced_loop, data, batch_size, epochs)
            t_same, n_same = _time(_sliced_loop_evaluated, data, batch_size, epochs)
            assert n_ref == n_fit == n_bare == n_same, (n_ref, n_fit, n_bare, n_same)
            # fit also evaluates the test set once per epoch; that time is included
            print(
                f"{dev:>6} {batch_size:>5} {n_fit:>5} {n_ref / t_ref:>19.0f} {n_fit / t_fit:>12.0f}"
                f" {t_ref / t_fit:>5.2f}x {t_ref / t_bare:>7.2f}x {t_bare / t_fit:>9.2f} {t_same / t_fit:>14.2f}"
            )


if __name__ == "__main__":
    main()
