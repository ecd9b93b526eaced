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

Past the batch where one global rate can serve every layer, *layer-wise* rates help: LARS
(You et al., 2017) and LAMB (You et al., 2020) scale each tensor's step by a *trust ratio*
``‖w‖ / ‖update‖``, so that every layer moves by the same fraction of its own norm.
:class:`LARS` and :class:`LAMB` are ``torch.optim.Optimizer`` s (PyTorch has neither).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .data import num_batches
from .runtime import check_count, check_positive, closure_loss

__all__ = [
    "LAMB",
    "LARS",
    "Plan",
    "effective_batch_size",
    "linear_scaled_lr",
    "plan",
    "sqrt_scaled_lr",
    "trust_ratio",
    "warmup_steps",
]


def effective_batch_size(per_device: int, world_size: int = 1, accumulation_steps: int = 1) -> int:
    """Examples behind one optimizer step: ``per_device * world_size * accumulation_steps``.

    Used in: no chapter.

    Under DDP every process computes the gradient of its own ``per_device`` examples and
    the gradients are averaged across processes, so one step sees all of them.

    >>> effective_batch_size(64, world_size=8)
    512
    >>> effective_batch_size(32, world_size=2, accumulation_steps=4)
    256
    """
    check_count("per_device", per_device)
    check_count("world_size", world_size)
    check_count("accumulation_steps", accumulation_steps)
    return per_device * world_size * accumulation_steps


def linear_scaled_lr(base_lr: float, batch_size: int, base_batch_size: int = 256) -> float:
    """The linear scaling rule: ``base_lr * batch_size / base_batch_size`` (Goyal et al., 2017).

    Used in: chapter 8.

    >>> linear_scaled_lr(0.1, 1024, base_batch_size=256)
    0.4
    >>> linear_scaled_lr(0.1, 64, base_batch_size=256)
    0.025
    """
    check_positive("base_lr", base_lr)
    check_count("batch_size", batch_size)
    check_count("base_batch_size", base_batch_size)
    return base_lr * batch_size / base_batch_size


def sqrt_scaled_lr(base_lr: float, batch_size: int, base_batch_size: int = 256) -> float:
    """The square-root rule often used with Adam: ``base_lr * sqrt(batch_size / base_batch_size)``.

    Used in: chapter 8.

    >>> sqrt_scaled_lr(1e-3, 1024, base_batch_size=256)
    0.002
    """
    check_positive("base_lr", base_lr)
    check_count("batch_size", batch_size)
    check_count("base_batch_size", base_batch_size)
    return base_lr * math.sqrt(batch_size / base_batch_size)


def warmup_steps(warmup_epochs: float, n_train: int, batch_size: int) -> int:
    """Steps of a warmup lasting ``warmup_epochs`` epochs at this batch size (rounded up).

    Used in: chapter 8.

    The warmup is measured in epochs (examples seen), so a batch ``k`` times larger
    warms up in ``k`` times fewer steps.

    >>> warmup_steps(5, 1_281_167, 8192)  # ImageNet, Goyal et al.'s largest batch
    782
    >>> warmup_steps(0, 4000, 64)
    0
    """
    if not (isinstance(warmup_epochs, (int, float)) and math.isfinite(warmup_epochs) and warmup_epochs >= 0):
        raise ValueError(f"warmup_epochs must be a number >= 0, got {warmup_epochs!r}.")
    check_count("n_train", n_train)
    check_count("batch_size", batch_size)
    return math.ceil(warmup_epochs * n_train / batch_size)


@dataclass(frozen=True)
class Plan:
    """The numbers of a data-parallel run; see :func:`plan`.

    Used in: no chapter.

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

    Used in: chapter 8.

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
        steps_per_epoch=num_batches(check_count("n_train", n_train), batch),
        warmup_steps=warmup_steps(warmup_epochs, n_train, batch),
    )


def trust_ratio(weight_norm: torch.Tensor, update_norm: torch.Tensor) -> torch.Tensor:
    """``weight_norm / update_norm``, or 1 where either norm is 0 (a fresh zero bias, a zero gradient).

    Used in: no chapter.

    >>> trust_ratio(torch.tensor(3.0), torch.tensor(6.0)).item()
    0.5
    >>> trust_ratio(torch.tensor(0.0), torch.tensor(6.0)).item()
    1.0
    """
    ok = (weight_norm > 0) & (update_norm > 0)
    return torch.where(ok, weight_norm / update_norm.clamp_min(torch.finfo(update_norm.dtype).tiny), torch.ones_like(weight_norm))


class LARS(torch.optim.Optimizer):
    """SGD with momentum and a layer-wise rate (You, Gitman & Ginsburg, 2017, Algorithm 1).

    Used in: chapter 8.

    For each parameter tensor ``w`` with gradient ``g`` and weight decay ``β``:
    ``local = trust * ‖w‖ / (‖g‖ + β‖w‖)`` (1 where a norm is 0),
    ``v ← momentum · v + lr · local · (g + β w)``, ``w ← w − v``. So a step moves each tensor by
    about ``lr · trust`` of its own norm, whatever the scale of its gradient.

    >>> w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))  # norm 5
    >>> w.grad = torch.tensor([0.0, 100.0])                # norm 100
    >>> opt = LARS([w], lr=1.0, trust=0.01, momentum=0.0)
    >>> opt.step()
    >>> w.data                                             # moved by 0.01 * 5 along -g
    tensor([3.0000, 3.9500])
    """

    def __init__(self, params, lr: float, *, trust: float = 0.001, momentum: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        for name, v in [("lr", lr), ("trust", trust)]:
            check_positive(name, v)
        if not 0.0 <= momentum < 1.0 or weight_decay < 0:
            raise ValueError(f"momentum must be in [0, 1) and weight_decay >= 0, got {momentum!r}, {weight_decay!r}.")
        super().__init__(params, dict(lr=lr, trust=trust, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure_loss(closure)
        for group in self.param_groups:
            for w in group["params"]:
                if w.grad is None:
                    continue
                g = w.grad
                w_norm, g_norm = w.norm(), g.norm()
                local = group["trust"] * trust_ratio(w_norm, g_norm + group["weight_decay"] * w_norm)
                update = g.add(w, alpha=group["weight_decay"]).mul_(group["lr"] * local)
                state = self.state[w]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(w)
                buf = state["momentum_buffer"].mul_(group["momentum"]).add_(update)
                w.sub_(buf)
        return loss


class LAMB(torch.optim.Optimizer):
    """Adam's direction with a layer-wise trust ratio (You et al., 2020, Algorithm 2).

    Used in: chapter 8.

    For each tensor: Adam's bias-corrected ``r = m̂ / (√v̂ + eps)``, plus decoupled weight decay
    ``u = r + weight_decay · w``, then ``w ← w − lr · ‖w‖/‖u‖ · u`` (ratio 1 where a norm is 0):
    each step moves a tensor by ``lr`` times its own norm.

    >>> w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    >>> w.grad = torch.tensor([1e-3, 0.0])
    >>> LAMB([w], lr=0.1).step()
    >>> round(float((w.data - torch.tensor([3.0, 4.0])).norm()), 4)  # 0.1 * ‖w‖
    0.5
    """

    def __init__(self, params, lr: float, *, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0.0) -> None:
        check_positive("lr", lr)
        if not all(0.0 <= b < 1.0 for b in betas) or weight_decay < 0:
            raise ValueError(f"betas must be in [0, 1) and weight_decay >= 0, got {betas!r}, {weight_decay!r}.")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for w in group["params"]:
                if w.grad is None:
                    continue
                state = self.state[w]
                if not state:
                    state.update(t=0, m=torch.zeros_like(w), v=torch.zeros_like(w))
                state["t"] += 1
                t, m, v = state["t"], state["m"], state["v"]
                m.mul_(beta1).add_(w.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(w.grad, w.grad, value=1 - beta2)
                r = (m / (1 - beta1**t)) / ((v / (1 - beta2**t)).sqrt() + group["eps"])
                u = r.add(w, alpha=group["weight_decay"])
                w.sub_(u, alpha=group["lr"] * float(trust_ratio(w.norm(), u.norm())))
        return loss
