"""lrcourse.train.fit against the canonical DataLoader(TensorDataset) loop, same model and steps.

Both loops train the same MLP on MNIST-1D with the same batch size for the same number
of optimizer steps; the figure is steps per second, and the ratio is measured in this run.
The loops are timed in turn, round after round (A B C D E F, then B C D E F A, ...), so a
change in the machine's load during the run hits every loop alike. Each speed is the best round;
each ratio between two loops is the median over the rounds of the ratio within a round, and on
the CPU a loop's time is the process's CPU time (other jobs on a shared machine inflate wall
time; with one torch thread the CPU time is the loop's own).

On a small shared VM that resolves speeds to about ±5 % only, too coarse for fit's own cost of a
few percent, so a second table times fit against hand-written loops in lockstep with a shadow
bare loop that steps inside every loss call (:class:`_Shadow`): the two alternate step by step
and share every swing of the machine's speed. There the bare loop is also timed under a second
name; the ratio between the two copies (the "noise" column) is how far from 1.00 identical code
reads in this run, and so how far the other ratios of that table can be trusted.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, TensorDataset

import lrcourse
from lrcourse import models

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
CE = torch.nn.functional.cross_entropy


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


def _sliced_loop(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int, loss: LossFn = CE) -> int:
    """The ceiling: fit's data path (index slices of on-device tensors) with none of its bookkeeping."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    steps = 0
    for _ in range(epochs):
        for idx in lrcourse.data.batches(len(data.x_train), batch_size, generator=gen, device=data.x_train.device):
            value = loss(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            value.backward()
            opt.step()
            steps += 1
    return steps


def _sliced_loop_again(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int,
                       loss: LossFn = CE) -> int:
    """The same bare loop timed as a loop of its own: its ratio to the bare loop is this run's noise (ideally 1.00)."""
    return _sliced_loop(model, data, batch_size, epochs, loss)


def _contract_loop(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int,
                   loss: LossFn = CE, records: bool = True) -> int:
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
            value = loss(model(data.x_train[idx]), data.y_train[idx])
            if not math.isfinite(value.item()):
                raise RuntimeError("diverged")
            torch._foreach_copy_(saved, live)  # as fit's undo copy does
            opt.zero_grad()
            value.backward()
            if records:
                norms.append(lrcourse.train.grad_norm(params))
            opt.step()
            steps += 1
        if records:
            lrcourse.train.evaluate(model, data.x_test, data.y_test)
    return steps


def _guard_loop(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int, loss: LossFn = CE) -> int:
    return _contract_loop(model, data, batch_size, epochs, loss, records=False)


def _fit(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int, loss: LossFn = CE) -> int:
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    hist = lrcourse.fit(model, data, opt, epochs=epochs, batch_size=batch_size, loss=loss, progress=False, eval_train=False)
    return hist.steps


def _fit_lean(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int, loss: LossFn = CE) -> int:
    """``fit`` doing the bare loop's work plus its guarantee on a NaN loss: no evaluation, no gradient norm."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    hist = lrcourse.fit(model, data, opt, epochs=epochs, batch_size=batch_size, loss=loss, progress=False,
                        eval_train=False, eval_test=False, measure_norm=False)
    return hist.steps


def _fit_off(model: torch.nn.Module, data: lrcourse.Data, batch_size: int, epochs: int, loss: LossFn = CE) -> int:
    """``fit`` with every extra off (no evaluation, no gradient norm, no undo copy): the bare loop's work."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    hist = lrcourse.fit(model, data, opt, epochs=epochs, batch_size=batch_size, loss=loss, progress=False,
                        eval_train=False, eval_test=False, measure_norm=False, undo=False)
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


def _median_ratio(num: list[float], den: list[float]) -> float:
    """The median over rounds of ``num / den`` within a round."""
    return statistics.median(a / b for a, b in zip(num, den))


def _ratio(rounds: dict, num: str, den: str) -> float:
    """The median over rounds of ``time(num) / time(den)`` within a round (> 1: ``den`` is faster)."""
    return _median_ratio(rounds[num][0], rounds[den][0])


class _Shadow:
    """A second bare loop that takes one step each time it is called, timed: the machine's speed at that moment.

    It is passed as the loss function of the loop being timed, so it steps once inside every step
    of that loop (``fit`` and the loops above call their loss once a step): the two alternate
    step by step, and a speed swing of a shared machine (on a small VM, ±25 % from one tenth of a
    second to the next) hits both alike. It then returns the cross-entropy it stands in for (and
    only that when called without gradients, by an evaluation).
    """

    def __init__(self, data: lrcourse.Data, batch_size: int) -> None:
        lrcourse.seed_everything(1)
        self.model = models.mlp(40, 10, hidden=(256, 256)).to(data.x_train.device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.05, momentum=0.9)
        self.data, self.batch_size = data, batch_size
        self.gen = torch.Generator().manual_seed(1)
        self.batches: Iterator[torch.Tensor] = iter(())
        self.seconds, self.steps = 0.0, 0

    def __call__(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():  # an evaluation, not a training step
            return CE(out, y)
        start = time.process_time()
        idx = next(self.batches, None)
        if idx is None:
            self.batches = lrcourse.data.batches(len(self.data.x_train), self.batch_size, generator=self.gen,
                                                 device=self.data.x_train.device)
            idx = next(self.batches)
        loss = CE(self.model(self.data.x_train[idx]), self.data.y_train[idx])
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.steps += 1
        self.seconds += time.process_time() - start
        return CE(out, y)


def _lockstep(fns: dict, data: lrcourse.Data, batch_size: int, epochs: int, repeats: int) -> dict[str, list[float]]:
    """Each loop's CPU time per round in units of a shadow bare step taken beside it (:class:`_Shadow`).

    A loop's time is its process CPU time minus the shadow's, divided by the shadow's mean step
    time in that same run: what the machine's speed does to one, it does to the other.
    """
    cost: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names[r % len(names):] + names[: r % len(names)]:
            lrcourse.seed_everything(0)
            model = models.mlp(40, 10, hidden=(256, 256))
            shadow = _Shadow(data, batch_size)
            start = time.process_time()
            fns[name](model, data, batch_size, epochs, shadow)
            own = time.process_time() - start - shadow.seconds
            cost[name].append(own / (shadow.seconds / shadow.steps))
    return cost


ROUNDS = 20
LOCKSTEP_ROUNDS = 8


def main() -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"## fit vs DataLoader(TensorDataset): MLP 40-256-256-10 on MNIST-1D, SGD+momentum, 3 epochs, {ROUNDS} rounds"
          " interleaved; steps/s from the best round, ratios the median over rounds of the ratio within a round")
    print("(ceiling: a bare loop over index slices, no records and no evaluation; the most any")
    print(" in-memory data path can gain over the DataLoader for this model on this device;")
    print(" fit/bare: fit's speed as a fraction of that loop's, as the chapters call it: its records and")
    print(" epoch test evaluation included; times are CPU time on the CPU)")
    print(f"{'device':>6} {'batch':>5} {'steps':>5} {'DataLoader steps/s':>19} {'fit steps/s':>12}"
          f" {'ratio':>6} {'ceiling':>8} {'fit/bare':>9}")
    fns = {"ref": _dataloader_loop, "fit": _fit, "bare": _sliced_loop}
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
            )
    print()
    print(f"## fit's own cost on the CPU, in lockstep with a shadow bare loop ({LOCKSTEP_ROUNDS} rounds of 3 epochs;"
          " each ratio the median over rounds)")
    print("(fit/contract: fit as the chapters call it against the bare loop plus all that fit's default contract")
    print(" asks, written by hand: the loss read before each update, the copy to go back to, the gradient norm,")
    print(" the evaluation; lean/guard: fit(eval_train=False, eval_test=False, measure_norm=False) against the")
    print(" bare loop plus the NaN guard written by hand (the loss read and the undo copy); lean/bare: that fit")
    print(" against the bare loop; off/bare: fit with undo=False as well (it still reads each loss, to stop on a")
    print(" NaN), i.e. the bare loop's work, against the bare loop; noise: the bare loop against itself)")
    print(f"{'batch':>5} {'fit/contract':>13} {'lean/guard':>11} {'lean/bare':>10} {'off/bare':>9} {'noise':>6}")
    fns = {"bare": _sliced_loop, "again": _sliced_loop_again, "contract": _contract_loop, "fit": _fit,
           "guard": _guard_loop, "lean": _fit_lean, "off": _fit_off}
    data = lrcourse.load("mnist1d", device="cpu")
    for batch_size in (32, 128, 512):
        c = _lockstep(fns, data, batch_size, epochs=3, repeats=LOCKSTEP_ROUNDS)
        cols = [("contract", "fit", 13), ("guard", "lean", 11), ("bare", "lean", 10), ("bare", "off", 9),
                ("bare", "again", 6)]
        print(f"{batch_size:>5}" + "".join(f" {_median_ratio(c[a], c[b]):>{w}.3f}" for a, b, w in cols))


if __name__ == "__main__":
    main()
