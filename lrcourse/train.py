"""One explicit training loop, and the :class:`History` it returns.

The loop is meant to be read. Every step it

1. sets each param group's learning rate from ``schedule(step)`` (keeping the ratios
   between groups, so discriminative learning rates scale together),
2. takes a batch by index from tensors already on the device (augmenting images on
   the device when asked),
3. computes the loss (under autocast on CUDA), stops cleanly if it is NaN or infinite,
4. backpropagates, measures the global gradient norm (before any clipping), clips
   when asked, and steps the optimizer,

and records the learning rate, the loss and the gradient norm. After every epoch it
evaluates loss and accuracy on the train and test sets.
"""

from __future__ import annotations

import contextlib
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
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``(x, y)``, in eval mode, in batches.

    >>> m = nn.Linear(2, 2)
    >>> l, a = evaluate(m, torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))
    >>> 0.0 <= a <= 1.0
    True
    """
    loss_fn = get_loss(loss)
    was_training = model.training
    model.eval()
    total, correct, n = 0.0, 0, len(x)
    for start in range(0, n, batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        with _autocast(xb.device):
            out = model(_layout(xb))
        total += loss_fn(out.float(), yb).item() * len(xb)
        if yb.dtype == torch.long:
            correct += (out.argmax(-1) == yb).sum().item()
    model.train(was_training)
    acc = correct / n if y.dtype == torch.long else math.nan
    return total / n, acc


def _autocast(dev: torch.device):
    if dev.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return contextlib.nullcontext()


def grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    """The global L2 norm of the gradients of ``params`` (those that have one).

    >>> w = torch.zeros(2, requires_grad=True)
    >>> (w * torch.tensor([3.0, 4.0])).sum().backward()
    >>> grad_norm([w]).item()
    5.0
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def _layout(x: torch.Tensor) -> torch.Tensor:
    if x.is_cuda and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


class _Undo:
    """Keeps a copy of the model's state from before the latest optimizer step."""

    def __init__(self, model: nn.Module) -> None:
        self.live = [t for t in model.state_dict().values() if t.is_floating_point()]
        self.saved = [t.detach().clone() for t in self.live]

    def save(self) -> None:
        torch._foreach_copy_(self.saved, self.live)

    @torch.no_grad()
    def restore(self) -> None:
        torch._foreach_copy_(self.live, self.saved)


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
) -> History:
    """Train ``model`` on ``data`` with ``optimizer`` for ``epochs`` epochs; return the History.

    ``schedule`` is a function of the step (0, 1, ...) giving the learning rate of the
    first param group (the others keep their ratio to it), or a
    ``torch.optim.lr_scheduler`` stepped once per batch. ``momentum`` likewise sets
    ``momentum`` (or Adam's ``beta1``). ``clip_grad_norm`` clips the global gradient norm;
    the norm recorded is the one before clipping. A NaN or infinite loss ends training
    with a one-line message in ``History.stopped``, and the model keeps the weights it
    had before the step that broke it.

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
    loss_fn = get_loss(loss)
    dev = data.x_train.device
    model.to(dev)
    if dev.type == "cuda" and data.is_image:
        model.to(memory_format=torch.channels_last)
    use_scaler = dev.type == "cuda" and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)

    groups = optimizer.param_groups
    base = groups[0]["lr"] or 1.0
    ratios = [g["lr"] / base for g in groups]
    params = [p for g in groups for p in g["params"]]
    mom_key = "betas" if "betas" in groups[0] else "momentum"

    n = len(data.x_train)
    per_epoch = num_batches(n, batch_size)
    total = epochs * per_epoch if max_steps is None else min(max_steps, epochs * per_epoch)
    hist = History(steps_per_epoch=per_epoch)
    gen = torch.Generator().manual_seed(
        seed if seed is not None else int(torch.randint(0, 2**31, (1,)))
    )
    show = progress if progress is not None else profile() != "ci"
    bar = _progress(total, show)
    undo = _Undo(model)
    started = time.perf_counter()
    step = 0
    model.train()
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
            # 3. the loss
            with _autocast(dev):
                out = model(_layout(xb))
            batch_loss = loss_fn(out.float(), yb)
            loss_value = batch_loss.item()
            if not math.isfinite(loss_value):
                undo.restore()
                hist.stopped = (
                    f"Stopped at step {step} (epoch {epoch}): the loss became {loss_value}; "
                    f"the model keeps its weights from before the step that caused it. "
                    f"Try a smaller learning rate or clip_grad_norm."
                )
                print(hist.stopped)
                break
            # 4. backward, gradient norm, clipping, step
            optimizer.zero_grad(set_to_none=True)
            if use_scaler:  # float16 autocast on a GPU without bfloat16
                scaler.scale(batch_loss).backward()
                scaler.unscale_(optimizer)
            else:
                batch_loss.backward()
            if clip_grad_norm is None:
                norm = grad_norm(params)
            else:
                norm = torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
            hist.lr.append(groups[0]["lr"])
            hist.loss.append(loss_value)
            hist.grad_norm.append(norm.item())
            undo.save()
            if use_scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            if isinstance(schedule, LRScheduler):
                schedule.step()
            step += 1
            bar.update(1)
            if step % 10 == 0 or step == total:
                bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{hist.lr[-1]:.2e}", refresh=False)
        if hist.stopped is not None:
            break
        _record_epoch(model, data, loss_fn, hist, epoch, eval_train)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, hist)
        if step >= total:
            break
    bar.close()
    hist.seconds = time.perf_counter() - started
    return hist


def _record_epoch(model: nn.Module, data: Data, loss_fn: LossFn, hist: History, epoch: int, eval_train: bool) -> None:
    hist.epoch.append(epoch)
    if eval_train:
        tl, ta = evaluate(model, data.x_train, data.y_train, loss_fn)
    else:
        tl, ta = math.nan, math.nan
    vl, va = evaluate(model, data.x_test, data.y_test, loss_fn)
    hist.train_loss.append(tl)
    hist.train_acc.append(ta)
    hist.test_loss.append(vl)
    hist.test_acc.append(va)
    model.train()


def _progress(total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not show, desc="training", unit="step", leave=False)

