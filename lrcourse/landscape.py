"""The loss surface: lines and planes through the weights, gradients, Hessians and their spectra.

Near a point ``θ`` the loss is, to second order,

``L(θ + δ) ≈ L(θ) + gᵀδ + ½ δᵀ H δ``,

with ``g`` the gradient and ``H`` the Hessian. Where ``g = 0`` the signs of ``H``'s
eigenvalues say what kind of critical point it is (all positive: a minimum, all negative:
a maximum, mixed: a saddle, and an eigenvector of a negative eigenvalue points downhill).
The largest eigenvalue is the sharpness that caps a stable learning rate (``lr < 2/λ_max``).

Small models get their dense Hessian from :mod:`torch.func` (:func:`hessian`); real
networks never build it, only Hessian-vector products (:func:`hvp`, one double backward
pass each), from which :func:`top_hessian_eigenvalues` gets the top of the spectrum by
Lanczos iteration (or plain power iteration with deflation, the textbook version).

Directions are either flat vectors (as long as all the parameters together) or lists of
tensors shaped like ``model.parameters()``; every function here takes both.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Union

import torch
from torch import nn

from .runtime import LossFn, eval_mode

Direction = Union[torch.Tensor, Sequence[torch.Tensor]]

__all__ = [
    "as_function",
    "classify_critical_point",
    "gradient",
    "hessian",
    "hvp",
    "loss_along_line",
    "loss_surface",
    "random_direction",
    "top_hessian_eigenvalues",
]


# ----------------------------------------------------------------------------- helpers


def _params(model: nn.Module) -> list[nn.Parameter]:
    if not isinstance(model, nn.Module):
        raise ValueError(f"expected an nn.Module, got {type(model).__name__}.")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(
            "the model has no trainable parameters, so its loss surface has no directions; "
            "pass a model with at least one parameter that requires grad."
        )
    return params


def _numel(params: Sequence[torch.Tensor]) -> int:
    return sum(p.numel() for p in params)


def _as_list(direction: Direction, params: Sequence[torch.Tensor], name: str = "direction") -> list[torch.Tensor]:
    """A direction as a list of tensors shaped like ``params`` (accepts a flat vector too)."""
    n = _numel(params)
    if isinstance(direction, torch.Tensor):
        if direction.numel() != n:
            raise ValueError(
                f"{name} has {direction.numel()} numbers but the model has {n} parameters; "
                f"pass a flat vector of length {n} or a list of tensors shaped like model.parameters()."
            )
        flat = direction.reshape(-1)
        out, i = [], 0
        for p in params:
            out.append(flat[i : i + p.numel()].view_as(p).to(dtype=p.dtype, device=p.device))
            i += p.numel()
        return out
    parts = list(direction)
    if len(parts) != len(params) or any(d.shape != p.shape for d, p in zip(parts, params)):
        raise ValueError(
            f"{name} must match the model's parameters tensor by tensor "
            f"({len(params)} tensors of shapes {[tuple(p.shape) for p in params][:4]}...), "
            f"or be one flat vector of length {n}."
        )
    return [d.to(dtype=p.dtype, device=p.device) for d, p in zip(parts, params)]


def _flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def _check_loss(loss: torch.Tensor) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError("loss_fn(logits, y) must return a single number (a scalar tensor); use a mean or sum.")
    return loss.reshape(())


def _as_1d(values: Sequence[float] | torch.Tensor, name: str) -> torch.Tensor:
    t = torch.as_tensor(values, dtype=torch.float64)
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D list of step sizes (got shape {tuple(t.shape)}); "
            f"pass e.g. torch.linspace(-1, 1, 21), not a meshgrid."
        )
    return t


# ----------------------------------------------------------------------------- functions of a flat vector


def as_function(
    model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    """The loss as a function of one flat parameter vector, and the model's current vector.

    Used in: chapter 2.

    ``fn(theta)`` runs the model functionally (:func:`torch.func.functional_call`) with the
    weights ``theta`` in eval mode; the model itself is never changed. Feed the pair to
    :func:`gradient` and :func:`hessian`.

    >>> m = nn.Linear(2, 1)
    >>> fn, theta = as_function(m, lambda out, y: ((out - y) ** 2).mean(), torch.ones(3, 2), torch.zeros(3, 1))
    >>> theta.shape, fn(torch.zeros(3)).item()
    (torch.Size([3]), 0.0)
    """
    params = _params(model)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    buffers = dict(model.named_buffers())

    def fn(theta: torch.Tensor) -> torch.Tensor:
        chunks = torch.split(theta, sizes)
        weights = {n: c.view(s) for n, c, s in zip(names, chunks, shapes)}
        with eval_mode(model):
            out = torch.func.functional_call(model, {**buffers, **weights}, (x,))
        return _check_loss(loss_fn(out, y))

    return fn, _flat([p.detach() for p in params]).clone()


def _flat_fn(
    fn: Callable, params: torch.Tensor | Sequence[torch.Tensor] | Mapping[str, torch.Tensor]
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    """Turn ``fn(params)`` (params a tensor, a list or a dict of tensors) into a function of one flat vector."""
    if isinstance(params, torch.Tensor):
        shape = params.shape
        return (lambda v: _check_loss(fn(v.view(shape)))), params.detach().reshape(-1)
    if isinstance(params, Mapping):
        keys = list(params)
        tensors = [params[k] for k in keys]
    else:
        keys, tensors = None, list(params)
    if not tensors:
        raise ValueError("params is empty; pass the tensor(s) the function depends on.")
    shapes, sizes = [t.shape for t in tensors], [t.numel() for t in tensors]

    def flat(v: torch.Tensor) -> torch.Tensor:
        parts = [c.view(s) for c, s in zip(torch.split(v, sizes), shapes)]
        return _check_loss(fn(dict(zip(keys, parts)) if keys is not None else parts))

    return flat, _flat([t.detach() for t in tensors])


def gradient(fn: Callable, params: torch.Tensor | Sequence[torch.Tensor] | Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The gradient of a scalar function at ``params``, as one flat vector (:func:`torch.func.grad`).

    Used in: chapter 2.

    >>> gradient(lambda w: (w**2).sum(), torch.tensor([1.0, -2.0])).tolist()
    [2.0, -4.0]
    """
    f, theta = _flat_fn(fn, params)
    return torch.func.grad(f)(theta)


def hessian(fn: Callable, params: torch.Tensor | Sequence[torch.Tensor] | Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The dense Hessian of a scalar function at ``params`` as an ``(n, n)`` matrix (:func:`torch.func.hessian`).

    Used in: chapter 2.

    ``params`` is a tensor, a list of tensors or a dict of named tensors (``fn`` receives the
    same kind); ``n`` counts all their numbers. Only for small models: it costs ``n`` passes
    and ``n²`` memory. Use :func:`as_function` to get ``fn`` and ``params`` from a model.

    >>> hessian(lambda w: w[0] ** 2 + 3 * w[0] * w[1], torch.tensor([1.0, 2.0])).tolist()
    [[2.0, 3.0], [3.0, 0.0]]
    """
    f, theta = _flat_fn(fn, params)
    with warnings.catch_warnings():
        # torch.func.hessian goes through torch.jit.script internally, which warns that it is
        # deprecated (a message for torch's own code, not for the caller)
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning)
        return torch.func.hessian(f)(theta)


# ----------------------------------------------------------------------------- Hessian-vector products


class _HVP:
    """Hessian-vector products at a fixed point, reusing one graph of the gradient."""

    def __init__(self, model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor) -> None:
        self.params = _params(model)
        self.n = _numel(self.params)
        with torch.enable_grad():
            loss = _check_loss(loss_fn(model(x), y))
            self.grads = torch.autograd.grad(loss, self.params, create_graph=True)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        parts = _as_list(v, self.params)
        with torch.enable_grad():
            dot = sum((g * d).sum() for g, d in zip(self.grads, parts))
            hv = torch.autograd.grad(dot, self.params, retain_graph=True, allow_unused=True)
        return _flat([torch.zeros_like(p) if h is None else h for h, p in zip(hv, self.params)]).detach()


def hvp(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, v: Direction) -> Direction:
    """The Hessian of the loss times ``v``, without forming the Hessian (Pearlmutter's trick).

    Used in: no chapter.

    ``∇(∇L · v) = H v``: one backward pass through the gradient. ``v`` is a flat vector or a
    list of tensors shaped like the parameters; the answer has the same form. The model is in
    eval mode for the computation (its mode is restored) and its weights are not changed.

    >>> m = nn.Linear(1, 1, bias=False)
    >>> x, y = torch.tensor([[2.0]]), torch.tensor([[0.0]])
    >>> hvp(m, lambda out, t: ((out - t) ** 2).mean(), x, y, torch.tensor([1.0])).tolist()  # H = 2x² = 8
    [8.0]
    """
    with eval_mode(model):
        op = _HVP(model, loss_fn, x, y)
        if isinstance(v, torch.Tensor):
            _as_list(v, op.params, "v")
            return op(v).view_as(v)
        parts = _as_list(v, op.params, "v")
        hv = op(_flat(parts))
        return [c.view_as(p) for c, p in zip(torch.split(hv, [p.numel() for p in op.params]), op.params)]


def _lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], q: torch.Tensor, k: int, iters: int, tol: float) -> torch.Tensor:
    """Top-``k`` algebraic eigenvalues of a symmetric operator by Lanczos with full reorthogonalization."""
    n = q.numel()
    steps = min(iters, n)
    basis = torch.empty(steps, n, dtype=q.dtype, device=q.device)
    alphas: list[float] = []
    betas: list[float] = []
    q = q / q.norm()
    top_prev: torch.Tensor | None = None
    for j in range(steps):
        basis[j] = q
        w = matvec(q)
        a = float(w @ q)
        w = w - a * q
        if j > 0:
            w = w - betas[-1] * basis[j - 1]
        for _ in range(2):  # full reorthogonalization keeps the Ritz values honest in float32
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        alphas.append(a)
        b = float(w.norm())
        if j + 1 >= k:
            t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
            if betas:
                off = torch.tensor(betas, dtype=torch.float64)
                t = t + torch.diag(off, 1) + torch.diag(off, -1)
            evals, evecs = torch.linalg.eigh(t)
            top = evals.flip(0)[:k]
            # the residual of a Ritz pair (θ, Q s) is |b · s_last|: stop when it is small for all k
            residual = (b * evecs[-1].flip(0)[:k]).abs()
            scale = max(float(top.abs().max()), 1e-12)
            top_prev = top
            if float(residual.max()) <= tol * scale:
                return top
        if b <= 1e-10 * max(1.0, abs(a)):  # an invariant subspace: the Ritz values are exact
            break
        betas.append(b)
        q = w / b
    if top_prev is None:
        raise ValueError(f"k={k} eigenvalues were asked for but the model has only {n} parameters; use k <= {n}.")
    return top_prev


def top_hessian_eigenvalues(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    k: int = 1,
    iters: int = 100,
    tol: float = 1e-4,
    *,
    seed: int = 0,
) -> torch.Tensor:
    """The ``k`` largest (algebraic, largest first) eigenvalues of the loss's Hessian, shape ``(k,)``.

    Used in: chapters 2, 3, 8, 9, 12, 14.

    Only Hessian-vector products are used (:func:`hvp`), never the dense Hessian, so this
    works for real networks. It runs up to ``iters`` Lanczos steps with full
    reorthogonalization and stops when the residual ``‖Hv − λv‖`` of each of the top
    ``k`` Ritz pairs is below ``tol`` times the largest ``|λ|``. The model is in eval mode for the
    computation and its mode is restored; ``loss_fn(logits, y)`` returns a scalar. The
    answer is float64 on the CPU and repeatable for a fixed ``seed``.

    >>> m = nn.Linear(2, 1, bias=False)
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # H = 2 xᵀx / 2 = diag(1, 4)
    >>> mse = lambda out, t: ((out - t) ** 2).mean()
    >>> top_hessian_eigenvalues(m, mse, x, torch.zeros(2, 1), k=2).round(decimals=4).tolist()
    [4.0, 1.0]
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive whole number of eigenvalues, got {k}.")
    if iters < 1 or not tol > 0:
        raise ValueError(f"iters must be >= 1 and tol > 0, got iters={iters}, tol={tol}.")
    with eval_mode(model):
        op = _HVP(model, loss_fn, x, y)
        if k > op.n:
            raise ValueError(f"k={k} eigenvalues were asked for but the model has only {op.n} parameters; use k <= {op.n}.")
        p0 = op.params[0]
        gen = torch.Generator().manual_seed(seed)
        q0 = torch.randn(op.n, generator=gen, dtype=p0.dtype).to(p0.device)
        out = _lanczos(op, q0, int(k), iters, tol)
    return out.to(torch.float64).cpu()


# ----------------------------------------------------------------------------- lines and planes


def random_direction(model: nn.Module, normalize: str | None = "filter", *, seed: int | None = None) -> list[torch.Tensor]:
    """A Gaussian random direction in weight space, shaped like ``model.parameters()``.

    Used in: no chapter.

    ``normalize="filter"`` scales each filter (each output unit's row of a weight) to the norm
    of the same filter of the weights, and zeroes the direction on 1-D parameters (biases,
    norm layers), as Li et al. (2018, *Visualizing the loss landscape of neural nets*) do so that plots of networks with different
    weight scales compare; ``"layer"`` scales whole tensors instead; ``None`` leaves the
    direction as drawn.

    >>> m = nn.Linear(3, 2)
    >>> d = random_direction(m, seed=0)
    >>> torch.allclose(d[0].norm(dim=1), m.weight.norm(dim=1)), d[1].abs().sum().item()
    (True, 0.0)
    """
    if normalize not in ("filter", "layer", None):
        raise ValueError(f"normalize must be 'filter', 'layer' or None, got {normalize!r}.")
    params = _params(model)
    gen = torch.Generator().manual_seed(seed if seed is not None else int(torch.randint(0, 2**31, (1,))))
    out = []
    for p in params:
        d = torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device)
        w = p.detach()
        if normalize == "filter":
            if p.dim() <= 1:
                d = torch.zeros_like(d)
            else:
                dn = d.reshape(len(d), -1).norm(dim=1).clamp_min(1e-12)
                wn = w.reshape(len(w), -1).norm(dim=1)
                d = d * (wn / dn).view(-1, *([1] * (p.dim() - 1)))
        elif normalize == "layer":
            d = d * (w.norm() / d.norm().clamp_min(1e-12))
        out.append(d)
    return out


@torch.no_grad()
def _losses_at(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, points: list[list[torch.Tensor]]) -> torch.Tensor:
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    buffers = dict(model.named_buffers())
    out = []
    with eval_mode(model):
        for weights in points:
            logits = torch.func.functional_call(model, {**buffers, **dict(zip(names, weights))}, (x,))
            out.append(float(_check_loss(loss_fn(logits, y))))
    return torch.tensor(out, dtype=torch.float64)


def loss_along_line(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    direction: Direction,
    alphas: Sequence[float] | torch.Tensor,
) -> torch.Tensor:
    """``L(θ + α·d)`` for each ``α`` in ``alphas``, shape ``(len(alphas),)``, float64.

    Used in: no chapter.

    The model is evaluated functionally in eval mode; its weights and mode are untouched.

    >>> m = nn.Linear(1, 1, bias=False)
    >>> with torch.no_grad(): _ = m.weight.fill_(1.0)
    >>> mse = lambda out, t: ((out - t) ** 2).mean()
    >>> loss_along_line(m, mse, torch.ones(1, 1), torch.zeros(1, 1), torch.tensor([1.0]), [-1.0, 0.0, 1.0]).tolist()
    [0.0, 1.0, 4.0]
    """
    params = _params(model)
    d = _as_list(direction, params)
    a = _as_1d(alphas, "alphas")
    base = [p.detach() for p in params]
    points = [[w + float(t) * di for w, di in zip(base, d)] for t in a]
    return _losses_at(model, loss_fn, x, y, points)


def loss_surface(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    d1: Direction,
    d2: Direction,
    alphas: Sequence[float] | torch.Tensor,
    betas: Sequence[float] | torch.Tensor,
) -> torch.Tensor:
    """``L(θ + α·d1 + β·d2)`` on the grid ``betas × alphas``: shape ``(len(betas), len(alphas))``.

    Used in: chapter 9.

    Row ``j``, column ``i`` holds ``β_j, α_i``, which is what ``plt.contour(alphas, betas, Z)``
    expects. ``alphas`` and ``betas`` are 1-D step lists (not a meshgrid).

    >>> m = nn.Linear(2, 1, bias=False)
    >>> mse = lambda out, t: ((out - t) ** 2).mean()
    >>> e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    >>> loss_surface(m, mse, torch.eye(2), torch.zeros(2, 1), e1, e2, [0.0, 1.0], [0.0, 1.0, 2.0]).shape
    torch.Size([3, 2])
    """
    params = _params(model)
    u, v = _as_list(d1, params, "d1"), _as_list(d2, params, "d2")
    a, b = _as_1d(alphas, "alphas"), _as_1d(betas, "betas")
    base = [p.detach() for p in params]
    points = [[w + float(s) * ui + float(t) * vi for w, ui, vi in zip(base, u, v)] for t in b for s in a]
    return _losses_at(model, loss_fn, x, y, points).view(len(b), len(a))


# ----------------------------------------------------------------------------- critical points


def classify_critical_point(hessian: torch.Tensor, tol: float = 1e-6) -> tuple[str, torch.Tensor | None]:
    """What kind of critical point a Hessian describes, and a direction to escape along.

    Used in: chapter 2.

    Returns ``(kind, direction)`` with ``kind`` one of ``"minimum"`` (every eigenvalue > 0),
    ``"maximum"`` (every eigenvalue < 0), ``"saddle"`` (some of each sign) or ``"degenerate"``
    (no negative/positive mix and some eigenvalue ≈ 0: the second-order test cannot decide).
    ``direction`` is the unit eigenvector of the most negative eigenvalue (sign chosen so its
    largest entry is positive), along which the loss falls fastest to second order; it is
    ``None`` when no eigenvalue is negative. "≈ 0" means ``|λ| <= tol · max(1, max|λ|)``.

    >>> kind, d = classify_critical_point(torch.tensor([[1.0, 0.0], [0.0, -2.0]]))
    >>> kind, d.tolist()
    ('saddle', [0.0, 1.0])
    """
    h = torch.as_tensor(hessian)
    if h.dim() != 2 or h.shape[0] != h.shape[1] or h.shape[0] == 0:
        raise ValueError(f"the Hessian must be a square (n, n) matrix with n >= 1, got shape {tuple(h.shape)}.")
    h = h.to(torch.float64)
    if not bool(torch.isfinite(h).all()):
        raise ValueError("the Hessian has NaN or infinite entries; compute it at a finite point.")
    scale = max(1.0, float(h.abs().max()))
    if float((h - h.T).abs().max()) > 1e-4 * scale:
        raise ValueError("the Hessian is not symmetric; pass a matrix of second derivatives (H == H.T).")
    evals, evecs = torch.linalg.eigh((h + h.T) / 2)
    zero = tol * max(1.0, float(evals.abs().max()))
    neg, pos = bool((evals < -zero).any()), bool((evals > zero).any())
    flat = bool((evals.abs() <= zero).any())
    if neg and pos:
        kind = "saddle"
    elif neg and not flat:
        kind = "maximum"
    elif pos and not flat:
        kind = "minimum"
    else:
        kind = "degenerate"
    if not neg:
        return kind, None
    d = evecs[:, 0]
    d = d * torch.sign(d[d.abs().argmax()])
    return kind, d + 0.0  # + 0.0 turns -0.0 into 0.0
