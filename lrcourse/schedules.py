"""Learning-rate (and momentum) schedules as plain functions of the step.

Every function here *returns a schedule*: a ``Callable[[int], float]`` that maps the
optimizer step ``t = 0, 1, 2, ...`` to a value. Schedules are pure, so they can be
plotted, composed (:func:`warmup` wraps any other one) and handed to
:func:`lrcourse.train.fit` as ``schedule=`` or ``momentum_schedule=``.

Where PyTorch has a scheduler for the same policy, the function gives, at step ``t``,
the learning rate that scheduler has set after ``t`` calls of ``scheduler.step()``
(that is, the rate used by the ``t``-th optimizer step, counting from 0):

==========================  =======================================================
here                        PyTorch
==========================  =======================================================
:func:`step_decay`          ``StepLR``
:func:`exponential`         ``ExponentialLR``
:func:`cosine`              ``CosineAnnealingLR`` (for ``t <= total_steps``)
:func:`cosine_restarts`     ``CosineAnnealingWarmRestarts``
:func:`cyclic`              ``CyclicLR`` (:func:`cyclic_momentum`: its momentum)
:func:`one_cycle`           ``OneCycleLR`` (:func:`one_cycle_momentum`: its momentum)
:func:`warmup`              ``SequentialLR([LinearLR, ...], milestones=[warmup_steps])``
:func:`linear_decay`        ``LinearLR(start_factor=1, end_factor=end / lr0, total_iters=total_steps)``
:func:`wsd`                 ``SequentialLR([LinearLR, ConstantLR, LinearLR], milestones=[...])``
==========================  =======================================================

Bad parameters raise a ``ValueError`` whose one sentence says what to change.

>>> lr = cosine(0.1, total_steps=100)
>>> lr(0), lr(50), lr(100)
(0.1, 0.05, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .runtime import Schedule, check_count, check_positive

__all__ = [
    "Schedule",
    "constant",
    "step_decay",
    "exponential",
    "time_based",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "cyclic_momentum",
    "one_cycle",
    "one_cycle_momentum",
    "warmup",
    "linear_decay",
    "wsd",
    "transformer",
    "slanted_triangular",
    "gallery",
    "Anneal",
    "anneal",
    "combine",
    "as_lambda_lr",
]


# ---------------------------------------------------------------------------- checks


def _non_negative(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}.")


def _choice(name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}.")


# ------------------------------------------------------------------------ decays


def constant(lr: float) -> Schedule:
    """The same learning rate at every step.

    Used in: chapters 4, 5, 8, 15.

    >>> constant(0.1)(1000)
    0.1
    """
    _non_negative("lr", lr)
    return lambda step: lr


def step_decay(lr0: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """Multiply the rate by ``gamma`` every ``step_size`` steps: ``lr0 · gamma^⌊t / step_size⌋``.

    Used in: chapters 4, 5.

    >>> f = step_decay(1.0, step_size=10, gamma=0.5)
    >>> f(9), f(10), f(25)
    (1.0, 0.5, 0.25)
    """
    _non_negative("lr0", lr0)
    check_count("step_size", step_size)
    check_positive("gamma", gamma)
    return lambda step: lr0 * gamma ** (step // step_size)


def exponential(lr0: float, gamma: float) -> Schedule:
    """Multiply the rate by ``gamma`` every step: ``lr0 · gamma^t``.

    Used in: chapter 4.

    >>> f = exponential(1.0, gamma=0.5)
    >>> f(0), f(3)
    (1.0, 0.125)
    """
    _non_negative("lr0", lr0)
    check_positive("gamma", gamma)
    return lambda step: lr0 * gamma**step


def time_based(lr0: float, k: float) -> Schedule:
    """Time-based (inverse-time) decay ``lr0 / (1 + k·t)``, the 1/t rate of stochastic approximation.

    Used in: chapter 4.

    >>> f = time_based(1.0, k=0.5)
    >>> f(0), f(2), f(6)
    (1.0, 0.5, 0.25)
    """
    _non_negative("lr0", lr0)
    _non_negative("k", k)
    return lambda step: lr0 / (1.0 + k * step)


def cosine(max_lr: float, total_steps: int, eta_min: float = 0.0) -> Schedule:
    """Half a cosine from ``max_lr`` down to ``eta_min`` over ``total_steps`` steps, then ``eta_min``.

    Used in: chapters 4, 5, 15.

    ``eta_min + (max_lr − eta_min) · (1 + cos(π t / total_steps)) / 2`` for ``t <= total_steps``. (PyTorch's
    ``CosineAnnealingLR`` agrees up to ``total_steps`` and then climbs back up; this one stays down.)

    >>> f = cosine(1.0, total_steps=10, eta_min=0.1)
    >>> f(0), round(f(5), 12), f(10), f(11)
    (1.0, 0.55, 0.1, 0.1)
    """
    _non_negative("max_lr", max_lr)
    check_count("total_steps", total_steps)
    _non_negative("eta_min", eta_min)

    def f(step: int) -> float:
        t = min(step, total_steps)
        return eta_min + (max_lr - eta_min) * (1 + math.cos(math.pi * t / total_steps)) / 2

    return f


def cosine_restarts(max_lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> Schedule:
    """SGDR: cosine annealing restarted at ``max_lr``; cycle ``i`` lasts ``T_0 · T_mult^i`` steps.

    Used in: chapters 5, 6.

    Inside a cycle of length ``T_i``, with ``T_cur`` steps since its restart, the rate is
    ``eta_min + (max_lr − eta_min) · (1 + cos(π T_cur / T_i)) / 2``.

    >>> f = cosine_restarts(1.0, T_0=4, T_mult=2)
    >>> [round(f(t), 3) for t in range(8)]
    [1.0, 0.854, 0.5, 0.146, 1.0, 0.962, 0.854, 0.691]
    """
    _non_negative("max_lr", max_lr)
    check_count("T_0", T_0)
    check_count("T_mult", T_mult)
    _non_negative("eta_min", eta_min)

    def f(step: int) -> float:
        if T_mult == 1:
            t_cur, t_i = step % T_0, T_0
        else:
            t_cur, t_i = step, T_0
            while t_cur >= t_i:  # walk the cycles: their lengths grow geometrically
                t_cur -= t_i
                t_i *= T_mult
        return eta_min + (max_lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

    return f


# ------------------------------------------------------------------ cyclical


_MODES = ("triangular", "triangular2", "exp_range")


def _cycle_position(step: int, up: float, period: float) -> tuple[int, float]:
    """(cycle number from 1, height in [0, 1]) of a triangle wave rising for ``up`` of ``period``."""
    cycle = math.floor(1 + step / period)
    x = 1.0 + step / period - cycle  # fraction of the current cycle done
    ratio = up / period
    height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    return cycle, height


def _cyclic_scale(mode: str, gamma: float, cycle: int, step: int) -> float:
    if mode == "triangular":
        return 1.0
    if mode == "triangular2":
        return 1 / (2.0 ** (cycle - 1))
    return gamma**step


def _cyclic_checks(step_size_up: int, step_size_down: int | None, mode: str, gamma: float) -> int:
    check_count("step_size_up", step_size_up)
    down = step_size_up if step_size_down is None else step_size_down
    check_count("step_size_down", down)
    _choice("mode", mode, _MODES)
    check_positive("gamma", gamma)
    return down


def cyclic(
    base_lr: float,
    max_lr: float,
    step_size_up: int,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> Schedule:
    """Smith's cyclical learning rate: a triangle wave between ``base_lr`` and ``max_lr``.

    Used in: chapter 5.

    It rises for ``step_size_up`` steps and falls for ``step_size_down`` (default: the same).
    ``mode="triangular2"`` halves the amplitude every cycle; ``"exp_range"`` multiplies it
    by ``gamma^t``.

    >>> f = cyclic(0.1, 1.0, step_size_up=2)
    >>> [round(f(t), 2) for t in range(6)]
    [0.1, 0.55, 1.0, 0.55, 0.1, 0.55]
    >>> round(cyclic(0.0, 1.0, 2, mode="triangular2")(6), 2)
    0.5
    """
    _non_negative("base_lr", base_lr)
    _non_negative("max_lr", max_lr)
    if max_lr < base_lr:
        raise ValueError(f"max_lr ({max_lr}) must be at least base_lr ({base_lr}); swap them.")
    down = _cyclic_checks(step_size_up, step_size_down, mode, gamma)
    up, period = float(step_size_up), float(step_size_up + down)

    def f(step: int) -> float:
        cycle, height = _cycle_position(step, up, period)
        return base_lr + (max_lr - base_lr) * height * _cyclic_scale(mode, gamma, cycle, step)

    return f


def cyclic_momentum(
    step_size_up: int,
    step_size_down: int | None = None,
    base_momentum: float = 0.8,
    max_momentum: float = 0.9,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> Schedule:
    """The momentum cycle that goes with :func:`cyclic`: high when the rate is low, and back.

    Used in: chapter 5.

    >>> f = cyclic_momentum(step_size_up=2)
    >>> [round(f(t), 2) for t in range(5)]
    [0.9, 0.85, 0.8, 0.85, 0.9]
    """
    for name, v in (("base_momentum", base_momentum), ("max_momentum", max_momentum)):
        if not (isinstance(v, (int, float)) and 0 <= v < 1):
            raise ValueError(f"{name} must be in [0, 1), got {v!r}.")
    if max_momentum < base_momentum:
        raise ValueError(
            f"max_momentum ({max_momentum}) must be at least base_momentum ({base_momentum}); swap them."
        )
    down = _cyclic_checks(step_size_up, step_size_down, mode, gamma)
    up, period = float(step_size_up), float(step_size_up + down)

    def f(step: int) -> float:
        cycle, height = _cycle_position(step, up, period)
        scale = _cyclic_scale(mode, gamma, cycle, step)
        return max_momentum - (max_momentum - base_momentum) * height * scale

    return f


# ------------------------------------------------------------------ one-cycle


class Anneal:
    """A function of the progress ``pct`` through a phase (0 at its start, 1 at its end), from ``start`` to ``end``.

    Used in: no chapter.

    ``kind`` is ``"cos"`` (half a cosine, flat at both ends, as ``OneCycleLR`` anneals) or
    ``"linear"``. fastai calls these ``SchedCos`` and ``SchedLin``; :func:`combine` strings them together.

    >>> a = anneal("cos", 1.0, 0.0)
    >>> a(0.0), a(0.5), a(1.0)
    (1.0, 0.5, 0.0)
    """

    def __init__(self, kind: str, start: float, end: float) -> None:
        _choice("kind", kind, ("cos", "linear"))
        self.kind, self.start, self.end = kind, start, end

    def __call__(self, pct: float) -> float:
        start, end = self.start, self.end
        if self.kind == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def __repr__(self) -> str:
        return f"anneal({self.kind!r}, {self.start!r}, {self.end!r})"


def anneal(kind: str, start: float, end: float) -> Anneal:
    """One phase of a piecewise schedule: ``"cos"`` or ``"linear"`` from ``start`` to ``end`` (see :class:`Anneal`).

    Used in: no chapter.

    >>> anneal("linear", 0.0, 2.0)(0.25)
    0.5
    """
    return Anneal(kind, start, end)


def combine(ends: Sequence[float], phases: Sequence[Callable[[float], float]]) -> Schedule:
    """A piecewise schedule: phase ``i`` runs from step ``ends[i-1]`` (0 for the first) to step ``ends[i]``.

    Used in: no chapter.

    At step ``t`` in phase ``i`` the value is ``phases[i]((t - ends[i-1]) / (ends[i] - ends[i-1]))``;
    from step ``ends[-1] + 1`` on it holds the last phase's end (``phases[-1].end`` for an
    :class:`Anneal`, else ``phases[-1](1.0)``). fastai's ``combine_scheds``, with phases placed by
    step instead of by fraction. :func:`one_cycle` is written with it; so are these two:

    >>> total_steps, warm = 100, 10
    >>> warmup_cosine = combine([warm, total_steps], [anneal("linear", 0.0, 1.0), anneal("cos", 1.0, 0.0)])
    >>> all(abs(warmup_cosine(t) - warmup(cosine(1.0, total_steps - warm), warm)(t)) < 1e-12 for t in range(total_steps))
    True
    >>> cut = 10  # ULMFiT: total_steps=100, cut_frac=0.1, ratio=32
    >>> stlr = combine([cut, total_steps], [anneal("linear", 1 / 32, 1.0), anneal("linear", 1.0, 1 / 32)])
    >>> all(abs(stlr(t) - slanted_triangular(1.0, total_steps)(t)) < 1e-12 for t in range(total_steps + 5))
    True
    """
    ends, phases = [float(e) for e in ends], list(phases)
    if not ends or len(ends) != len(phases):
        raise ValueError(f"combine needs one end step per phase, got {len(ends)} ends for {len(phases)} phases.")
    if any(b <= a for a, b in zip([0.0] + ends[:-1], ends)):
        raise ValueError(f"the end steps must rise from above 0, got {ends}; every phase needs at least one step.")
    last = len(ends) - 1
    total_steps = ends[-1] + 1
    final = phases[-1]
    hold = final.end if isinstance(final, Anneal) else final(1.0)

    def f(step: int) -> float:
        if step >= total_steps:
            return hold
        start = 0.0
        for i, end in enumerate(ends):
            if step <= end or i == last:
                return phases[i]((step - start) / (end - start))
            start = end
        raise AssertionError("unreachable")

    return f


def as_lambda_lr(schedule: Schedule, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
    """Any schedule here as a PyTorch ``LambdaLR``: call ``.step()`` after each ``optimizer.step()``.

    Used in: no chapter.

    The first param group follows ``schedule`` (``LambdaLR`` multiplies each group's initial
    rate by ``schedule(t) / lr0``, with ``lr0`` the first group's), and the others keep their ratio to it.

    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    >>> sched = as_lambda_lr(cosine(0.1, total_steps=10), opt)
    >>> [round(opt.param_groups[0]["lr"], 4) for _ in range(3) if not opt.step() and not sched.step()]
    [0.0976, 0.0905, 0.0794]
    """
    base = optimizer.param_groups[0]["lr"]
    check_positive("the first param group's lr", base)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: schedule(t) / base)


def _one_cycle_phases(total_steps: int, pct_start: float, three_phase: bool) -> list[float]:
    """End steps of the phases, exactly as ``OneCycleLR`` places them (the first ends at ``pct·total_steps − 1``)."""
    check_count("total_steps", total_steps)
    if not (isinstance(pct_start, (int, float)) and 0 < pct_start < 1):
        raise ValueError(f"pct_start must lie strictly between 0 and 1, got {pct_start!r}.")
    if three_phase:
        ends = [pct_start * total_steps - 1, 2 * pct_start * total_steps - 2, total_steps - 1]
    else:
        ends = [pct_start * total_steps - 1, total_steps - 1]
    starts = [0.0] + ends[:-1]
    if any(e <= s for s, e in zip(starts, ends)):
        raise ValueError(
            f"total_steps={total_steps} steps with pct_start={pct_start} leaves a phase of no steps; "
            f"use more steps or a pct_start nearer the middle{' (below 0.5 for three phases)' if three_phase else ''}."
        )
    return ends


def _piecewise(ends: list[float], values: list[tuple[float, float]], kind: str) -> Schedule:
    """Anneal from ``values[i][0]`` to ``values[i][1]`` over phase ``i``; hold the last value after ``total_steps``."""
    return combine(ends, [anneal(kind, a, b) for a, b in values])


def one_cycle(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
    three_phase: bool = False,
) -> Schedule:
    """Smith's one-cycle policy: warm up to ``max_lr`` for ``pct_start`` of ``total_steps``, then anneal far below.

    Used in: chapters 5, 12, 15.

    It starts at ``max_lr / div_factor`` and ends at ``max_lr / (div_factor · final_div_factor)``.
    With ``three_phase=True`` it comes back down to the start symmetrically and only then
    anneals to the end (the shape of Smith's paper); ``anneal`` is ``"cos"`` or ``"linear"``.

    >>> f = one_cycle(1.0, total_steps=11, pct_start=0.5, div_factor=10, final_div_factor=100, anneal="linear")
    >>> round(f(0), 3), round(f(4.5), 3), round(f(10), 4)
    (0.1, 1.0, 0.001)
    """
    check_positive("max_lr", max_lr)
    check_positive("div_factor", div_factor)
    check_positive("final_div_factor", final_div_factor)
    _choice("anneal", anneal, ("cos", "linear"))
    ends = _one_cycle_phases(total_steps, pct_start, three_phase)
    initial = max_lr / div_factor
    final = initial / final_div_factor
    if three_phase:
        values = [(initial, max_lr), (max_lr, initial), (initial, final)]
    else:
        values = [(initial, max_lr), (max_lr, final)]
    return _piecewise(ends, values, anneal)


def one_cycle_momentum(
    total_steps: int,
    pct_start: float = 0.3,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    anneal: str = "cos",
    three_phase: bool = False,
) -> Schedule:
    """The momentum of the one-cycle policy: down from ``max_momentum`` while the rate rises, then back up.

    Used in: chapters 5, 15.

    >>> f = one_cycle_momentum(total_steps=11, pct_start=0.5, anneal="linear")
    >>> round(f(0), 3), round(f(4.5), 3), round(f(10), 3)
    (0.95, 0.85, 0.95)
    """
    for name, v in (("base_momentum", base_momentum), ("max_momentum", max_momentum)):
        if not (isinstance(v, (int, float)) and 0 <= v < 1):
            raise ValueError(f"{name} must be in [0, 1), got {v!r}.")
    if max_momentum < base_momentum:
        raise ValueError(
            f"max_momentum ({max_momentum}) must be at least base_momentum ({base_momentum}); swap them."
        )
    _choice("anneal", anneal, ("cos", "linear"))
    ends = _one_cycle_phases(total_steps, pct_start, three_phase)
    hi, lo = max_momentum, base_momentum
    values = [(hi, lo), (lo, hi), (hi, hi)] if three_phase else [(hi, lo), (lo, hi)]
    return _piecewise(ends, values, anneal)


# ------------------------------------------------------------------ warmups


def warmup(fn: Schedule, warmup_steps: int, start_factor: float = 0.0) -> Schedule:
    """Linear warmup in front of any schedule: ramp up to ``fn(0)``, then run ``fn`` from its start.

    Used in: chapters 4, 8.

    For ``t < warmup_steps`` the rate is ``fn(0) · (start_factor + (1 − start_factor) · t / warmup_steps)``;
    afterwards it is ``fn(t − warmup_steps)``. (PyTorch: ``SequentialLR`` of a ``LinearLR`` and the
    schedule's own scheduler, with the milestone at ``warmup_steps``.)

    >>> f = warmup(constant(1.0), warmup_steps=4)
    >>> [f(t) for t in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    if not callable(fn):
        raise ValueError(f"fn must be a schedule (a function of the step), got {fn!r}.")
    check_count("warmup_steps", warmup_steps)
    if not (isinstance(start_factor, (int, float)) and 0 <= start_factor <= 1):
        raise ValueError(f"start_factor must be in [0, 1], got {start_factor!r}.")
    peak = fn(0)

    def f(step: int) -> float:
        if step < warmup_steps:
            return peak * (start_factor + (1.0 - start_factor) * step / warmup_steps)
        return fn(step - warmup_steps)

    return f


def linear_decay(lr0: float, total_steps: int, end: float = 0.0) -> Schedule:
    """A straight line from ``lr0`` at step 0 to ``end`` at step ``total_steps``, then ``end``.

    Used in: chapter 4.

    BERT's schedule is :func:`warmup` in front of this one. (PyTorch: ``LinearLR`` with
    ``start_factor=1, end_factor=end / lr0, total_iters=total_steps``.)

    >>> f = linear_decay(1.0, total_steps=4)
    >>> [f(t) for t in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """
    check_positive("lr0", lr0)
    check_count("total_steps", total_steps)
    if not (isinstance(end, (int, float)) and 0 <= end <= lr0):
        raise ValueError(f"end must lie in [0, lr0] = [0, {lr0}], got {end!r}.")
    return lambda step: lr0 + (end - lr0) * min(step, total_steps) / total_steps


def wsd(lr: float, total_steps: int, warmup_steps: int, decay_steps: int, end: float = 0.0) -> Schedule:
    """Warmup-stable-decay: a linear rise over ``warmup_steps``, a constant ``lr``, and a linear
    fall to ``end`` over the last ``decay_steps`` of ``total_steps``.

    Used in: chapter 4.

    The stable phase can be stopped anywhere and a decay started from it, which is why recipes
    that do not know their budget in advance use it. (PyTorch: ``SequentialLR`` of ``LinearLR``
    from 0, ``ConstantLR(factor=1)`` and ``LinearLR`` to ``end / lr``.)

    >>> f = wsd(1.0, total_steps=10, warmup_steps=2, decay_steps=4)
    >>> [round(f(t), 2) for t in range(11)]
    [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    check_positive("lr", lr)
    check_count("total_steps", total_steps)
    if not (isinstance(warmup_steps, int) and isinstance(decay_steps, int) and warmup_steps >= 0 and decay_steps >= 1):
        raise ValueError(f"warmup_steps must be >= 0 and decay_steps >= 1 (integers), got {warmup_steps!r}, {decay_steps!r}.")
    if warmup_steps + decay_steps > total_steps:
        raise ValueError(f"warmup_steps + decay_steps = {warmup_steps + decay_steps} exceeds total_steps = {total_steps}.")
    if not (isinstance(end, (int, float)) and 0 <= end <= lr):
        raise ValueError(f"end must lie in [0, lr] = [0, {lr}], got {end!r}.")
    start_decay = total_steps - decay_steps

    def f(step: int) -> float:
        if step < warmup_steps:
            return lr * step / warmup_steps
        if step < start_decay:
            return lr
        return lr + (end - lr) * min(step - start_decay, decay_steps) / decay_steps

    return f


def transformer(d_model: int, warmup: int) -> Schedule:
    """The Transformer ("Noam") schedule: ``d_model^−½ · min(t^−½, t · warmup^−3/2)`` with ``t = step + 1``.

    Used in: no chapter.

    It rises linearly for ``warmup`` steps, peaks at ``(d_model · warmup)^−½``, then decays as ``1/√t``.

    >>> f = transformer(d_model=512, warmup=4000)
    >>> round(f(3999), 6), f(3999) > f(1000) and f(3999) > f(10000)
    (0.000699, True)
    """
    check_count("d_model", d_model)
    check_count("warmup", warmup)
    scale, w = d_model**-0.5, warmup**-1.5
    return lambda step: scale * min((step + 1) ** -0.5, (step + 1) * w)


def slanted_triangular(max_lr: float, total_steps: int, cut_frac: float = 0.1, ratio: float = 32) -> Schedule:
    """ULMFiT's slanted triangular rate: a short linear rise, then a long linear fall.

    Used in: chapter 12.

    With ``cut = ⌊total_steps · cut_frac⌋``: ``p = t / cut`` while ``t < cut``, else
    ``p = 1 − (t − cut) / (total_steps − cut)``; the rate is ``max_lr · (1 + p·(ratio − 1)) / ratio``,
    so it starts and ends at ``max_lr / ratio``. Howard & Ruder write the fall's length as
    ``cut · (1/cut_frac − 1)``, the same number when ``total_steps · cut_frac`` is a whole number; when
    it is not, theirs ends before ``total_steps`` and goes on falling below ``max_lr / ratio`` (to a
    negative rate for a short run), so ours falls over the steps that are left.

    >>> f = slanted_triangular(1.0, total_steps=100, cut_frac=0.1, ratio=10)
    >>> f(0), f(10), round(f(100), 6)
    (0.1, 1.0, 0.1)
    >>> g = slanted_triangular(1.0, total_steps=16, cut_frac=0.1, ratio=32)  # cut = 1, a fall of 15 steps
    >>> g(1), round(g(16), 6), min(g(t) for t in range(20)) > 0
    (1.0, 0.03125, True)
    """
    check_positive("max_lr", max_lr)
    check_count("total_steps", total_steps)
    if not (isinstance(cut_frac, (int, float)) and 0 < cut_frac < 1):
        raise ValueError(f"cut_frac must lie strictly between 0 and 1, got {cut_frac!r}.")
    if not (isinstance(ratio, (int, float)) and ratio >= 1):
        raise ValueError(f"ratio (how much smaller the lowest rate is than max_lr) must be >= 1, got {ratio!r}.")
    cut = math.floor(total_steps * cut_frac)
    if cut < 1:
        raise ValueError(f"total_steps · cut_frac = {total_steps * cut_frac:g} < 1 leaves no rising steps; raise total_steps or cut_frac.")

    def f(step: int) -> float:
        t = min(step, total_steps)
        p = t / cut if t < cut else 1 - (t - cut) / (total_steps - cut)
        return max_lr * (1 + p * (ratio - 1)) / ratio

    return f


# ------------------------------------------------------------------ gallery


def gallery(total_steps: int = 1000, lr: float = 0.1) -> dict[str, Schedule]:
    """One example of every schedule above, by name, over ``total_steps`` steps, most of them peaking at ``lr``.

    Used in: chapter 4.

    (The Transformer schedule sets its own scale from ``d_model``.)

    >>> g = gallery(100)
    >>> len(g), all(g[name](50) >= 0 for name in g)
    (14, True)
    """
    check_count("total_steps", total_steps)
    check_positive("lr", lr)
    if total_steps < 20:
        raise ValueError(f"total_steps must be at least 20 steps for the gallery's shapes to show, got {total_steps}.")
    q = total_steps // 4
    return {
        "constant": constant(lr),
        "step decay": step_decay(lr, step_size=q, gamma=0.3),
        "exponential": exponential(lr, gamma=0.01 ** (1 / total_steps)),
        "time-based": time_based(lr, k=20 / total_steps),
        "cosine": cosine(lr, total_steps),
        "warmup + cosine": warmup(cosine(lr, total_steps - total_steps // 10), total_steps // 10),
        "warmup + linear (BERT)": warmup(linear_decay(lr, total_steps - total_steps // 10), total_steps // 10),
        "warmup-stable-decay": wsd(lr, total_steps, warmup_steps=total_steps // 20, decay_steps=total_steps // 5),
        "cosine restarts (T_mult=2)": cosine_restarts(lr, T_0=total_steps // 7, T_mult=2),
        "triangular": cyclic(lr / 10, lr, step_size_up=total_steps // 8),
        "triangular2": cyclic(lr / 10, lr, step_size_up=total_steps // 8, mode="triangular2"),
        "one-cycle": one_cycle(lr, total_steps),
        "slanted triangular": slanted_triangular(lr, total_steps),
        "transformer (Noam)": transformer(d_model=64, warmup=total_steps // 10),
    }
