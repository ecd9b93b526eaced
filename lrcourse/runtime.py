"""What the hardware decides, in one place: the precision a step runs in, and where the model lives.

A bottom module (it imports nothing from ``lrcourse``): :func:`lrcourse.train.fit`,
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
from dataclasses import dataclass
from typing import Union

import torch
from torch import nn

Amp = Union[bool, str, None]
_NAMES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


@dataclass(frozen=True)
class Precision:
    """How a training step runs: the autocast ``dtype`` (``None``: float32) and whether to scale the loss.

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

    >>> isinstance(bf16_native(), bool)
    True
    """
    if not torch.cuda.is_available():
        return False
    return tuple(torch.cuda.get_device_capability(device)) >= (8, 0)


def precision(device: torch.device | str, amp: Amp = None) -> Precision:
    """The precision for training on ``device``: one rule for ``fit``, ``evaluate`` and ``range_test``.

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

    On the CPU it changes nothing, so CPU runs stay bitwise repeatable.

    >>> tune_for("cpu", images=True)
    """
    if torch.device(device).type == "cuda" and images:
        torch.backends.cudnn.benchmark = True


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """Images on CUDA in channels-last memory layout (faster convolutions under autocast); else ``x``.

    >>> channels_last(torch.zeros(1, 3, 4, 4)).is_contiguous()
    True
    """
    if x.is_cuda and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
