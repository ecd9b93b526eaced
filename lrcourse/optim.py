"""Optimizers PyTorch lacks: PowerSign and AddSign (Bello et al., 2017), SGDW and Yogi.

All four are ``torch.optim.Optimizer`` subclasses, so they work with ``lrcourse.fit``,
``torch.optim.lr_scheduler`` and a momentum schedule. Their update rules are in the class
docstrings; ``g`` is the gradient, ``t`` the number of steps already taken (0 at the first
step), ``T`` ``total_steps``.

The *sign decay* ``f(t)`` of PowerSign and AddSign scales how much the agreement of the
gradient's sign with its running average matters, from full strength (``f = 1``) to none
(``f = 0``, plain SGD):

=============  =====================================================
``"none"``     ``f(t) = 1``
``"linear"``   ``f(t) = 1 − min(t, T) / T``
``"cyclical"`` ``f(t) = ½ (1 + cos(2π · periods · min(t, T) / T))``
``"restart"``  ``f(t) = ½ (1 + cos(π · ((periods · t) mod T) / T))``
=============  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from .runtime import closure_loss

__all__ = ["DECAYS", "AddSign", "PowerSign", "SGDW", "Yogi", "sign_decay"]

DECAYS = ("none", "linear", "cyclical", "restart")


def sign_decay(kind: str, step: int, total_steps: int | None = None, periods: float = 0.5) -> float:
    """The sign-decay factor ``f(t)`` at step ``t`` (see the module docstring for the formulas).

    Used in: no chapter.

    ``periods`` is the number of cosine periods over ``total_steps``: 0.5 for ``"cyclical"``
    takes ``f`` from 1 down to 0 once; for ``"restart"`` use a whole number (1, 2, ...), each
    period decaying from 1 to 0 and then restarting.

    >>> [round(sign_decay("linear", t, 4), 2) for t in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    >>> [round(sign_decay("restart", t, 4, periods=2), 2) for t in range(4)]
    [1.0, 0.5, 1.0, 0.5]
    """
    if kind not in DECAYS:
        raise ValueError(f"decay must be one of {', '.join(DECAYS)}, got {kind!r}.")
    if kind == "none":
        return 1.0
    if total_steps is None or total_steps < 1:
        raise ValueError(f"decay={kind!r} needs total_steps (a positive number of steps), got {total_steps}.")
    if kind == "linear":
        return 1.0 - min(step, total_steps) / total_steps
    if kind == "cyclical":
        return 0.5 * (1.0 + math.cos(2.0 * math.pi * periods * min(step, total_steps) / total_steps))
    return 0.5 * (1.0 + math.cos(math.pi * ((periods * step) % total_steps) / total_steps))


def _check(lr: float, beta: float | None = None, total_steps: int | None = None, decay: str = "none") -> None:
    if not isinstance(lr, (int, float)) or not lr >= 0:
        raise ValueError(f"the learning rate must be a number >= 0, got lr={lr}.")
    if beta is not None and not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta}.")
    sign_decay(decay, 0, total_steps)  # validates decay and total_steps


class _SignOptimizer(torch.optim.Optimizer):
    """Shared machinery: the moving average of gradients and the sign agreement."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        _check(defaults["lr"], defaults["beta"], defaults["total_steps"], defaults["decay"])
        super().__init__(params, defaults)

    def _scale(self, agreement: torch.Tensor, group: dict[str, Any], f: float) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                m = state["m"]
                m.mul_(group["beta"]).add_(g, alpha=1 - group["beta"])
                f = sign_decay(group["decay"], state["step"], group["total_steps"], group["periods"])
                agreement = torch.sign(g) * torch.sign(m)
                p.add_(self._scale(agreement, group, f) * g, alpha=-group["lr"])
                state["step"] += 1
        return loss


class PowerSign(_SignOptimizer):
    r"""PowerSign: steps longer where the gradient agrees in sign with its running average.

    Used in: chapters 7, 13.

    ``m ← β·m + (1 − β)·g``, then ``θ ← θ − lr · α^(f(t) · sign(g) · sign(m)) · g``
    (Bello et al., 2017, found by a reinforcement-learning search over update rules).
    With the default ``α = e`` a coordinate whose gradient keeps its sign moves ``e`` times
    the SGD step and one that flips moves ``1/e`` times it. ``f(t)`` is the sign decay
    (``decay``: none, linear, cyclical, restart; see :func:`sign_decay`).

    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = PowerSign([w], lr=0.1)
    >>> w.grad = torch.tensor([2.0]); opt.step()
    >>> round(w.item(), 4)  # 1 − 0.1 · e · 2
    0.4563
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        *,
        base: float = math.e,
        beta: float = 0.9,
        decay: str = "none",
        total_steps: int | None = None,
        periods: float = 0.5,
    ) -> None:
        if not base > 0:
            raise ValueError(f"base must be positive (e by default), got {base}.")
        defaults = dict(lr=lr, base=base, beta=beta, decay=decay, total_steps=total_steps, periods=periods)
        super().__init__(params, defaults)

    def _scale(self, agreement: torch.Tensor, group: dict[str, Any], f: float) -> torch.Tensor:
        return torch.exp(math.log(group["base"]) * f * agreement)


class AddSign(_SignOptimizer):
    r"""AddSign: adds to or subtracts from the step by the sign agreement.

    Used in: chapter 7.

    ``m ← β·m + (1 − β)·g``, then ``θ ← θ − lr · (α + f(t) · sign(g) · sign(m)) · g``
    (Bello et al., 2017). With the default ``α = 1`` an agreeing coordinate moves twice
    the SGD step and a disagreeing one stops. ``f(t)`` is the sign decay (see
    :func:`sign_decay`).

    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = AddSign([w], lr=0.1)
    >>> w.grad = torch.tensor([2.0]); opt.step()
    >>> round(w.item(), 4)  # 1 − 0.1 · (1 + 1) · 2
    0.6
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        *,
        alpha: float = 1.0,
        beta: float = 0.9,
        decay: str = "none",
        total_steps: int | None = None,
        periods: float = 0.5,
    ) -> None:
        defaults = dict(lr=lr, alpha=alpha, beta=beta, decay=decay, total_steps=total_steps, periods=periods)
        super().__init__(params, defaults)

    def _scale(self, agreement: torch.Tensor, group: dict[str, Any], f: float) -> torch.Tensor:
        return group["alpha"] + f * agreement


class SGDW(torch.optim.Optimizer):
    r"""SGD with momentum and decoupled weight decay (Loshchilov & Hutter, 2019).

    Used in: chapter 7.

    ``b ← μ·b + g`` (``b = g`` at the first step), ``d = g + μ·b`` with ``nesterov`` else ``b``,
    then ``θ ← θ − lr·λ·θ − lr·d``. The decay ``λ·θ`` never enters the momentum buffer
    (``torch.optim.SGD(weight_decay=λ)`` adds it to ``g``, so momentum amplifies it); with
    ``momentum=0`` the two are the same update.

    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = SGDW([w], lr=0.1, momentum=0.9, weight_decay=0.5)
    >>> w.grad = torch.tensor([2.0]); opt.step()
    >>> round(w.item(), 4)  # 1 − 0.1·0.5·1 − 0.1·2
    0.75
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        *,
        nesterov: bool = False,
    ) -> None:
        _check(lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}.")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}.")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov))

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                d = g
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.clone()
                    else:
                        state["momentum_buffer"].mul_(mu).add_(g)
                    b = state["momentum_buffer"]
                    d = g.add(b, alpha=mu) if group["nesterov"] else b
                if wd != 0:
                    p.mul_(1 - lr * wd)
                p.add_(d, alpha=-lr)
        return loss


class Yogi(torch.optim.Optimizer):
    r"""Yogi (Zaheer et al., 2018): Adam whose second-moment estimate changes additively.

    Used in: chapter 7.

    ``m ← β1·m + (1 − β1)·g`` as in Adam, but
    ``v ← v − (1 − β2)·sign(v − g²)·g²``: ``v`` moves *toward* ``g²`` by at most
    ``(1 − β2)·g²`` per step, so a memory of large gradients fades slowly when the gradients
    become small (Adam's ``v`` shrinks by the factor ``β2`` every step, whatever ``g``). Then
    ``θ ← θ − lr·m̂/(√v̂ + ε)`` with Adam's bias corrections ``m̂ = m/(1 − β1^t)``,
    ``v̂ = v/(1 − β2^t)`` (as in the TensorFlow and d2l versions); ``v`` starts at
    ``initial_accumulator``. The defaults are the paper's (``lr = 1e-2``, ``ε = 1e-3``).

    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = Yogi([w], lr=0.1, initial_accumulator=0.0)
    >>> w.grad = torch.tensor([2.0]); opt.step()
    >>> round(w.item(), 4)  # first step: lr·g/(|g| + ε) = 0.1·2/2.001
    0.9
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-3,
        initial_accumulator: float = 1e-6,
    ) -> None:
        _check(lr)
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas}.")
        if not eps >= 0 or not initial_accumulator >= 0:
            raise ValueError(f"eps and initial_accumulator must be >= 0, got {eps} and {initial_accumulator}.")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, initial_accumulator=initial_accumulator))

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.full_like(p, group["initial_accumulator"])
                state["step"] += 1
                t, m, v = state["step"], state["m"], state["v"]
                g2 = g * g
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.sub_((1 - b2) * torch.sign(v - g2) * g2)
                m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
                p.sub_(lr * m_hat / (v_hat.sqrt() + eps))
        return loss
