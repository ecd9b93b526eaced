"""Small closed-form problems for the early chapters.

A quadratic ``f(x) = ½ Σ h_i x_i²`` is the whole story of the learning rate in miniature:
gradient descent multiplies coordinate ``i`` by ``1 − lr·h_i`` every step, so it converges
iff ``lr < 2 / max(h)``, and the slowest coordinate (``min(h)``) sets the pace.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Quadratic:
    """``f(x) = ½ Σ h_i x_i²``, axis-aligned, with curvatures ``h`` (the Hessian's eigenvalues).

    Used in: chapters 1, 7.

    >>> q = Quadratic(torch.tensor([1.0, 10.0]))
    >>> q.loss(torch.tensor([1.0, 1.0])).item(), q.condition
    (5.5, 10.0)
    """

    h: torch.Tensor

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """The value at ``x`` (``x`` may carry leading batch dimensions)."""
        return 0.5 * (self.h * x**2).sum(-1)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """The gradient ``h * x``."""
        return self.h * x

    @property
    def condition(self) -> float:
        """The condition number ``max(h) / min(h)``."""
        return float(self.h.max() / self.h.min())

    @property
    def max_stable_lr(self) -> float:
        """The largest learning rate for which gradient descent converges: ``2 / max(h)``."""
        return float(2.0 / self.h.max())

    @property
    def best_lr(self) -> float:
        """The fixed learning rate with the fastest worst-case rate: ``2 / (max(h) + min(h))``."""
        return float(2.0 / (self.h.max() + self.h.min()))


def quadratic(eigenvalues: Sequence[float]) -> Quadratic:
    """A :class:`Quadratic` with the given curvatures.

    Used in: chapters 1, 2, 3.

    >>> quadratic([1.0, 4.0]).max_stable_lr
    0.5
    """
    h = torch.as_tensor(eigenvalues, dtype=torch.float64)
    if h.dim() != 1 or len(h) == 0 or not bool((h > 0).all()):
        raise ValueError(f"eigenvalues must be a non-empty list of positive numbers, got {list(eigenvalues)}.")
    return Quadratic(h)


def quadratic_2d(condition: float, largest: float = 1.0) -> Quadratic:
    """A 2-D quadratic with curvatures ``(largest / condition, largest)``.

    Used in: chapters 1, 7, 13.

    >>> quadratic_2d(10.0).condition
    10.0
    """
    if condition < 1:
        raise ValueError(f"condition must be at least 1, got {condition}.")
    return quadratic([largest / condition, largest])


def gradient_descent(
    grad: Callable[[torch.Tensor], torch.Tensor],
    x0: Sequence[float] | torch.Tensor,
    lr: float,
    steps: int,
) -> torch.Tensor:
    """The iterates ``x_{t+1} = x_t − lr · grad(x_t)`` as a ``(steps + 1, d)`` tensor.

    Used in: chapters 1, 2.

    >>> gradient_descent(lambda x: x, [1.0], lr=0.5, steps=2).squeeze(1).tolist()
    [1.0, 0.5, 0.25]
    """
    x = torch.as_tensor(x0, dtype=torch.float64).clone()
    path = [x.clone()]
    for _ in range(steps):
        x = x - lr * grad(x)
        path.append(x.clone())
    return torch.stack(path)


# ----------------------------------------------------------------------------- the one-sample network


@dataclass(frozen=True)
class OneSampleNet:
    """The smallest deep network: ``ŷ = w2·w1·x`` fitted to one sample ``(x, y)``.

    Used in: chapter 2.

    ``L(w1, w2) = (y − w2·w1·x)² + (λ/2)·(w1² + w2²)`` with ``λ = weight_decay``. Its critical
    points: the origin, always (a saddle when ``λ < 2xy``: the loss falls along ``w1 = w2``
    if ``xy > 0``); for ``λ = 0`` the whole hyperbola ``w1·w2 = y/x`` of global minima (each
    with a zero Hessian eigenvalue along the valley: degenerate); for ``0 < λ < 2xy`` two
    isolated minima at ``w1 = w2 = ±√((y − λ/(2x))/x)``. Weights are ``(..., 2)`` tensors.

    >>> net = OneSampleNet()
    >>> net.loss(torch.tensor([1.0, 1.0])).item(), net.grad(torch.tensor([0.0, 0.0])).tolist()
    (0.0, [0.0, 0.0])
    """

    x: float = 1.0
    y: float = 1.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.x == 0:
            raise ValueError("x must be non-zero: with x = 0 the network ignores its weights.")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}.")

    def loss(self, w: torch.Tensor) -> torch.Tensor:
        """``(y − w2·w1·x)² + (λ/2)·|w|²`` for weights ``w = (w1, w2)`` (leading batch dims allowed)."""
        w = torch.as_tensor(w)
        r = self.y - w[..., 1] * w[..., 0] * self.x
        return r**2 + 0.5 * self.weight_decay * (w**2).sum(-1)

    def grad(self, w: torch.Tensor) -> torch.Tensor:
        """``(−2r·w2·x + λw1, −2r·w1·x + λw2)`` with the residual ``r = y − w2·w1·x``."""
        w = torch.as_tensor(w)
        r = self.y - w[..., 1] * w[..., 0] * self.x
        g1 = -2 * r * w[..., 1] * self.x + self.weight_decay * w[..., 0]
        g2 = -2 * r * w[..., 0] * self.x + self.weight_decay * w[..., 1]
        return torch.stack([g1, g2], -1)

    def hessian(self, w: torch.Tensor) -> torch.Tensor:
        """The 2×2 Hessian at ``w`` (closed form)."""
        w1, w2 = (float(v) for v in torch.as_tensor(w, dtype=torch.float64))
        x, lam = self.x, self.weight_decay
        r = self.y - w1 * w2 * x
        off = 2 * x * x * w1 * w2 - 2 * r * x
        return torch.tensor([[2 * x * x * w2 * w2 + lam, off], [off, 2 * x * x * w1 * w1 + lam]], dtype=torch.float64)

    def critical_points(self, per_branch: int = 0) -> list[torch.Tensor]:
        """The critical points: the isolated ones, plus ``per_branch`` points on each valley branch.

        Without weight decay every point of the hyperbola ``w1·w2 = y/x`` is critical (a curve,
        not a list), so by default only the origin is returned; ``per_branch = n`` adds ``n``
        points on each of the hyperbola's two branches, spread over a factor of 4 in ``w1``
        around ``√|y/x|``: the origin and ``2n`` minima (``n = 3`` gives the seven points of
        the usual picture). With weight decay the valley is gone and ``per_branch`` must be 0.

        >>> [p.tolist() for p in OneSampleNet(weight_decay=0.5).critical_points()]
        [[0.0, 0.0], [0.8660254037844386, 0.8660254037844386], [-0.8660254037844386, -0.8660254037844386]]
        >>> [p.tolist() for p in OneSampleNet().critical_points(per_branch=1)]
        [[0.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]
        """
        if not isinstance(per_branch, int) or per_branch < 0:
            raise ValueError(f"per_branch must be a non-negative int, got {per_branch!r}.")
        points = [torch.zeros(2, dtype=torch.float64)]
        lam, x, y = self.weight_decay, self.x, self.y
        if per_branch and (lam > 0 or y == 0):
            why = "weight decay leaves isolated points only" if lam > 0 else "with y = 0 the minima are the two axes"
            raise ValueError(
                f"per_branch needs the hyperbola valley of weight_decay = 0 and y != 0 ({why}); use per_branch=0."
            )
        if per_branch:
            c = y / x
            spread = torch.linspace(-1.0, 1.0, per_branch, dtype=torch.float64)
            if per_branch == 1:
                spread = torch.zeros(1, dtype=torch.float64)
            w1 = math.sqrt(abs(c)) * 2.0**spread
            branch = torch.stack([w1, c / w1], -1)
            points += list(branch) + list(-branch)
        if lam > 0:
            # w1 = s·w2 with s = ±1 and 2x(y − s·x·w²)·s = λ  ->  w² = (y − s·λ/(2x)) / (s·x)
            for s in (1.0, -1.0):
                w_sq = (y - s * lam / (2 * x)) / (s * x)
                if w_sq > 0:
                    w = math.sqrt(w_sq)
                    points += [torch.tensor([s * w, w], dtype=torch.float64), torch.tensor([-s * w, -w], dtype=torch.float64)]
        return points


# ----------------------------------------------------------------------------- Rosenbrock


@dataclass(frozen=True)
class Rosenbrock:
    """Rosenbrock's banana valley ``f(u, v) = (a − u)² + b·(v − u²)²``, minimum 0 at ``(a, a²)``.

    Used in: chapter 2.

    The valley floor is curved and nearly flat while its walls are steep (condition number
    in the thousands near the minimum): the classic test of momentum and adaptive methods.

    >>> r = Rosenbrock()
    >>> r.loss(torch.tensor([1.0, 1.0])).item(), r.grad(torch.tensor([1.0, 1.0])).abs().tolist()
    (0.0, [0.0, 0.0])
    """

    a: float = 1.0
    b: float = 100.0

    @property
    def minimum(self) -> torch.Tensor:
        """Where the minimum is: ``(a, a²)``."""
        return torch.tensor([self.a, self.a**2], dtype=torch.float64)

    def loss(self, w: torch.Tensor) -> torch.Tensor:
        """The value at ``w = (u, v)`` (leading batch dims allowed)."""
        w = torch.as_tensor(w)
        return (self.a - w[..., 0]) ** 2 + self.b * (w[..., 1] - w[..., 0] ** 2) ** 2

    def grad(self, w: torch.Tensor) -> torch.Tensor:
        """``(−2(a − u) − 4b·u·(v − u²), 2b·(v − u²))``."""
        w = torch.as_tensor(w)
        u, v = w[..., 0], w[..., 1]
        return torch.stack([-2 * (self.a - u) - 4 * self.b * u * (v - u**2), 2 * self.b * (v - u**2)], -1)


def optimize(
    loss: Callable[[torch.Tensor], torch.Tensor],
    x0: Sequence[float] | torch.Tensor,
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    steps: int,
) -> torch.Tensor:
    """Run a ``torch.optim`` optimizer on ``loss(x)``; the iterates as a ``(steps + 1, d)`` tensor.

    Used in: chapters 2, 7.

    >>> path = optimize(lambda x: (x**2).sum(), [1.0], lambda p: torch.optim.SGD(p, lr=0.25), 2)
    >>> path.squeeze(1).tolist()
    [1.0, 0.5, 0.25]
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}.")
    x = torch.nn.Parameter(torch.as_tensor(x0, dtype=torch.float64).clone())
    opt = make_optimizer([x])
    path = [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        loss(x).backward()
        opt.step()
        path.append(x.detach().clone())
    return torch.stack(path)


# ----------------------------------------------------------------------------- Reddi et al.'s problem


@dataclass(frozen=True)
class ReddiOnline:
    """Reddi et al.'s stochastic problem on which Adam fails: ``f_t(x) = C·x`` w.p. ``p``, else ``−x``, ``x ∈ [−1, 1]``.

    Used in: chapter 7.

    The expected loss ``(p·C − (1 − p))·x`` increases with ``x`` when ``p > 1/(C + 1)``, so
    the best point is ``x = −1``. The rare large gradient ``C`` is forgotten by Adam's
    exponential average of squared gradients (``β2 < 1``) between occurrences, so the many
    small ``−1`` gradients win, and Adam drifts to ``x = +1``; AMSGrad's running maximum
    remembers it. (Reddi et al. used ``C = 101, p = 0.01``, whose expected gradient is so
    small that it takes millions of steps to see; the defaults show the same in thousands.)

    >>> prob = ReddiOnline()
    >>> prob.expected_gradient > 0, prob.optimum
    (True, -1.0)
    """

    C: float = 30.0
    p: float = 0.05

    def __post_init__(self) -> None:
        if not 0 < self.p < 1 or self.C <= 0:
            raise ValueError(f"need C > 0 and 0 < p < 1, got C={self.C}, p={self.p}.")

    @property
    def expected_gradient(self) -> float:
        """``p·C − (1 − p)``: positive means the optimum is at ``x = −1``."""
        return self.p * self.C - (1 - self.p)

    @property
    def optimum(self) -> float:
        """The minimizer of the expected loss on ``[−1, 1]``."""
        return -1.0 if self.expected_gradient > 0 else 1.0

    def gradients(self, shape: Sequence[int] | int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A batch of independent sampled gradients: ``C`` w.p. ``p``, else ``−1``.

        >>> ReddiOnline(C=3.0, p=0.5).gradients(1000, torch.Generator().manual_seed(0)).unique().tolist()
        [-1.0, 3.0]
        """
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        hit = torch.rand(shape, generator=generator, dtype=torch.float64) < self.p
        return torch.where(hit, torch.tensor(self.C, dtype=torch.float64), torch.tensor(-1.0, dtype=torch.float64))

    def run(
        self,
        make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
        steps: int,
        runs: int = 5,
        seed: int = 0,
        x0: float = 0.0,
        record_every: int = 1,
    ) -> torch.Tensor:
        """Run ``runs`` independent copies (one coordinate each) with projection onto ``[−1, 1]``.

        Per-coordinate optimizers (SGD, Adam, AMSGrad...) treat each coordinate of one vector
        as its own run, so all runs go at once. Returns the iterates, ``(steps // record_every + 1, runs)``.

        >>> path = ReddiOnline().run(lambda p: torch.optim.SGD(p, lr=0.01), steps=100, runs=3)
        >>> path.shape
        torch.Size([101, 3])
        """
        if steps < 1 or runs < 1:
            raise ValueError(f"steps and runs must be >= 1, got steps={steps}, runs={runs}.")
        gen = torch.Generator().manual_seed(seed)
        x = torch.nn.Parameter(torch.full((runs,), float(x0), dtype=torch.float64))
        opt = make_optimizer([x])
        path = [x.detach().clone()]
        for t in range(1, steps + 1):
            x.grad = self.gradients(runs, gen)
            opt.step()
            with torch.no_grad():
                x.clamp_(-1.0, 1.0)
            if t % record_every == 0:
                path.append(x.detach().clone())
        return torch.stack(path)


# ----------------------------------------------------------------------------- Wilson et al.'s example


def wilson_separable(
    n_train: int = 40, n_test: int = 200, p: float = 0.75, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Wilson et al.'s linearly separable data on which adaptive methods generalize badly.

    Used in: chapter 7.

    Labels are ``+1`` with probability ``p`` (``−1`` otherwise). Sample ``i`` has feature 0
    equal to its label, features 1 and 2 equal to 1, and private features of its own (one if
    its label is ``+1``, five if it is ``−1``) that no other sample shares. Gradient descent
    from zero finds the minimum-norm interpolant, which leans on feature 0 and classifies
    new samples correctly; Adagrad/Adam lean on the shared features 1 and 2 and call new
    samples ``+1``. Returns ``x_train, y_train, x_test, y_test`` (float64, labels ``±1``).

    >>> xtr, ytr, xte, yte = wilson_separable(4, 2)
    >>> xtr.shape, set(ytr.tolist()) <= {-1.0, 1.0}
    (torch.Size([4, 33]), True)
    """
    if n_train < 1 or n_test < 1 or not 0 < p < 1:
        raise ValueError(f"need n_train, n_test >= 1 and 0 < p < 1, got {n_train}, {n_test}, {p}.")
    gen = torch.Generator().manual_seed(seed)
    n = n_train + n_test
    y = torch.where(torch.rand(n, generator=gen) < p, 1.0, -1.0).to(torch.float64)
    x = torch.zeros(n, 3 + 5 * n, dtype=torch.float64)
    x[:, 0] = y
    x[:, 1:3] = 1.0
    for i in range(n):
        start = 3 + 5 * i
        x[i, start : start + (1 if y[i] > 0 else 5)] = 1.0
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]
