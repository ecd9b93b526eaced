"""Reference answers of lrcourse.check.optimizers's checkers, kept out of the package."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from lrcourse.check.optimizers import T, _flat, _t


def _adadelta_first(g: T, rho: float, eps: float) -> T:
    return -(eps**0.5) * g / ((1 - rho) * g * g + eps).sqrt()

def _adagrad(w: T, g: T, s: T, lr: float, eps: float) -> tuple[T, T]:
    s = s + g * g
    return w - lr * g / (s.sqrt() + eps), s

def _adam(w: T, g: T, m: T, v: T, t: int, lr: float, b1: float, b2: float, eps: float) -> tuple[T, T, T]:
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return w - lr * m_hat / (v_hat.sqrt() + eps), m, v

def _adamw(
    w: T, g: T, m: T, v: T, t: int, lr: float, b1: float, b2: float, eps: float, wd: float
) -> tuple[T, T, T]:
    w = w * (1 - lr * wd)  # decoupled: the decay never enters m or v
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return w - lr * m_hat / (v_hat.sqrt() + eps), m, v

def _classify(eigenvalues: Sequence[float]) -> str:
    tol = 1e-9 * max(1.0, max(abs(v) for v in eigenvalues))
    neg = any(v < -tol for v in eigenvalues)
    pos = any(v > tol for v in eigenvalues)
    zero = any(abs(v) <= tol for v in eigenvalues)
    if neg and pos:
        return "saddle"
    if neg and not zero:
        return "maximum"
    if pos and not zero:
        return "minimum"
    return "degenerate"

def _look_around(loss: Callable[[T], T], point: T, radius: float, n: int) -> str:
    angles = torch.arange(n, dtype=torch.float64) * (2 * torch.pi / n)
    ring = point + radius * torch.stack([angles.cos(), angles.sin()], -1)
    change = torch.stack([loss(q) for q in ring]) - loss(point)
    if bool((change >= 0).all()):
        return "minimum"
    if bool((change <= 0).all()):
        return "maximum"
    return "saddle"

def _momentum(w: T, v: T, g: T, lr: float, mu: float) -> tuple[T, T]:
    v = mu * v + g
    return w - lr * v, v

def _powersign(w: T, g: T, m: T, lr: float, beta: float) -> tuple[T, T]:
    m = beta * m + (1 - beta) * g
    return w - lr * torch.exp(torch.sign(g) * torch.sign(m)) * g, m

def _taylor(f: float, g: T, h: T, d: T) -> float:
    return float(f + g @ d + 0.5 * d @ h @ d)

def _uncorrected_ratio(t: int, b1: float, b2: float) -> float:
    return (1 - b1**t) / (1 - b2**t) ** 0.5


REFERENCES = {
    "classify_eigenvalues": _classify,
    "momentum_step": _flat("momentum_step", _momentum, 2),
    "taylor_second_order": _taylor,
    "look_around": _look_around,
    "adagrad_step": _flat("adagrad_step", _adagrad, 2),
    "adam_step": _flat("adam_step", _adam, 3),
    "powersign_step": _flat("powersign_step", _powersign, 2),
    "uncorrected_adam_ratio": _uncorrected_ratio,
    "adamw_step": _flat("adamw_step", _adamw, 3),
    "adadelta_first_step": _adadelta_first,
}

HIDDEN = {
    "classify_eigenvalues": [([-2.0, 0.0, 1.0],), ([0.5, 0.25],)],
    "momentum_step": [(_t(1.0, -1.0), _t(0.5, 0.0), _t(2.0, 1.0), 0.05, 0.8)],
    "adagrad_step": [(_t(0.5, 2.0), _t(1.0, -3.0), _t(0.25, 1.0), 0.1, 1e-10)],
    "adam_step": [(_t(1.0, 0.0), _t(0.3, -0.6), _t(0.1, 0.0), _t(0.01, 0.2), 3, 0.01, 0.9, 0.99, 1e-8)],
    "powersign_step": [(_t(2.0, -1.0), _t(-0.5, 0.5), _t(0.2, 0.2), 0.1, 0.9)],
    "uncorrected_adam_ratio": [(5, 0.8, 0.99), (200, 0.95, 0.9999)],
    "adamw_step": [(_t(1.0, -2.0), _t(0.2, 0.1), _t(0.0, 0.0), _t(0.0, 0.0), 1, 0.01, 0.9, 0.999, 1e-8, 0.1)],
    "adadelta_first_step": [(_t(0.3, -7.0), 0.8, 1e-5)],
}
