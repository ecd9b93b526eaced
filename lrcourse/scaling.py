"""Batch-size arithmetic: effective batch size, the linear scaling rule, warmup length.

When the batch grows by a factor ``k`` (more data per step on one device, more devices
under data parallelism, or gradient accumulation), the *linear scaling rule* of
Goyal et al. (2017) multiplies the learning rate by ``k`` as well:

.. math::

    B = b \\cdot W \\cdot A, \\qquad \\eta = \\eta_0 \\cdot B / B_0,

where ``b`` is the per-device batch, ``W`` the number of devices (the *world size*), ``A``
the gradient-accumulation steps and ``(eta_0, B_0)`` a learning rate known to work at a
reference batch size. Because the scaled rate is too large for the first steps, it is
reached by a *gradual warmup* over a few epochs; the number of steps those epochs take
shrinks as the batch grows. For adaptive optimizers a square-root rule
``eta = eta_0 * sqrt(B / B_0)`` is the common alternative.

All functions are pure arithmetic; :func:`plan` gathers them for a data-parallel run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "Plan",
    "effective_batch_size",
    "linear_scaled_lr",
    "plan",
    "sqrt_scaled_lr",
    "steps_per_epoch",
    "warmup_steps",
]


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}.")
    return value


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def effective_batch_size(per_device: int, world_size: int = 1, accumulation_steps: int = 1) -> int:
    """Examples behind one optimizer step: ``per_device * world_size * accumulation_steps``.

    Under DDP every process computes the gradient of its own ``per_device`` examples and
    the gradients are averaged across processes, so one step sees all of them.

    >>> effective_batch_size(64, world_size=8)
    512
    >>> effective_batch_size(32, world_size=2, accumulation_steps=4)
    256
    """
    _positive_int("per_device", per_device)
    _positive_int("world_size", world_size)
    _positive_int("accumulation_steps", accumulation_steps)
    return per_device * world_size * accumulation_steps


def linear_scaled_lr(base_lr: float, batch_size: int, base_batch_size: int = 256) -> float:
    """The linear scaling rule: ``base_lr * batch_size / base_batch_size`` (Goyal et al., 2017).

    >>> linear_scaled_lr(0.1, 1024, base_batch_size=256)
    0.4
    >>> linear_scaled_lr(0.1, 64, base_batch_size=256)
    0.025
    """
    _positive("base_lr", base_lr)
    _positive_int("batch_size", batch_size)
    _positive_int("base_batch_size", base_batch_size)
    return base_lr * batch_size / base_batch_size


def sqrt_scaled_lr(base_lr: float, batch_size: int, base_batch_size: int = 256) -> float:
    """The square-root rule often used with Adam: ``base_lr * sqrt(batch_size / base_batch_size)``.

    >>> sqrt_scaled_lr(1e-3, 1024, base_batch_size=256)
    0.002
    """
    _positive("base_lr", base_lr)
    _positive_int("batch_size", batch_size)
    _positive_int("base_batch_size", base_batch_size)
    return base_lr * math.sqrt(batch_size / base_batch_size)


def steps_per_epoch(n_train: int, batch_size: int, drop_last: bool = False) -> int:
    """Optimizer steps in one pass over ``n_train`` examples.

    >>> steps_per_epoch(4000, 128), steps_per_epoch(4000, 128, drop_last=True)
    (32, 31)
    """
    _positive_int("n_train", n_train)
    _positive_int("batch_size", batch_size)
    return n_train // batch_size if drop_last else math.ceil(n_train / batch_size)


def warmup_steps(warmup_epochs: float, n_train: int, batch_size: int) -> int:
    """Steps of a warmup lasting ``warmup_epochs`` epochs at this batch size (rounded up).

    The warmup is measured in epochs (examples seen), so a batch ``k`` times larger
    warms up in ``k`` times fewer steps.

    >>> warmup_steps(5, 1_281_167, 8192)  # ImageNet, Goyal et al.'s largest batch
    782
    >>> warmup_steps(0, 4000, 64)
    0
    """
    if not (isinstance(warmup_epochs, (int, float)) and math.isfinite(warmup_epochs) and warmup_epochs >= 0):
        raise ValueError(f"warmup_epochs must be a number >= 0, got {warmup_epochs!r}.")
    _positive_int("n_train", n_train)
    _positive_int("batch_size", batch_size)
    return math.ceil(warmup_epochs * n_train / batch_size)


@dataclass(frozen=True)
class Plan:
    """The numbers of a data-parallel run; see :func:`plan`.

    >>> Plan(256, 0.1, 32, 160).lr
    0.1
    """

    batch_size: int
    lr: float
    steps_per_epoch: int
    warmup_steps: int


def plan(
    base_lr: float,
    base_batch_size: int,
    per_device: int,
    n_train: int,
    *,
    world_size: int = 1,
    accumulation_steps: int = 1,
    warmup_epochs: float = 5,
    rule: str = "linear",
) -> Plan:
    """Effective batch, scaled learning rate, steps per epoch and warmup steps of a run.

    ``rule`` is ``"linear"`` (SGD, Goyal et al.) or ``"sqrt"`` (common for Adam).

    >>> plan(0.1, 256, per_device=128, n_train=50_000, world_size=8)
    Plan(batch_size=1024, lr=0.4, steps_per_epoch=49, warmup_steps=245)
    """
    batch = effective_batch_size(per_device, world_size, accumulation_steps)
    rules = {"linear": linear_scaled_lr, "sqrt": sqrt_scaled_lr}
    if rule not in rules:
        raise ValueError(f"rule must be 'linear' or 'sqrt', got {rule!r}.")
    return Plan(
        batch_size=batch,
        lr=rules[rule](base_lr, batch, base_batch_size),
        steps_per_epoch=steps_per_epoch(n_train, batch),
        warmup_steps=warmup_steps(warmup_epochs, n_train, batch),
    )
