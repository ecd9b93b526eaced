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

and records the learning rate, the loss and (unless ``measure_norm=False``) the gradient norm. The records stay on the
device and come to the host in one transfer per epoch (and every ``check_every`` steps on
CUDA, for the progress bar), so a GPU never waits on Python; a NaN or infinite loss still
stops training with the model as it was before the step that caused it (unless ``undo=False``,
which skips the copy that makes this possible). After every epoch
it evaluates loss and accuracy on the train and test sets (``eval_train``, ``eval_test``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Union

import torch
from torch import nn

from .data import Data, batches, num_batches
from .data import augment as augment_batch
from .profiles import profile
from .runtime import (
    LOSSES,
    Amp,
    LossFn,
    Precision,
    Schedule,
    channels_last,
    eval_mode,
    generator,
    get_loss,
    lr_ratios,
    mse_onehot,
    place,
    precision,
    set_lr,
    tune_for,
)
from .runtime import progress as progress_bar

LRScheduler = torch.optim.lr_scheduler.LRScheduler
Batch = tuple[torch.Tensor, torch.Tensor]

__all__ = [
    "LOSSES",
    "Batch",
    "BatchSource",
    "EpochCallback",
    "History",
    "LossFn",
    "Schedule",
    "evaluate",
    "fit",
    "get_loss",
    "grad_norm",
    "mse_onehot",
    "train_step",
]


@dataclass
class History:
    """What :func:`fit` recorded: per step ``lr``, ``loss``, ``grad_norm``; per epoch the rest.

    ``grad_norm`` is empty when ``fit`` ran with ``measure_norm=False``; a per-epoch loss or accuracy
    is NaN for a split ``fit`` did not evaluate (``eval_train=False``, ``eval_test=False``, or data
    given as batches, which have no splits).

    Used in: chapters 1, 8, 9, 11, 12, 14, 15.

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

    def epochs_to(self, accuracy: float, key: str = "test_acc") -> int | None:
        """The first epoch (1-based) whose accuracy reached ``accuracy``; ``None`` if none did."""
        for e, a in zip(self.epoch, getattr(self, key)):
            if a >= accuracy:
                return e
        return None

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

    Used in: chapters 3, 8, 12.

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
    n = len(x)
    total = torch.zeros((), device=x.device, dtype=torch.float64)  # float64, as a Python float would sum
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    with eval_mode(model):
        for start in range(0, n, batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            with prec.autocast():
                out = model(channels_last(xb))
            total += loss_fn(out.float(), yb).double() * len(xb)
            if yb.dtype == torch.long:
                correct += (out.argmax(-1) == yb).sum()
    acc = correct.item() / n if y.dtype == torch.long else math.nan
    return total.item() / n, acc


def grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    """The global L2 norm of the gradients of ``params`` (those that have one).

    Used in: no chapter.

    The same computation as ``torch.nn.utils.clip_grad_norm_`` makes before it clips (the
    norm of each gradient, then the norm of those norms), so the two report the same number.

    >>> w = torch.zeros(2, requires_grad=True)
    >>> (w * torch.tensor([3.0, 4.0])).sum().backward()
    >>> grad_norm([w]).item()
    5.0
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device if params else None)
    # torch._foreach_norm, private: torch.nn.utils.get_total_norm gives the same bits but groups the tensors
    # by device and dtype first, ~100 us more per call on the CPU (2.14, a 3-layer MLP): 10% of a small step
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: Union[Batch, Sequence[Batch]],
    loss: Union[str, LossFn] = "cross_entropy",
    *,
    prec: Precision | None = None,
    scaler: torch.amp.GradScaler | None = None,
    clip_grad_norm: float | None = None,
    measure_norm: bool = True,
    on_loss: Callable[[torch.Tensor], bool] | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """One optimizer step, the one :func:`fit` and :func:`lrcourse.lr_finder.range_test` both take.

    Used in: no chapter.

    Forward pass in the precision ``prec`` (:func:`lrcourse.runtime.precision`; by default the
    one for the model's device), loss, backward (through ``scaler`` when it is an enabled
    ``GradScaler``), the global gradient norm before clipping (:func:`grad_norm`), clipping to
    ``clip_grad_norm`` when given, and the optimizer step. ``batch`` is one ``(x, y)`` pair, or a
    list of pairs whose gradients are averaged (gradient accumulation: each loss divided by
    their number). ``on_loss`` sees each detached loss before its backward pass; when it returns
    False the step stops there, without updating, and ``None`` is returned.

    Returns the detached loss (summed over the list) and the gradient norm (``None`` when
    ``measure_norm=False`` and no clipping was asked for).

    >>> _ = torch.manual_seed(0)
    >>> m = nn.Linear(2, 3)
    >>> opt = torch.optim.SGD(m.parameters(), lr=0.1)
    >>> x, y = torch.randn(8, 2), torch.randint(0, 3, (8,))
    >>> loss, norm = train_step(m, opt, (x, y))
    >>> bool(train_step(m, opt, (x, y))[0] < loss), norm.item() > 0
    (True, True)
    """
    loss_fn = get_loss(loss)
    if prec is None:
        prec = precision(next(model.parameters()).device)
    parts = batch if isinstance(batch, list) else [batch]
    scaling = scaler is not None and scaler.is_enabled()
    total = None
    for i, (xb, yb) in enumerate(parts):
        with prec.autocast():
            out = model(channels_last(xb))
        value = loss_fn(out if out.dtype == torch.float32 else out.float(), yb)  # the loss in float32
        if len(parts) > 1:
            value = value / len(parts)
        seen = value.detach()
        if on_loss is not None and not on_loss(seen):
            return None
        if i == 0:
            optimizer.zero_grad(set_to_none=True)
        (scaler.scale(value) if scaling else value).backward()
        total = seen if total is None else total + seen
    if scaling:  # float16 autocast: unscale before measuring and clipping
        scaler.unscale_(optimizer)
    norm = None  # gradients carry no graph, so neither does their norm (nothing to detach)
    if clip_grad_norm is not None or measure_norm:
        params = [p for g in optimizer.param_groups for p in g["params"]]
        if clip_grad_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
        else:
            norm = grad_norm(params)
    if scaling:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return total, norm


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
    """Per-step losses and gradient norms, kept as device tensors until :meth:`flush` reads them at once.

    With ``norms=False`` the norms passed to :meth:`add` are ignored and ``History.grad_norm`` stays empty.
    """

    def __init__(self, hist: History, norms: bool = True) -> None:
        self.hist, self.norms = hist, norms
        self.loss: list[torch.Tensor] = []
        self.norm: list[torch.Tensor] = []

    def add(self, lr: float, loss: torch.Tensor, norm: torch.Tensor | None) -> None:
        self.hist.lr.append(lr)
        self.loss.append(loss)
        if self.norms:
            self.norm.append(norm)  # type: ignore[arg-type]

    def flush(self) -> tuple[int, float] | None:
        """Move the pending records to the History (one transfer); return the step of the first
        non-finite loss and that loss, or ``None``. Records from that step on are dropped."""
        if not self.loss:
            return None
        if self.norms:
            pending = torch.stack([torch.stack(self.loss).float(), torch.stack(self.norm).float()]).tolist()
        else:
            pending = [torch.stack(self.loss).float().tolist(), []]
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


EpochCallback = Callable[[int, nn.Module, History], None]


class BatchSource:
    """Where training batches come from: an :class:`lrcourse.data.Data` or any iterable of ``(x, y)``.

    Used in: no chapter.

    For a ``Data``, an epoch is :func:`lrcourse.data.batches` over the training split (index
    slices of tensors already on their device, augmented on the device when asked). Any other
    iterable of ``(x, y)`` pairs (a ``torch.utils.data.DataLoader``, a list) is read as it
    comes, each batch moved to the model's device. ``caller`` names the function in messages.

    >>> src = BatchSource([(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long))] * 3, nn.Linear(2, 2))
    >>> src.per_epoch, [x.shape[0] for x, _ in src.epoch(generator(0))]
    (3, [4, 4, 4])
    """

    def __init__(
        self, data: Data | Iterable[Batch], model: nn.Module, batch_size: int = 128, *,
        augment: bool = False, caller: str = "fit",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (examples per step), got {batch_size}.")
        self.data, self.batch_size, self.caller = data, batch_size, caller
        if isinstance(data, Data):
            self.device, self.is_image = data.x_train.device, data.is_image
            self.n = len(data.x_train)
            self.per_epoch: int | None = num_batches(self.n, batch_size)
        elif isinstance(data, Iterable) and not isinstance(data, (str, bytes, dict, torch.Tensor, tuple)):
            first = next(iter(model.parameters()), None)
            self.device = first.device if first is not None else torch.device("cpu")
            self.is_image, self.n = False, None
            self.per_epoch = len(data) if hasattr(data, "__len__") else None  # type: ignore[arg-type]
        else:
            raise ValueError(
                f"{caller} takes an lrcourse.data.Data (from lrcourse.load) or an iterable of (x, y) batches such as "
                f"a torch.utils.data.DataLoader; got {type(data).__name__}. For two tensors x, y, pass "
                "DataLoader(TensorDataset(x, y), batch_size=..., shuffle=True)."
            )
        self.augment = augment

    def epoch(self, gen: torch.Generator) -> Iterator[Batch]:
        """One pass over the data; ``gen`` orders (and augments) the batches of a ``Data``."""
        data = self.data
        if isinstance(data, Data):
            for idx in batches(self.n, self.batch_size, generator=gen, device=self.device):
                xb = data.x_train[idx]
                if self.augment and self.is_image:
                    xb = augment_batch(xb, generator=gen)
                yield xb, data.y_train[idx]
            return
        for item in data:
            try:
                xb, yb = item
            except (TypeError, ValueError):
                raise TypeError(
                    f"{self.caller} expects each batch to be an (x, y) pair; got {type(item).__name__}."
                ) from None
            xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
            if self.augment and xb.dim() == 4:
                xb = augment_batch(xb, generator=gen)
            yield xb, yb

    def stream(self, gen: torch.Generator) -> Iterator[Batch]:
        """Epoch after epoch, without end (the range test cycles through short data)."""
        while True:
            empty = True
            for b in self.epoch(gen):
                empty = False
                yield b
            if empty:
                raise ValueError(
                    f"{self.caller}: the data yielded no batches (a generator that was used up?); "
                    "pass a DataLoader or a list, which can be read again."
                )


class _Hyperparams:
    """Step 1 of the loop: the learning rate (and momentum) of every param group at each step."""

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule | LRScheduler | None,
                 momentum: Schedule | None) -> None:
        self.groups, self.momentum = optimizer.param_groups, momentum
        self.stepped = schedule if isinstance(schedule, LRScheduler) else None
        self.schedule = None if self.stepped is not None else schedule
        self.ratios = lr_ratios(self.groups)
        self.key = "betas" if "betas" in self.groups[0] else "momentum"

    def set(self, step: int) -> float:
        """Set this step's rates; return group 0's learning rate."""
        if self.schedule is not None:
            lr = float(self.schedule(step))
            if not 0.0 <= lr < math.inf:
                raise ValueError(
                    f"The schedule gave lr={lr} at step {step}; a learning rate must be a finite number >= 0. "
                    "Check the schedule's formula and the number of steps it was built for."
                )
            set_lr(self.groups, lr, self.ratios)
        if self.momentum is not None:
            m = float(self.momentum(step))
            for g in self.groups:
                g[self.key] = (m, g["betas"][1]) if self.key == "betas" else m
        return self.groups[0]["lr"]

    def after_step(self) -> None:
        if self.stepped is not None:
            self.stepped.step()


class _Guard:
    """Steps 3-4's bookkeeping: the records, the undo copy (unless ``undo=False``), and the stop on a non-finite loss."""

    def __init__(self, model: nn.Module, hist: History, dev: torch.device, bar: object, norms: bool = True,
                 undo: bool = True) -> None:
        self.hist, self.bar = hist, bar
        self.records, self.undo = _Records(hist, norms), _Undo(model) if undo else None
        self.defer = _defer_checks(dev)
        self.healthy = torch.ones((), dtype=torch.bool, device=dev)  # the CUDA path's on-device flag
        self.lr = 0.0

    def on_loss(self, loss: torch.Tensor) -> bool:
        """Before the backward pass: keep the pre-update weights, or refuse a non-finite loss (CPU)."""
        if self.defer:
            if self.undo is not None:  # the on-device flag only decides whether the copy follows the weights
                torch.logical_and(self.healthy, torch.isfinite(loss), out=self.healthy)
                self.undo.save_if(self.healthy)
        elif not math.isfinite(loss.item()):
            self.records.add(self.lr, loss, loss)
            return False
        elif self.undo is not None:
            self.undo.save()
        return True

    def check(self) -> bool:
        """Bring the pending records to the host; on a non-finite loss, put the model back and stop."""
        found = self.records.flush()
        hist = self.hist
        if found is None:
            if hist.loss:
                self.bar.set_postfix(loss=f"{hist.loss[-1]:.3f}", lr=f"{hist.lr[-1]:.2e}", refresh=False)
            return True
        if self.undo is not None:
            self.undo.restore()
        bad, value = found
        per_epoch = hist.steps_per_epoch or 1
        kept = ("its weights from before the step that caused it" if self.undo is not None
                else "the weights that gave that loss (undo=False)")
        hist.stopped = (
            f"Stopped at step {bad} (epoch {bad // per_epoch + 1}): the loss became {value}; "
            f"the model keeps {kept}. Try a smaller learning rate or clip_grad_norm."
        )
        print(hist.stopped)
        return False


def _check_fit_args(epochs: int, clip_grad_norm: float | None, check_every: int) -> None:
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"clip_grad_norm must be a positive number or None, got {clip_grad_norm}.")
    if check_every < 1:
        raise ValueError(f"check_every must be at least 1, got {check_every}.")


def fit(
    model: nn.Module,
    data: Data | Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    schedule: Union[Schedule, LRScheduler, None] = None,
    momentum_schedule: Schedule | None = None,
    loss: Union[str, LossFn] = "cross_entropy",
    batch_size: int = 128,
    augment: bool = False,
    clip_grad_norm: float | None = None,
    seed: int | None = None,
    max_steps: int | None = None,
    eval_train: bool = True,
    eval_test: bool = True,
    measure_norm: bool = True,
    undo: bool = True,
    progress: bool | None = None,
    on_epoch_end: EpochCallback | Sequence[EpochCallback] | None = None,
    amp: Amp = None,
    check_every: int = 50,
) -> History:
    """Train ``model`` on ``data`` with ``optimizer`` for ``epochs`` epochs; return the History.

    Used in: chapters 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15.

    ``data`` is an :class:`lrcourse.data.Data` (batches of ``batch_size`` drawn as index slices,
    evaluated on its train and test splits after every epoch) or any iterable of ``(x, y)``
    batches, such as a ``torch.utils.data.DataLoader`` (read as it comes, each batch moved to the
    model's device; there is no test split, so the per-epoch losses and accuracies are NaN:
    call :func:`evaluate` in ``on_epoch_end`` for your own).

    ``schedule`` is a function of the step (0, 1, ...) giving the learning rate of the
    first param group (the others keep their ratio to it), or a
    ``torch.optim.lr_scheduler`` stepped once per batch. ``momentum_schedule`` likewise sets
    the optimizer's ``momentum`` (or Adam's ``beta1``) at every step. ``clip_grad_norm`` clips the global gradient norm;
    the norm recorded is the one before clipping. ``on_epoch_end`` is a function
    ``(epoch, model, history)``, or a list of them, called in order after each epoch.

    **What fit records beyond training**, each of which can be turned off when only speed matters
    (none of them changes the training: the weights, the losses and the random numbers drawn
    are the same bit for bit). ``eval_train`` and ``eval_test``: the loss and accuracy on the
    train and test splits of a ``Data`` after every epoch (a forward pass over each split); a
    split not evaluated gets NaN in its per-epoch lists, as for a ``DataLoader``, so
    ``History.epoch`` and the four lists keep one entry per epoch. ``measure_norm``: the global
    gradient norm of every step (a reduction over all gradients); with ``measure_norm=False``,
    ``History.grad_norm`` stays empty (``clip_grad_norm`` still measures the norm it clips by, but
    it is not recorded). The stop on a NaN loss below is always on.

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
    The guarantee costs one copy of the model's state per step (on one CPU thread, 3-4 % of a step
    of the 40-256-256-10 MLP at batch 32, less at larger batches); ``undo=False`` skips it: training still
    stops at the same step with the same History, but the model keeps the weights that gave
    the non-finite loss (on CUDA, those of up to ``check_every - 1`` steps later).

    >>> from lrcourse.data import load
    >>> _ = torch.manual_seed(0)
    >>> d = load("blobs", n_train=128, n_test=64, device="cpu")
    >>> m = nn.Linear(2, 3)
    >>> h = fit(m, d, torch.optim.SGD(m.parameters(), lr=0.1), epochs=2, progress=False)
    >>> h.steps, len(h.test_acc)
    (2, 2)

    The same run without the per-epoch evaluation, the gradient norms and the undo copy trains the
    same weights:

    >>> _ = torch.manual_seed(0)
    >>> lean = nn.Linear(2, 3)
    >>> h = fit(lean, d, torch.optim.SGD(lean.parameters(), lr=0.1), epochs=2, progress=False,
    ...         eval_train=False, eval_test=False, measure_norm=False, undo=False)
    >>> h.steps, h.test_acc, h.grad_norm, torch.equal(lean.weight, m.weight)
    (2, [nan, nan], [], True)
    """
    _check_fit_args(epochs, clip_grad_norm, check_every)
    loss_fn = get_loss(loss)
    source = BatchSource(data, model, batch_size, augment=augment, caller="fit")
    dev = source.device
    place(model, dev, optimizer)
    if dev.type == "cuda" and source.is_image:
        model.to(memory_format=torch.channels_last)
    tune_for(dev, images=source.is_image)
    prec = precision(dev, amp)
    scaler = prec.grad_scaler() if prec.scaler else None
    hp = _Hyperparams(optimizer, schedule, momentum_schedule)
    callbacks = [] if on_epoch_end is None else [on_epoch_end] if callable(on_epoch_end) else list(on_epoch_end)

    per_epoch = source.per_epoch
    planned = None if per_epoch is None else epochs * per_epoch
    total = planned if max_steps is None else max_steps if planned is None else min(max_steps, planned)
    hist = History(steps_per_epoch=per_epoch or 0)
    gen = generator(seed)
    bar = progress_bar(total, progress if progress is not None else profile() != "ci")
    guard = _Guard(model, hist, dev, bar, norms=measure_norm, undo=undo)
    started = time.perf_counter()
    step = 0
    model.train()
    try:
        for epoch in range(1, epochs + 1):
            for xb, yb in source.epoch(gen):
                if total is not None and step >= total:
                    break
                guard.lr = hp.set(step)  # 1. the learning rate (and momentum) for this step
                # 2.-4. forward, loss (a non-finite one stops training), backward, norm, clipping, step
                done = train_step(model, optimizer, (xb, yb), loss_fn, prec=prec, scaler=scaler,
                                  clip_grad_norm=clip_grad_norm, measure_norm=measure_norm, on_loss=guard.on_loss)
                if done is None:
                    break
                guard.records.add(guard.lr, *done)
                hp.after_step()
                step += 1
                bar.update(1)
                if step % check_every == 0 and not guard.check():
                    break
            if hist.stopped is not None or not guard.check():
                break
            hist.steps_per_epoch = hist.steps_per_epoch or step
            _record_epoch(model, data, loss_fn, hist, epoch, eval_train, eval_test, amp)
            for callback in callbacks:
                callback(epoch, model, hist)
            if total is not None and step >= total:
                break
    finally:
        bar.close()
    hist.seconds = time.perf_counter() - started
    return hist


def _record_epoch(
    model: nn.Module, data: Data | object, loss_fn: LossFn, hist: History, epoch: int, eval_train: bool,
    eval_test: bool, amp: Amp = None,
) -> None:
    hist.epoch.append(epoch)
    tl = ta = vl = va = math.nan
    if isinstance(data, Data):
        if eval_train:
            tl, ta = evaluate(model, data.x_train, data.y_train, loss_fn, amp=amp)
        if eval_test:
            vl, va = evaluate(model, data.x_test, data.y_test, loss_fn, amp=amp)
    hist.train_loss.append(tl)
    hist.train_acc.append(ta)
    hist.test_loss.append(vl)
    hist.test_acc.append(va)

