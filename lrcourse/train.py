"""One explicit training loop, and the :class:`History` it returns.

The loop is meant to be read. Every step it

1. sets each param group's learning rate from ``schedule(step)`` (keeping the ratios
   between groups, so discriminative learning rates scale together),
2. takes a batch by index from tensors already on the device (augmenting images on
   the device when asked),
3. computes the loss (in the precision :func:`lrcourse.runtime.precision` picks: bfloat16
   on recent GPUs, float16 with loss scaling on older ones, float32 on the CPU),
4. backpropagates, measures the global gradient norm (before any clipping), clips
   when asked, and steps the optimizer,

and records the learning rate, the loss and the gradient norm. The records stay on the
device and come to the host in one transfer per epoch (and every ``check_every`` steps on
CUDA, for the progress bar), so a GPU never waits on Python; a NaN or infinite loss still
stops training with the model as it was before the step that caused it. After every epoch
it evaluates loss and accuracy on the train and test sets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

import torch
from torch import nn
from torch.nn import functional as F

from .data import Data, batches, num_batches
from .data import augment as augment_batch
from .profiles import profile
from .runtime import Amp, channels_last, place, precision, tune_for

Schedule = Callable[[int], float]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LRScheduler = torch.optim.lr_scheduler.LRScheduler


def mse_onehot(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the softmax of the logits and the one-hot targets.

    >>> round(mse_onehot(torch.tensor([[10.0, -10.0]]), torch.tensor([0])).item(), 6)
    0.0
    """
    p = logits.float().softmax(-1)
    return F.mse_loss(p, F.one_hot(y, p.shape[-1]).to(p.dtype), reduction="sum") / len(y)


LOSSES: dict[str, LossFn] = {"cross_entropy": F.cross_entropy, "mse": mse_onehot}


def get_loss(loss: Union[str, LossFn]) -> LossFn:
    """A loss function from its name (``"cross_entropy"``, ``"mse"``) or the function itself.

    >>> get_loss("cross_entropy") is F.cross_entropy
    True
    """
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; use one of {', '.join(LOSSES)} or a function.")
    return LOSSES[loss]


@dataclass
class History:
    """What :func:`fit` recorded: per step ``lr``, ``loss``, ``grad_norm``; per epoch the rest.

    >>> h = History(steps_per_epoch=1)
    >>> h.stopped is None and h.steps == 0
    True
    """

    steps_per_epoch: int
    lr: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    seconds: float = 0.0
    stopped: str | None = None

    @property
    def steps(self) -> int:
        """Optimizer steps taken."""
        return len(self.loss)

    @property
    def diverged(self) -> bool:
        """True when training stopped on a NaN or infinite loss."""
        return self.stopped is not None

    def final(self, key: str = "test_acc") -> float:
        """The last recorded value of a per-epoch series (NaN when there is none)."""
        values = getattr(self, key)
        return values[-1] if values else math.nan

    def best(self, key: str = "test_acc") -> float:
        """The best value of a per-epoch series: max for accuracies, min for losses."""
        values = [v for v in getattr(self, key) if not math.isnan(v)]
        if not values:
            return math.nan
        return max(values) if key.endswith("acc") else min(values)

    def epochs_to(self, accuracy: float, key: str = "test_acc") -> float:
        """The first epoch (1-based) whose accuracy reached ``accuracy``; ``inf`` if none did."""
        for e, a in zip(self.epoch, getattr(self, key)):
            if a >= accuracy:
                return e
        return math.inf

    def plot(self, title: str | None = None):  # -> matplotlib Figure
        """Three panels: the step losses, the learning rate, and the epoch accuracies."""
        from .plots import history_figure

        return history_figure(self, title=title)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss: Union[str, LossFn] = "cross_entropy",
    batch_size: int = 2048,
    *,
    amp: Amp = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``(x, y)``, in eval mode, in batches.

    The model is moved to the device of ``x`` (as in :func:`fit`); the forward pass runs in
    the precision :func:`lrcourse.runtime.precision` picks for it (``amp`` as in :func:`fit`),
    and the totals come to the host once, at the end.

    >>> m = nn.Linear(2, 2)
    >>> l, a = evaluate(m, torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))
    >>> 0.0 <= a <= 1.0
    True
    """
    loss_fn = get_loss(loss)
    place(model, x.device)
    prec = precision(x.device, amp)
    was_training = model.training
    model.eval()
    n = len(x)
    total = torch.zeros((), device=x.device, dtype=torch.float64)  # float64, as a Python float would sum
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for start in range(0, n, batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        with prec.autocast():
            out = model(channels_last(xb))
        total += loss_fn(out.float(), yb).double() * len(xb)
        if yb.dtype == torch.long:
            correct += (out.argmax(-1) == yb).sum()
    model.train(was_training)
    acc = correct.item() / n if y.dtype == torch.long else math.nan
    return total.item() / n, acc


def _autocast(dev: torch.device):
    """The autocast context of :func:`lrcourse.runtime.precision` for ``dev`` (kept for old callers)."""
    return precision(dev).autocast()


def grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    """The global L2 norm of the gradients of ``params`` (those that have one).

    >>> w = torch.zeros(2, requires_grad=True)
    >>> (w * torch.tensor([3.0, 4.0])).sum().backward()
    >>> grad_norm([w]).item()
    5.0
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device if params else None)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


_layout = channels_last  # the old private name


class _Undo:
    """Keeps a copy of the model's floating-point state from before the latest optimizer step.

    ``save()`` copies the live state; ``save_if(ok)`` copies it only where the 0-d boolean
    tensor ``ok`` is True, on the device, without asking the host (the CUDA path of
    :func:`fit`); ``restore()`` puts the copy back.
    """

    def __init__(self, model: nn.Module) -> None:
        self.live = [t for t in model.state_dict().values() if t.is_floating_point()]
        self.saved = [t.detach().clone() for t in self.live]

    def save(self) -> None:
        torch._foreach_copy_(self.saved, self.live)

    @torch.no_grad()
    def save_if(self, ok: torch.Tensor) -> None:
        for saved, live in zip(self.saved, self.live):
            torch.where(ok, live, saved, out=saved)

    @torch.no_grad()
    def restore(self) -> None:
        torch._foreach_copy_(self.live, self.saved)


def _defer_checks(dev: torch.device) -> bool:
    """Whether ``fit`` checks the loss on the device and reads it back only now and then (CUDA),
    instead of reading every step's loss (the CPU, where reading a number costs nothing)."""
    return dev.type == "cuda"


class _Records:
    """Per-step losses and gradient norms, kept as device tensors until :meth:`flush` reads them at once."""

    def __init__(self, hist: History) -> None:
        self.hist = hist
        self.loss: list[torch.Tensor] = []
        self.norm: list[torch.Tensor] = []

    def add(self, lr: float, loss: torch.Tensor, norm: torch.Tensor) -> None:
        self.hist.lr.append(lr)
        self.loss.append(loss)
        self.norm.append(norm)

    def flush(self) -> tuple[int, float] | None:
        """Move the pending records to the History (one transfer); return the step of the first
        non-finite loss and that loss, or ``None``. Records from that step on are dropped."""
        if not self.loss:
            return None
        pending = torch.stack([torch.stack(self.loss).float(), torch.stack(self.norm).float()]).tolist()
        self.loss.clear()
        self.norm.clear()
        first = len(self.hist.loss)
        for i, value in enumerate(pending[0]):
            if not math.isfinite(value):
                del self.hist.lr[first + i :]
                self.hist.loss.extend(pending[0][:i])
                self.hist.grad_norm.extend(pending[1][:i])
                return first + i, value
        self.hist.loss.extend(pending[0])
        self.hist.grad_norm.extend(pending[1])
        return None


def fit(
    model: nn.Module,
    data: Data,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    schedule: Union[Schedule, LRScheduler, None] = None,
    momentum: Schedule | None = None,
    loss: Union[str, LossFn] = "cross_entropy",
    batch_size: int = 128,
    augment: bool = False,
    clip_grad_norm: float | None = None,
    seed: int | None = None,
    max_steps: int | None = None,
    eval_train: bool = True,
    progress: bool | None = None,
    on_epoch_end: Callable[[int, nn.Module, History], None] | None = None,
    amp: Amp = None,
    check_every: int = 50,
) -> History:
    """Train ``model`` on ``data`` with ``optimizer`` for ``epochs`` epochs; return the History.

    ``schedule`` is a function of the step (0, 1, ...) giving the learning rate of the
    first param group (the others keep their ratio to it), or a
    ``torch.optim.lr_scheduler`` stepped once per batch. ``momentum`` likewise sets
    ``momentum`` (or Adam's ``beta1``). ``clip_grad_norm`` clips the global gradient norm;
    the norm recorded is the one before clipping.

    The model (and the optimizer's state) is moved to the device of ``data`` first. ``amp``
    chooses the precision (:func:`lrcourse.runtime.precision`): ``None`` by the hardware
    (bfloat16 on GPUs of compute capability 8.0 or more, float16 with a ``GradScaler`` on
    older ones such as the T4, float32 on the CPU), ``False`` float32 everywhere.

    **A NaN or infinite loss** ends training with a one-line message in ``History.stopped``.
    The guarantee: if the loss of step ``j`` (counting from 0) is the first that is not
    finite, the History keeps the records of steps ``0 .. j-1`` and no epoch evaluation
    after that point, and the model's floating-point state (parameters and buffers) is
    exactly what it was when step ``j-1`` computed its loss, i.e. before the optimizer
    update that produced the broken weights (for ``j = 0``, the state before training).
    On the CPU the loss is read every step and training stops at once. On CUDA the
    check runs on the device (no host sync per step); the host reads it every
    ``check_every`` steps and at the end of each epoch, so up to ``check_every - 1``
    further steps run on broken weights before the model is put back; the guarantee is the
    same. Steps the ``GradScaler`` skips (float16 gradients that overflowed) count as steps.

    >>> from lrcourse.data import load
    >>> _ = torch.manual_seed(0)
    >>> d = load("blobs", n_train=128, n_test=64, device="cpu")
    >>> m = nn.Linear(2, 3)
    >>> h = fit(m, d, torch.optim.SGD(m.parameters(), lr=0.1), epochs=2, progress=False)
    >>> h.steps, len(h.test_acc)
    (2, 2)
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be a positive number or None, got {clip_grad_norm}.")
    if check_every < 1:
        raise ValueError(f"check_every must be at least 1, got {check_every}.")
    loss_fn = get_loss(loss)
    dev = data.x_train.device
    place(model, dev, optimizer)
    if dev.type == "cuda" and data.is_image:
        model.to(memory_format=torch.channels_last)
    tune_for(dev, images=data.is_image)
    prec = precision(dev, amp)
    scaler = prec.grad_scaler()
    defer = _defer_checks(dev)

    groups = optimizer.param_groups
    base = groups[0]["lr"] or 1.0
    ratios = [g["lr"] / base for g in groups]
    params = [p for g in groups for p in g["params"]]
    mom_key = "betas" if "betas" in groups[0] else "momentum"

    n = len(data.x_train)
    per_epoch = num_batches(n, batch_size)
    total = epochs * per_epoch if max_steps is None else min(max_steps, epochs * per_epoch)
    hist = History(steps_per_epoch=per_epoch)
    records = _Records(hist)
    gen = torch.Generator().manual_seed(
        seed if seed is not None else int(torch.randint(0, 2**31, (1,)))
    )
    show = progress if progress is not None else profile() != "ci"
    bar = _progress(total, show)
    undo = _Undo(model)
    healthy = torch.ones((), dtype=torch.bool, device=dev)  # the CUDA path's on-device flag
    started = time.perf_counter()
    step = 0
    model.train()

    def check() -> bool:
        """Bring the pending records to the host; on a non-finite loss, put the model back and stop."""
        found = records.flush()
        if found is None:
            if hist.loss:
                bar.set_postfix(loss=f"{hist.loss[-1]:.3f}", lr=f"{hist.lr[-1]:.2e}", refresh=False)
            return True
        undo.restore()
        bad, value = found
        hist.stopped = (
            f"Stopped at step {bad} (epoch {bad // per_epoch + 1}): the loss became {value}; "
            f"the model keeps its weights from before the step that caused it. "
            f"Try a smaller learning rate or clip_grad_norm."
        )
        print(hist.stopped)
        return False

    for epoch in range(1, epochs + 1):
        for idx in batches(n, batch_size, generator=gen, device=dev):
            if step >= total:
                break
            # 1. the learning rate (and momentum) for this step
            if schedule is not None and not isinstance(schedule, LRScheduler):
                lr = float(schedule(step))
                for g, r in zip(groups, ratios):
                    g["lr"] = lr * r
            if momentum is not None:
                m = float(momentum(step))
                for g in groups:
                    g[mom_key] = (m, g["betas"][1]) if mom_key == "betas" else m
            # 2. the batch
            xb, yb = data.x_train[idx], data.y_train[idx]
            if augment and data.is_image:
                xb = augment_batch(xb, generator=gen)
            # 3. the loss; a non-finite one stops training (read now on the CPU, later on CUDA)
            with prec.autocast():
                out = model(channels_last(xb))
            batch_loss = loss_fn(out.float(), yb)
            if defer:
                torch.logical_and(healthy, torch.isfinite(batch_loss.detach()), out=healthy)
                undo.save_if(healthy)
            elif not math.isfinite(batch_loss.item()):
                records.add(groups[0]["lr"], batch_loss.detach(), batch_loss.detach())
                break
            else:
                undo.save()
            # 4. backward, gradient norm, clipping, step
            optimizer.zero_grad(set_to_none=True)
            if prec.scaler:  # float16 autocast: scale the loss, unscale before measuring
                scaler.scale(batch_loss).backward()
                scaler.unscale_(optimizer)
            else:
                batch_loss.backward()
            if clip_grad_norm is None:
                norm = grad_norm(params)
            else:
                norm = torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
            records.add(groups[0]["lr"], batch_loss.detach(), norm.detach())
            if prec.scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            if isinstance(schedule, LRScheduler):
                schedule.step()
            step += 1
            bar.update(1)
            if step % check_every == 0 and not check():
                break
        if hist.stopped is not None or not check():
            break
        _record_epoch(model, data, loss_fn, hist, epoch, eval_train, amp)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, hist)
        if step >= total:
            break
    bar.close()
    hist.seconds = time.perf_counter() - started
    return hist


def _record_epoch(
    model: nn.Module, data: Data, loss_fn: LossFn, hist: History, epoch: int, eval_train: bool, amp: Amp = None
) -> None:
    hist.epoch.append(epoch)
    if eval_train:
        tl, ta = evaluate(model, data.x_train, data.y_train, loss_fn, amp=amp)
    else:
        tl, ta = math.nan, math.nan
    vl, va = evaluate(model, data.x_test, data.y_test, loss_fn, amp=amp)
    hist.train_loss.append(tl)
    hist.train_acc.append(ta)
    hist.test_loss.append(vl)
    hist.test_acc.append(va)
    model.train()


def _progress(total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not show, desc="training", unit="step", leave=False)

