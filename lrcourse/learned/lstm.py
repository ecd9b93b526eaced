"""A learned optimizer: a coordinatewise LSTM meta-trained on random least-squares problems.

After Andrychowicz et al. (2016): a small two-layer LSTM reads each coordinate's gradient
(preprocessed to log-magnitude and sign) and writes that coordinate's update; all coordinates
share its weights but keep their own hidden state. :func:`meta_train` fits it by
backpropagating the summed loss through unrolled optimization (:class:`LeastSquares`).

>>> net = LSTMOptimizerNet(hidden=4)
>>> run_learned(net, LeastSquares.sample(2, dim=3, seed=0), steps=2).shape
torch.Size([3, 2])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..profiles import profile
from ..runtime import progress as progress_bar
from .problems import Problem

# --------------------------------------------------------------------------------------
# The learned optimizer
# --------------------------------------------------------------------------------------


@dataclass
class LeastSquares:
    """A batch of random least-squares problems ``f(θ) = ‖Wθ − y‖²`` (Andrychowicz et al.'s quadratics).

    Used in: chapter 13.

    ``W`` and ``y`` are standard normal, scaled by ``scale``. :meth:`sample` draws a batch.

    >>> p = LeastSquares.sample(4, dim=3, seed=0)
    >>> p.loss(p.x0).shape
    torch.Size([4])
    """

    w: torch.Tensor
    y: torch.Tensor
    x0: torch.Tensor

    @classmethod
    def sample(cls, n: int, dim: int = 10, seed: int | None = None, scale: float = 1.0) -> LeastSquares:
        """``n`` problems of dimension ``dim``, reproducible from ``seed``."""
        gen = torch.Generator()
        gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**31, (1,))))
        w = scale * torch.randn(n, dim, dim, generator=gen)
        y = scale * torch.randn(n, dim, generator=gen)
        return cls(w, y, torch.randn(n, dim, generator=gen))

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """``‖Wθ − y‖²`` per problem."""
        r = torch.einsum("pij,...pj->...pi", self.w, theta) - self.y
        return (r**2).sum(-1)

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        """``2 Wᵀ (Wθ − y)``."""
        r = torch.einsum("pij,...pj->...pi", self.w, theta) - self.y
        return 2 * torch.einsum("pij,...pi->...pj", self.w, r)

    def minimum(self) -> torch.Tensor:
        """The smallest value of each problem (0 when ``W`` is invertible, up to rounding)."""
        theta = torch.linalg.lstsq(self.w, self.y.unsqueeze(-1)).solution.squeeze(-1)
        return self.loss(theta)


def preprocess_gradient(g: torch.Tensor, p: float) -> torch.Tensor:
    """Andrychowicz et al.'s gradient preprocessing: ``(log|g|/p, sign g)`` or ``(−1, eᵖ g)`` for tiny ``g``.

    Used in: no chapter.

    >>> preprocess_gradient(torch.tensor([math.e, 0.0]), 10.0).tolist()
    [[0.10000000149011612, 1.0], [-1.0, 0.0]]
    """
    big = g.abs() >= math.exp(-p)
    first = torch.where(big, torch.log(g.abs().clamp_min(1e-30)) / p, torch.full_like(g, -1.0))
    second = torch.where(big, torch.sign(g), math.exp(p) * g)
    return torch.stack([first, second], -1)


class LSTMOptimizerNet(nn.Module):
    """A coordinatewise LSTM optimizer: each coordinate's gradient in, its update out.

    Used in: chapter 13.

    All coordinates share the weights and keep their own hidden state, so one small net
    optimizes a problem of any size. The update is ``out_scale · Linear(h_t)``.

    >>> net = LSTMOptimizerNet(hidden=8)
    >>> state = net.init_state(5)
    >>> update, state = net(torch.randn(5), state)
    >>> update.shape
    torch.Size([5])
    """

    def __init__(self, hidden: int = 20, layers: int = 2, preprocess: float = 10.0, out_scale: float = 0.1) -> None:
        super().__init__()
        self.hidden, self.p, self.out_scale = hidden, preprocess, out_scale
        self.cells = nn.ModuleList(nn.LSTMCell(2 if i == 0 else hidden, hidden) for i in range(layers))
        self.head = nn.Linear(hidden, 1)

    def init_state(self, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Zero hidden and cell states for ``n`` coordinates."""
        z = self.head.weight.new_zeros(n, self.hidden)
        return [(z, z) for _ in self.cells]

    def forward(
        self, grad: torch.Tensor, state: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """The update for a flat tensor of gradients, and the new state."""
        x = preprocess_gradient(grad.reshape(-1), self.p)
        new = []
        for cell, (h, c) in zip(self.cells, state):
            h, c = cell(x, (h, c))
            new.append((h, c))
            x = h
        return self.out_scale * self.head(x).squeeze(-1).view_as(grad), new


def meta_train(
    net: LSTMOptimizerNet,
    meta_steps: int = 200,
    horizon: int = 100,
    unroll: int = 20,
    batch: int = 32,
    dim: int = 10,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool | None = None,
) -> list[float]:
    """Train ``net`` to optimize random :class:`LeastSquares` problems; return the meta-loss per meta-step.

    Used in: chapter 13.

    Each episode samples ``batch`` problems and runs ``horizon`` steps of
    ``θ ← θ + net(∇f(θ))``, cut into pieces of ``unroll`` steps. After each piece the
    meta-loss (the mean over the piece of ``log(f(θ_t) / f(θ_0))``, so that every decade of
    progress counts alike) is backpropagated into the
    LSTM's weights (the gradient fed to the LSTM is treated as a constant, as in the paper)
    and Adam takes one step; ``θ`` and the LSTM state are then detached and carried on.

    >>> net = LSTMOptimizerNet(hidden=4)
    >>> len(meta_train(net, meta_steps=2, horizon=4, unroll=2, batch=2, dim=3))
    2
    """
    if horizon % unroll:
        raise ValueError(f"horizon ({horizon}) must be a multiple of unroll ({unroll}).")
    meta_opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses: list[float] = []
    bar = progress_bar(meta_steps, progress if progress is not None else profile() != "ci", desc="meta-training")
    episode = 0
    while len(losses) < meta_steps:
        prob = LeastSquares.sample(batch, dim, seed=seed * 100_003 + episode)
        episode += 1
        theta, state = prob.x0.clone(), net.init_state(batch * dim)
        start = prob.loss(theta).detach()
        for _ in range(horizon // unroll):
            total = 0.0
            for _ in range(unroll):
                update, state = net(prob.grad(theta).detach(), state)
                theta = theta + update
                total = total + torch.log(prob.loss(theta) / start + 1e-12).mean()
            meta_loss = total / unroll
            meta_opt.zero_grad()
            meta_loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            meta_opt.step()
            theta = theta.detach()
            state = [(h.detach(), c.detach()) for h, c in state]
            losses.append(meta_loss.item())
            bar.update(1)
            if len(losses) >= meta_steps:
                break
    bar.close()
    return losses


@torch.no_grad()
def run_learned(
    net: LSTMOptimizerNet, problem: LeastSquares | Problem, steps: int, scale: float = 1.0
) -> torch.Tensor:
    """Losses of the learned optimizer on each problem: shape ``(steps + 1, n)``.

    Used in: chapter 13.

    ``scale`` multiplies every update the net makes (1 means "as trained"), the learned
    optimizer's counterpart of a learning rate, so that it can be tuned on a new problem
    family as a baseline's rate is.

    >>> net = LSTMOptimizerNet(hidden=4)
    >>> run_learned(net, LeastSquares.sample(3, dim=2, seed=0), steps=4).shape
    torch.Size([5, 3])
    >>> bool((run_learned(net, LeastSquares.sample(3, dim=2, seed=0), steps=4, scale=0.0) ==
    ...       LeastSquares.sample(3, dim=2, seed=0).loss(LeastSquares.sample(3, dim=2, seed=0).x0)).all())
    True
    """
    theta = problem.x0.clone()
    state = net.init_state(theta.numel())
    out = [problem.loss(theta)]
    for _ in range(steps):
        update, state = net(problem.grad(theta), state)
        theta = theta + scale * update
        out.append(problem.loss(theta))
    return torch.stack(out)


def run_torch(
    make: Callable[[list[torch.Tensor], float], torch.optim.Optimizer],
    problem: LeastSquares | Problem,
    lrs: Sequence[float],
    steps: int,
) -> torch.Tensor:
    """Losses of a PyTorch optimizer at each learning rate: shape ``(steps + 1, len(lrs), n)``.

    Used in: chapter 13.

    ``make(params, lr)`` builds the optimizer. The gradients are the problem's own
    (closed form), so a whole batch of problems is one parameter tensor.

    >>> p = LeastSquares.sample(2, dim=3, seed=0)
    >>> run_torch(lambda ps, lr: torch.optim.SGD(ps, lr=lr), p, [1e-3, 1e-2], steps=3).shape
    torch.Size([4, 2, 2])
    """
    x0 = problem.x0
    runs = []
    for lr in lrs:
        x = x0.clone().requires_grad_(True)
        opt = make([x], lr)
        out = [problem.loss(x.detach())]
        for _ in range(steps):
            x.grad = problem.grad(x.detach())
            opt.step()
            out.append(problem.loss(x.detach()))
        runs.append(torch.stack(out))
    res = torch.stack(runs, 1)
    return torch.where(torch.isfinite(res), res, torch.full_like(res, math.inf))


def best_lr(losses: torch.Tensor, lrs: Sequence[float], at: int = -1) -> tuple[float, torch.Tensor]:
    """The learning rate whose mean log-loss at step ``at`` is lowest, and that run's losses ``(steps + 1, n)``.

    Used in: chapter 13.

    ``losses`` is what :func:`run_torch` returns.

    >>> l = torch.tensor([[[1.0], [1.0]], [[0.5], [0.1]]])
    >>> best_lr(l, [0.1, 1.0])[0]
    1.0
    """
    final = torch.log(losses[at].clamp_min(1e-30)).mean(-1)
    final = torch.where(torch.isfinite(final), final, torch.full_like(final, math.inf))
    i = int(final.argmin())
    return float(lrs[i]), losses[:, i]


class LSTMOptimizer(torch.optim.Optimizer):
    """A trained :class:`LSTMOptimizerNet` used as a ``torch.optim.Optimizer`` on any model.

    Used in: chapter 13.

    Every parameter tensor keeps the LSTM state of its coordinates; ``θ ← θ + net(g)``.
    ``lr`` multiplies the net's update (1 means "as trained").

    >>> net = LSTMOptimizerNet(hidden=4)
    >>> w = torch.nn.Parameter(torch.ones(3))
    >>> opt = LSTMOptimizer([w], net)
    >>> w.grad = torch.ones(3); opt.step()
    >>> w.shape
    torch.Size([3])
    """

    def __init__(self, params: Iterable[torch.Tensor], net: LSTMOptimizerNet, lr: float = 1.0) -> None:
        self.net = net
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One learned update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "lstm" not in state:
                    state["lstm"] = self.net.init_state(p.numel())
                update, state["lstm"] = self.net(p.grad.reshape(-1).float(), state["lstm"])
                p.add_(group["lr"] * update.view_as(p).to(p.dtype))
        return loss
