"""Sharp and flat minima: how sharp a minimum is, why that alone cannot decide generalization,
and how the learning rate sets the sharpness that gradient descent ends at.

- **Sharpness** as the top Hessian eigenvalue ``λ_max`` (from :func:`lrcourse.landscape.top_hessian_eigenvalues`)
  and as Keskar et al.'s **ε-sharpness**: the largest relative rise of the loss inside the box
  ``|δ_i| ≤ ε (|θ_i| + 1)`` around the weights,
  ``100 · (max_δ L(θ + δ) − L(θ)) / (1 + L(θ))`` (:func:`epsilon_sharpness`).
- **Dinh et al.'s rescaling**: ReLU is positively homogeneous, ``relu(α z) = α relu(z)`` for
  ``α > 0``, so multiplying one layer by ``α`` and the next by ``1/α`` leaves the function
  unchanged while the Hessian, and hence every sharpness number, changes (:func:`rescale_relu`).
- **Random labels** (Zhang et al.): :func:`random_labels` replaces the training labels by noise.
- **The edge of stability** (Cohen et al.): full-batch gradient descent at learning rate ``η``
  is stable on a quadratic only while ``λ_max < 2/η``; on a network ``λ_max`` rises during
  training until it reaches ``2/η`` and then hovers there (:func:`full_batch_gd`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .data import Data
from .landscape import as_function, top_hessian_eigenvalues
from .runtime import LossFn

__all__ = [
    "GDRun",
    "epsilon_sharpness",
    "full_batch_gd",
    "random_labels",
    "rescale_relu",
    "sharpness",
    "square_loss",
]


def square_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The square loss on one-hot targets, ``½ · mean_i ‖out_i − onehot(y_i)‖²`` (Cohen et al.'s choice).

    Used in: no chapter.

    Unlike ``lrcourse.train``'s ``"mse"`` it acts on the raw outputs, with no softmax.

    >>> square_loss(torch.tensor([[1.0, 0.0], [0.0, 3.0]]), torch.tensor([0, 1])).item()
    1.0
    """
    target = F.one_hot(y, out.shape[-1]).to(out.dtype)
    return 0.5 * ((out - target) ** 2).sum(-1).mean()


def sharpness(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, *, iters: int = 50, tol: float = 1e-4) -> float:
    """The top eigenvalue ``λ_max`` of the Hessian of the loss at the model's weights.

    Used in: chapter 14.

    A thin wrapper of :func:`lrcourse.landscape.top_hessian_eigenvalues` with ``k=1``.

    >>> m = nn.Linear(2, 1, bias=False)
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # H = xᵀx for this loss: diag(1, 9)
    >>> round(sharpness(m, lambda o, t: ((o - t) ** 2).sum() / 2, x, torch.zeros(2, 1)), 4)
    9.0
    """
    return float(top_hessian_eigenvalues(model, loss_fn, x, y, k=1, iters=iters, tol=tol)[0])


def epsilon_sharpness(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float = 1e-3,
    *,
    steps: int = 20,
    seed: int = 0,
) -> float:
    """Keskar et al.'s ε-sharpness: ``100 · (max_{δ∈C} L(θ+δ) − L(θ)) / (1 + L(θ))``.

    Used in: chapter 14.

    ``C`` is the box ``|δ_i| ≤ ε (|θ_i| + 1)``. The maximum is found approximately by
    ``steps`` steps of projected sign-gradient ascent inside the box, started from a small
    random point (``seed``) because the gradient vanishes at a minimum (Keskar et al. used
    L-BFGS-B), so the value is a lower bound of the true maximum. The model is not changed.

    >>> m = nn.Linear(1, 1, bias=False)
    >>> with torch.no_grad(): _ = m.weight.fill_(0.0)
    >>> mse = lambda o, t: ((o - t) ** 2).mean()  # L(w) = w², the box is |δ| <= 0.1
    >>> round(epsilon_sharpness(m, mse, torch.ones(1, 1), torch.zeros(1, 1), eps=0.1), 4)  # 100 · 0.01
    1.0
    """
    if not eps > 0:
        raise ValueError(f"eps must be a positive box size, got {eps}; Keskar et al. use 1e-3 or 5e-4.")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    fn, theta = as_function(model, loss_fn, x, y)
    bound = eps * (theta.abs() + 1)
    with torch.no_grad():
        base = fn(theta).item()
    grad_fn = torch.func.grad_and_value(fn)
    g0 = torch.Generator().manual_seed(seed)
    delta = 0.1 * bound * (2 * torch.rand(theta.shape, generator=g0, dtype=theta.dtype).to(theta.device) - 1)
    worst = base
    step = 2.0 * bound / steps
    for _ in range(steps):
        g, value = grad_fn(theta + delta)
        worst = max(worst, value.item())
        delta = torch.maximum(torch.minimum(delta + step * g.sign(), bound), -bound)
    with torch.no_grad():
        worst = max(worst, fn(theta + delta).item())
    return 100.0 * (worst - base) / (1.0 + base)


_HOMOGENEOUS = (nn.ReLU, nn.LeakyReLU, nn.Identity, nn.Dropout)


def _leaves(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not list(m.children())]


def rescale_relu(model: nn.Module, alpha: float, layer: int = 0) -> nn.Module:
    """A copy of ``model`` with linear layer ``layer`` scaled by ``alpha`` and the next one by ``1/alpha``.

    Used in: chapter 14.

    Layer ``layer``'s weight and bias are multiplied by ``alpha`` and the following
    ``nn.Linear``'s weight by ``1/alpha``. Between the two there may only be positively
    homogeneous modules (ReLU, LeakyReLU, Identity, Dropout), so the copy computes the same
    function as the original (Dinh et al. 2017), yet its Hessian is different: the block of
    layer ``layer`` shrinks by ``alpha²`` and the next layer's block grows by ``alpha²``.

    >>> _ = torch.manual_seed(0)
    >>> m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> r = rescale_relu(m, 10.0)
    >>> x = torch.randn(5, 3)
    >>> torch.allclose(m(x), r(x), atol=1e-5), round((r[0].weight / m[0].weight).mean().item(), 4)
    (True, 10.0)
    """
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive finite number (ReLU is homogeneous only for alpha > 0), got {alpha}.")
    leaves = _leaves(model)
    linear_at = [i for i, m in enumerate(leaves) if isinstance(m, nn.Linear)]
    if not 0 <= layer < len(linear_at) - 1:
        raise ValueError(
            f"layer must index a linear layer that has another linear layer after it: "
            f"0 <= layer < {len(linear_at) - 1} for this model, got {layer}."
        )
    start, stop = linear_at[layer], linear_at[layer + 1]
    between = leaves[start + 1 : stop]
    bad = [type(m).__name__ for m in between if not isinstance(m, _HOMOGENEOUS)]
    if bad:
        raise ValueError(
            f"between linear layers {layer} and {layer + 1} there is {', '.join(bad)}, which is not "
            f"positively homogeneous, so rescaling would change the function; use a ReLU network without normalization."
        )
    out = copy.deepcopy(model)
    new_leaves = _leaves(out)
    first, second = new_leaves[start], new_leaves[stop]
    with torch.no_grad():
        first.weight.mul_(alpha)
        if first.bias is not None:
            first.bias.mul_(alpha)
        second.weight.div_(alpha)
    return out


def random_labels(data: Data, seed: int = 0, fraction: float = 1.0) -> Data:
    """The same data with a ``fraction`` of the training labels replaced by uniformly random classes (test labels kept).

    Used in: chapter 14.

    With ``fraction=1`` (every label random) a network that fits the labels has memorized
    them: there is nothing to generalize, so its test accuracy must stay near chance,
    ``1 / num_classes``. Zhang et al. (2017) varied the fraction from 0 to 1. The labels
    chosen for replacement are the first ``round(fraction · n)`` of a random permutation.

    >>> d = Data("toy", torch.zeros(1000, 2), torch.zeros(1000, dtype=torch.long), torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), 4)
    >>> r = random_labels(d)
    >>> 0.2 < (r.y_train == 0).float().mean().item() < 0.3, bool((r.y_test == d.y_test).all())
    (True, True)
    >>> half = random_labels(d, fraction=0.5)
    >>> 0.55 < (half.y_train == 0).float().mean().item() < 0.7
    True
    """
    if data.num_classes < 2:
        raise ValueError(f"random labels need a classification set with at least 2 classes, got num_classes={data.num_classes}.")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}.")
    g = torch.Generator().manual_seed(seed)
    n = len(data.y_train)
    y = torch.randint(0, data.num_classes, (n,), generator=g).to(data.y_train.device)
    if fraction < 1.0:
        keep = torch.randperm(n, generator=g)[round(fraction * n) :].to(data.y_train.device)
        y[keep] = data.y_train[keep]
    return Data(data.name + "-random-labels", data.x_train, y, data.x_test, data.y_test, data.num_classes)


@dataclass
class GDRun:
    """What :func:`full_batch_gd` recorded: the loss every step, ``λ_max`` every ``every`` steps.

    Used in: no chapter.

    >>> GDRun(lr=0.1).threshold
    20.0
    """

    lr: float
    loss: list[float] = field(default_factory=list)
    sharpness_step: list[int] = field(default_factory=list)
    sharpness: list[float] = field(default_factory=list)
    stopped: str | None = None

    @property
    def threshold(self) -> float:
        """``2/η``: the largest sharpness at which gradient descent with this learning rate is stable."""
        return 2.0 / self.lr

    def final_sharpness(self, last: int = 5) -> float:
        """The mean ``λ_max`` of the last ``last`` measurements (it oscillates at the edge of stability)."""
        vals = self.sharpness[-last:]
        return sum(vals) / len(vals) if vals else math.nan


def full_batch_gd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    steps: int,
    *,
    loss_fn: LossFn = square_loss,
    every: int = 10,
    iters: int = 20,
) -> GDRun:
    """Plain gradient descent ``θ ← θ − η ∇L(θ)`` on the whole of ``(x, y)``, measuring ``λ_max`` as it goes.

    Used in: chapter 14.

    Every ``every`` steps (and at the start) the top Hessian eigenvalue is measured with
    ``iters`` Lanczos steps. The model is trained in place. A non-finite loss ends the run
    with a message in ``GDRun.stopped``.

    >>> _ = torch.manual_seed(0)
    >>> m = nn.Linear(2, 2)
    >>> run = full_batch_gd(m, torch.randn(20, 2), torch.randint(0, 2, (20,)), lr=0.5, steps=20, every=10)
    >>> len(run.loss), run.sharpness_step, run.loss[-1] < run.loss[0]
    (20, [0, 10, 20], True)
    """
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}.")
    if steps < 1 or every < 1:
        raise ValueError(f"steps and every must be at least 1, got steps={steps}, every={every}.")
    run = GDRun(lr=float(lr))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()

    def measure(step: int) -> None:
        run.sharpness_step.append(step)
        run.sharpness.append(sharpness(model, loss_fn, x, y, iters=iters))

    measure(0)
    for step in range(1, steps + 1):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        value = loss.item()
        if not math.isfinite(value):
            run.stopped = f"Stopped at step {step}: the loss became {value}; lr={lr} is far beyond 2/λ_max."
            break
        run.loss.append(value)
        loss.backward()
        opt.step()
        if step % every == 0:
            measure(step)
    return run
