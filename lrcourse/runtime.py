"""The runtime pieces every layer shares: precision, placement, progress bars, generators, LR ratios,
the loss registry, a streaming EMA, eval mode and an atomic save.

The bottom module of the library: it imports nothing from ``lrcourse``, and every other module
may import from it (``tests/test_structure.py`` holds the order). :func:`lrcourse.train.fit`,
:func:`lrcourse.train.evaluate` and :func:`lrcourse.lr_finder.range_test` all ask
:func:`precision` and :func:`place`, so the three never disagree.

Precision by capability:

* CPU: float32 (autocast on the CPU is slower than float32 for these small models);
* CUDA with compute capability 8.0 or more (A100, L4, H100, RTX 30xx and later):
  bfloat16 autocast, which has float32's range and needs no loss scaling;
* older CUDA GPUs (Colab's T4 is 7.5, V100 is 7.0): float16 autocast with a
  ``GradScaler``. (``torch.cuda.is_bf16_supported()`` says True on a T4 because bfloat16
  can be *emulated* there, slowly; the capability is the honest test.)
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import torch
from torch import nn
from torch.nn import functional as F

Amp = Union[bool, str, None]
Schedule = Callable[[int], float]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_NAMES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


@dataclass(frozen=True)
class Precision:
    """How a training step runs: the autocast ``dtype`` (``None``: float32) and whether to scale the loss.

    Used in: no chapter.

    >>> p = Precision("cpu", None, False)
    >>> p.name, p.scaler
    ('fp32', False)
    """

    device_type: str
    dtype: torch.dtype | None
    scaler: bool

    @property
    def name(self) -> str:
        """``"bf16"``, ``"fp16"`` or ``"fp32"``."""
        return {torch.bfloat16: "bf16", torch.float16: "fp16", None: "fp32"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context the forward pass runs in (does nothing for float32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A ``GradScaler``, enabled only for float16 (disabled, it passes everything through)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.scaler)


def bf16_native(device: torch.device | str | int | None = None) -> bool:
    """True when the CUDA device computes in bfloat16 natively (compute capability 8.0 or more).

    Used in: no chapter.

    >>> isinstance(bf16_native(), bool)
    True
    """
    if not torch.cuda.is_available():
        return False
    return tuple(torch.cuda.get_device_capability(device)) >= (8, 0)


def precision(device: torch.device | str, amp: Amp = None) -> Precision:
    """The precision for training on ``device``: one rule for ``fit``, ``evaluate`` and ``range_test``.

    Used in: no chapter.

    ``amp=None`` (the default) or ``True``: by capability, bfloat16 on CUDA devices of
    compute capability 8.0 or more, float16 with a ``GradScaler`` on older ones (a T4),
    float32 on the CPU. ``amp=False``: float32 everywhere (for comparing with hand-written
    float32 code). ``"bf16"``, ``"fp16"`` or ``"fp32"`` force one on any device.

    >>> precision("cpu").name, precision("cpu", amp=False).name
    ('fp32', 'fp32')
    >>> p = precision("cpu", amp="fp16")
    >>> p.name, p.scaler
    ('fp16', True)
    """
    dev = torch.device(device)
    if isinstance(amp, str):
        if amp not in _NAMES:
            raise ValueError(f"amp must be None, True, False or one of {', '.join(_NAMES)}; got {amp!r}.")
        dtype = _NAMES[amp]
        return Precision(dev.type, dtype, dtype is torch.float16)
    if amp is False or dev.type != "cuda":
        return Precision(dev.type, None, False)
    if bf16_native(dev):
        return Precision("cuda", torch.bfloat16, False)
    return Precision("cuda", torch.float16, True)


def place(model: nn.Module, device: torch.device | str, optimizer: torch.optim.Optimizer | None = None) -> nn.Module:
    """Move ``model`` (and ``optimizer``'s state, if any) to ``device``, where the data is; return the model.

    Used in: no chapter.

    ``fit`` and ``range_test`` call this with the device of their data, so a model built on
    the CPU and data on the GPU (or the other way round) cannot meet in one step.
    Parameters move in place, so an optimizer built before still holds them.

    >>> m = place(nn.Linear(2, 2), "cpu")
    >>> m.weight.device.type
    'cpu'
    """
    dev = torch.device(device)
    model.to(dev)
    if optimizer is not None:
        for state in optimizer.state.values():
            for key, value in state.items():
                # Adam's "step" counter stays where the optimizer keeps it (on the CPU unless capturable)
                if torch.is_tensor(value) and key != "step" and value.device != dev:
                    state[key] = value.to(dev)
    return model


def tune_for(device: torch.device | str, images: bool) -> None:
    """Turn cuDNN's autotuner on for image training on CUDA (fixed shapes: it picks the fastest kernels).

    Used in: no chapter.

    On the CPU it changes nothing, so CPU runs stay bitwise repeatable.

    >>> tune_for("cpu", images=True)
    """
    if torch.device(device).type == "cuda" and images:
        torch.backends.cudnn.benchmark = True


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """Images on CUDA in channels-last memory layout (faster convolutions under autocast); else ``x``.

    Used in: no chapter.

    >>> channels_last(torch.zeros(1, 3, 4, 4)).is_contiguous()
    True
    """
    if x.is_cuda and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


# --------------------------------------------------------------------------- argument checks


def check_positive(name: str, value: float) -> float:
    """``value`` as a float when it is a positive finite number; else a ``ValueError`` naming ``name``.

    Used in: no chapter.

    >>> check_positive("lr", 0.1)
    0.1
    """
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def check_count(name: str, value: int) -> int:
    """``value`` when it is a whole number >= 1 (of steps, examples, batches); else a ``ValueError`` naming ``name``.

    Used in: no chapter.

    >>> check_count("batch_size", 64)
    64
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    return value


# --------------------------------------------------------------------------- losses


def mse_onehot(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the softmax of the logits and the one-hot targets.

    Used in: chapter 10.

    >>> round(mse_onehot(torch.tensor([[10.0, -10.0]]), torch.tensor([0])).item(), 6)
    0.0
    """
    p = logits.float().softmax(-1)
    return F.mse_loss(p, F.one_hot(y, p.shape[-1]).to(p.dtype), reduction="sum") / len(y)


LOSSES: dict[str, LossFn] = {"cross_entropy": F.cross_entropy, "mse": mse_onehot}


def get_loss(loss: Union[str, LossFn]) -> LossFn:
    """A loss function from its name (``"cross_entropy"``, ``"mse"``) or the function itself.

    Used in: no chapter.

    >>> get_loss("cross_entropy") is F.cross_entropy
    True
    """
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; use one of {', '.join(LOSSES)} or a function.")
    return LOSSES[loss]


# --------------------------------------------------------------------------- the loop's small parts


def progress(total: int | None, show: bool, desc: str = "training", unit: str = "step") -> Any:
    """A tqdm progress bar (``show=False``: a disabled one, which costs nothing); close it in a ``finally``.

    Used in: no chapter.

    >>> bar = progress(3, show=False)
    >>> bar.update(1); bar.close()
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not show, desc=desc, unit=unit, leave=False)


def generator(seed: int | None = None) -> torch.Generator:
    """A CPU generator seeded with ``seed``, or, when ``None``, with a seed drawn from torch's global one.

    Used in: no chapter.

    >>> a, b = generator(0), generator(0)
    >>> torch.equal(torch.randperm(5, generator=a), torch.randperm(5, generator=b))
    True
    """
    return torch.Generator().manual_seed(seed if seed is not None else int(torch.randint(0, 2**31, (1,))))


def lr_ratios(groups: Sequence[dict]) -> list[float]:
    """Each param group's learning rate as a ratio to the first group's (all 1 when that one is 0).

    Used in: no chapter.

    >>> lr_ratios([{"lr": 0.1}, {"lr": 0.4}])
    [1.0, 4.0]
    """
    base = groups[0]["lr"] or 1.0
    return [g["lr"] / base for g in groups]


def set_lr(groups: Sequence[dict], lr: float, ratios: Sequence[float]) -> None:
    """Set the first group's learning rate to ``lr`` and the others to ``lr`` times their ratio.

    Used in: no chapter.

    >>> groups = [{"lr": 0.1}, {"lr": 0.4}]
    >>> set_lr(groups, 1.0, lr_ratios(groups)); [g["lr"] for g in groups]
    [1.0, 4.0]
    """
    for g, r in zip(groups, ratios):
        g["lr"] = lr * r


class EMA:
    """A streaming exponential moving average with bias correction (Adam-style).

    Used in: no chapter.

    ``avg_i = β·avg_{i-1} + (1-β)·x_i`` from ``avg_{-1} = 0``; :meth:`update` returns
    ``avg_i / (1 - β**(i+1))``, so the first values are not pulled towards zero.

    >>> e = EMA(0.9)
    >>> [e.update(2.0) for _ in range(3)]
    [2.0, 2.0, 2.0]
    """

    def __init__(self, beta: float) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta (the smoothing factor) must be in [0, 1), got {beta}; 0.98 is the usual choice.")
        self.beta, self.avg, self.count = beta, 0.0, 0

    def update(self, x: float) -> float:
        """Add ``x``; return the bias-corrected average so far."""
        self.count += 1
        self.avg = self.beta * self.avg + (1 - self.beta) * x
        return self.avg / (1 - self.beta**self.count)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run the block with ``model`` in eval mode, then put back the mode it had (also on an exception).

    Used in: no chapter.

    >>> m = nn.Dropout()
    >>> with eval_mode(m):
    ...     m.training
    False
    >>> m.training
    True
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def closure_loss(closure: Callable[[], Any] | None) -> Any:
    """Evaluate an optimizer's ``closure`` with gradients on (``step`` runs under no_grad); None without one.

    Used in: no chapter.

    >>> closure_loss(None) is None
    True
    >>> w = torch.tensor([3.0], requires_grad=True)
    >>> with torch.no_grad():
    ...     loss = closure_loss(lambda: (w * w).sum())
    >>> loss.requires_grad
    True
    """
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def atomic_save(obj: object, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file, then ``os.replace``: a crash never leaves half a file behind.

    Used in: no chapter.

    >>> import tempfile
    >>> p = atomic_save({"a": 1}, Path(tempfile.mkdtemp()) / "x.pt")
    >>> torch.load(p)
    {'a': 1}
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path
