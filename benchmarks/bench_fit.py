"""lrcourse.train.fit against the canonical DataLoader(TensorDataset) loop, same model and steps.

Both loops train the same MLP on MNIST-1D with the same batch size for the same number
of optimizer steps; the figure is steps per second, and the ratio is measured in this run.
The loops are timed in turn, round after round (A B C D E F, then B C D E F A, ...), so a
change in the machine's load during the run hits every loop alike. Each speed is the best round;
each ratio between two loops is the median over the rounds of the ratio within a round, and on
the CPU a loop's time is the process's CPU time (other jobs on a shared machine inflate wall
time; with one torch thread the CPU time is the loop's own).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

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


def _contract_loop(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int,
                   records: bool = True) -> int:
    """The bare loop plus, written out by hand, the work ``fit``'s documented contract asks of it.

    Each step: read the loss before the update (a NaN or infinite loss must stop training at once
    on the CPU), keep a copy of the weights from before the update (so that the model can be put
    back as it was before the step that broke it), and record the global gradient norm (the
    ``History.grad_norm`` that chapter 11 reads); each epoch: the test set's loss and accuracy.
    ``fit`` against this loop is what fit costs beyond its contract: the schedule, the callbacks,
    the History, the argument checks, the function calls. With ``records=False``, only the first
    two (the NaN guard, which ``fit`` always keeps): what ``fit`` does with ``eval_train=False,
    eval_test=False, measure_norm=False``.
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
            torch._foreach_copy_(saved, live)  # as fit's undo copy does
            opt.zero_grad()
            loss.backward()
            if records:
                norms.append(lrcourse.train.grad_norm(params))
            opt.step()
            steps += 1
        if records:
            lrcourse.train.evaluate(model, data.x_test, data.y_test)
    return steps


def _guard_loop(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int) -> int:
    return _contract_loop(model, data, batch_size, epochs, records=False)


def _fit(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int) -> int:
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    hist = lrcourse.fit(model, data, opt, epochs=epochs, batch_size=batch_size, progress=False, eval_train=False)
    return hist.steps


def _fit_lean(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int) -> int:
    """``fit`` doing the bare loop's work plus its guarantee on a NaN loss: no evaluation, no gradient norm."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    hist = lrcourse.fit(model, data, opt, epochs=epochs, batch_size=batch_size, progress=False,
                        eval_train=False, eval_test=False, measure_norm=False)
    return hist.steps


def _rounds(fns: dict, data: lrcourse.Data, batch_size: int, epochs: int, repeats: int = 7,
            clock: Callable[[], float] = time.perf_counter) -> dict:
    """Each loop's time in every one of ``repeats`` rounds, the loops taken in turn within a round; and its steps."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    steps = {}
    names = list(fns)
    for name in names:  # warm-up, untimed: the first training in a process pays one-time costs
        lrcourse.seed_everything(0)
        fns[name](models.mlp(40, 10, hidden=(256, 256)).to(data.x_train.device), data, batch_size, 1)
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            lrcourse.seed_everything(0)
            model = models.mlp(40, 10, hidden=(256, 256)).to(data.x_train.device)
            if data.x_train.is_cuda:
                torch.cuda.synchronize()
            start = clock()
            steps[name] = fns[name](model, data, batch_size, epochs)
            if data.x_train.is_cuda:
                torch.cuda.synchronize()
            times[name].append(clock() - start)
    return {name: (times[name], steps[name]) for name in names}


def _time(fns: dict, data: lrcourse.Data, batch_size: int, epochs: int, repeats: int = 7) -> dict:
    """Each loop's best wall time over ``repeats`` rounds, the loops taken in turn within a round; and its steps."""
    return {name: (min(t), n) for name, (t, n) in _rounds(fns, data, batch_size, epochs, repeats).items()}


def _ratio(rounds: dict, num: str, den: str) -> float:
    """The median over rounds of ``time(num) / time(den)`` within a round (> 1: ``den`` is faster)."""
    return statistics.median(a / b for a, b in zip(rounds[num][0], rounds[den][0]))


ROUNDS = 12


def main() -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"## fit vs DataLoader(TensorDataset): MLP 40-256-256-10 on MNIST-1D, SGD+momentum, {ROUNDS} rounds"
          " interleaved; steps/s from the best round, ratios the median over rounds of the ratio within a round")
    print("(ceiling: a bare loop over index slices, no records and no evaluation; the most any")
    print(" in-memory data path can gain over the DataLoader for this model on this device;")
    print(" fit/bare: fit's speed as a fraction of that loop's, its records and epoch test evaluation included;")
    print(" fit/same work: against that loop plus the same test-set evaluation after each epoch;")
    print(" fit/contract: against that loop plus all that fit's default contract asks (the loss read before each")
    print(" update, the copy to go back to, the gradient norm, the evaluation), so the gap is fit's own cost;")
    print(" lean/bare: fit(eval_train=False, eval_test=False, measure_norm=False), i.e. the bare loop's work")
    print(" plus fit's guarantee on a NaN loss, against the bare loop; lean/guard: against the bare loop plus")
    print(" that guarantee written by hand (the loss read and the undo copy); times are CPU time on the CPU)")
    print(
        f"{'device':>6} {'batch':>5} {'steps':>5} {'DataLoader steps/s':>19} {'fit steps/s':>12}"
        f" {'ratio':>6} {'ceiling':>8} {'fit/bare':>9} {'fit/same work':>14} {'fit/contract':>13} {'lean/bare':>10}"
        f" {'lean/guard':>11}"
    )
    fns = {"ref": _dataloader_loop, "fit": _fit, "bare": _sliced_loop, "same": _sliced_loop_evaluated,
           "contract": _contract_loop, "lean": _fit_lean, "guard": _guard_loop}
    for dev in devices:
        data = lrcourse.load("mnist1d", device=dev)
        clock = time.process_time if dev == "cpu" else time.perf_counter
        for batch_size in (32, 128, 512):
            r = _rounds(fns, data, batch_size, epochs=3, repeats=ROUNDS, clock=clock)
            n = {name: steps for name, (_, steps) in r.items()}
            assert len(set(n.values())) == 1, n
            steps = n["fit"]
            t_ref, t_fit = min(r["ref"][0]), min(r["fit"][0])
            print(
                f"{dev:>6} {batch_size:>5} {steps:>5} {steps / t_ref:>19.0f} {steps / t_fit:>12.0f}"
                f" {_ratio(r, 'ref', 'fit'):>5.2f}x {_ratio(r, 'ref', 'bare'):>7.2f}x {_ratio(r, 'bare', 'fit'):>9.2f}"
                f" {_ratio(r, 'same', 'fit'):>14.2f} {_ratio(r, 'contract', 'fit'):>13.2f}"
                f" {_ratio(r, 'bare', 'lean'):>10.2f} {_ratio(r, 'guard', 'lean'):>11.2f}"
            )


if __name__ == "__main__":
    main()
