"""lrcourse.train.fit against the canonical DataLoader(TensorDataset) loop, same model and steps.

Both loops train the same MLP on MNIST-1D with the same batch size for the same number
of optimizer steps; the figure is steps per second, and the ratio is measured in this run.
The loops are timed in turn, round after round (A B C D E, then B C D E A, ...), and each
column is the best of the rounds, so a change in the machine's load during the run hits
every loop alike.
"""

from __future__ import annotations

import math
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


def _contract_loop(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int) -> int:
    """The bare loop plus, written out by hand, the work ``fit``'s documented contract asks of it.

    Each step: read the loss before the update (a NaN or infinite loss must stop training at once
    on the CPU), keep a copy of the weights from before the update (so that the model can be put
    back as it was before the step that broke it), and record the global gradient norm (the
    ``History.grad_norm`` that chapter 11 reads); each epoch: the test set's loss and accuracy.
    ``fit`` against this loop is what fit costs beyond its contract: the schedule, the callbacks,
    the History, the argument checks, the function calls.
    """
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    params = list(model.parameters())
    live = [t for t in model.state_dict().values() if t.is_floating_point()]
    saved = [t.clone() for t in live]
    gen = torch.Generator().manual_seed(0)
    steps, norms = 0, []
    for _ in range(epochs):
        for idx in lrcourse.data.batches(len(data.x_train), batch_size, generator=gen, device=data.x_train.device):
            loss = torch.nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            if not math.isfinite(loss.item()):
                raise RuntimeError("diverged")
            for s, t in zip(saved, live):
                s.copy_(t)
            opt.zero_grad()
            loss.backward()
            norms.append(lrcourse.train.grad_norm(params))
            opt.step()
            steps += 1
        lrcourse.train.evaluate(model, data.x_test, data.y_test)
    return steps


def _fit(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int) -> int:
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    hist = lrcourse.fit(model, data, opt, epochs=epochs, batch_size=batch_size, progress=False, eval_train=False)
    return hist.steps


def _time(fns: dict, data: lrcourse.Data, batch_size: int, epochs: int, repeats: int = 7) -> dict:
    """Each loop's best time over ``repeats`` rounds, the loops taken in turn within a round; and its steps."""
    best = {name: float("inf") for name in fns}
    steps = {}
    names = list(fns)
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            lrcourse.seed_everything(0)
            model = models.mlp(40, 10, hidden=(256, 256)).to(data.x_train.device)
            if data.x_train.is_cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            steps[name] = fns[name](model, data, batch_size, epochs)
            if data.x_train.is_cuda:
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: (best[name], steps[name]) for name in names}


def main() -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("## fit vs DataLoader(TensorDataset): MLP 40-256-256-10 on MNIST-1D, SGD+momentum, best of 7, interleaved")
    print("(ceiling: a bare loop over index slices, no records and no evaluation; the most any")
    print(" in-memory data path can gain over the DataLoader for this model on this device;")
    print(" fit/bare: fit's speed as a fraction of that loop's, its records and epoch evaluation included;")
    print(" fit/same work: against that loop plus the same test-set evaluation after each epoch;")
    print(" fit/contract: against that loop plus all that fit's contract asks (the loss read before each")
    print(" update, the copy to go back to, the gradient norm, the evaluation), so the gap is fit's own cost)")
    print(
        f"{'device':>6} {'batch':>5} {'steps':>5} {'DataLoader steps/s':>19} {'fit steps/s':>12}"
        f" {'ratio':>6} {'ceiling':>8} {'fit/bare':>9} {'fit/same work':>14} {'fit/contract':>13}"
    )
    fns = {"ref": _dataloader_loop, "fit": _fit, "bare": _sliced_loop, "same": _sliced_loop_evaluated,
           "contract": _contract_loop}
    for dev in devices:
        data = lrcourse.load("mnist1d", device=dev)
        for batch_size in (32, 128, 512):
            t = _time(fns, data, batch_size, epochs=3)
            (t_ref, n_ref), (t_fit, n_fit), (t_bare, n_bare) = t["ref"], t["fit"], t["bare"]
            (t_same, n_same), (t_con, n_con) = t["same"], t["contract"]
            assert n_ref == n_fit == n_bare == n_same == n_con, (n_ref, n_fit, n_bare, n_same, n_con)
            print(
                f"{dev:>6} {batch_size:>5} {n_fit:>5} {n_ref / t_ref:>19.0f} {n_fit / t_fit:>12.0f}"
                f" {t_ref / t_fit:>5.2f}x {t_ref / t_bare:>7.2f}x {t_bare / t_fit:>9.2f} {t_same / t_fit:>14.2f}"
                f" {t_con / t_fit:>13.2f}"
            )


if __name__ == "__main__":
    main()
