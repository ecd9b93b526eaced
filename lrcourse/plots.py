"""The house style: learning rate against loss on a log axis, schedules, training curves.

Every function draws on a given ``ax`` (or a new figure) and returns the figure, so a
chapter can compose panels or call ``.savefig``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .runtime import EMA

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def style() -> None:
    """Apply the course's plotting defaults to matplotlib's ``rcParams`` (each chapter's setup cell calls it;
    importing :mod:`lrcourse` changes nothing).

    Used in: chapters 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15.

    >>> style()
    """
    plt.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": matplotlib.cycler(color=COLORS),
            "legend.frameon": False,
        }
    )


def _axes(ax: Axes | None, **fig_kw: object) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(**fig_kw)  # type: ignore[arg-type]
        return fig, ax
    return ax.figure, ax  # type: ignore[return-value]


def lr_loss(
    lrs: Sequence[float],
    losses: Sequence[float],
    *,
    ax: Axes | None = None,
    label: str | None = None,
    marks: dict[str, float] | None = None,
) -> Figure:
    """Loss against learning rate on a log x axis, with optional labelled vertical marks.

    Used in: chapter 1.

    >>> fig = lr_loss([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0], marks={"pick": 1e-2})
    >>> fig.axes[0].get_xscale()
    'log'
    """
    fig, ax = _axes(ax)
    ax.plot(lrs, losses, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    for i, (name, x) in enumerate((marks or {}).items()):
        ax.axvline(x, ls="--", color=COLORS[(i + 1) % len(COLORS)], label=f"{name}: {x:.2g}")
    if label or marks:
        ax.legend()
    return fig


def schedule(
    fns: dict[str, Callable[[int], float]] | Callable[[int], float],
    steps: int,
    *,
    ax: Axes | None = None,
    log: bool = False,
) -> Figure:
    """Plot one schedule, or several by name, over ``steps`` steps.

    Used in: chapters 4, 5.

    >>> schedule({"constant": lambda t: 0.1}, 10).axes[0].get_xlabel()
    'step'
    """
    fig, ax = _axes(ax)
    named = fns if isinstance(fns, dict) else {"": fns}
    for name, fn in named.items():
        ax.plot(range(steps), [fn(t) for t in range(steps)], label=name or None)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    if len(named) > 1 or next(iter(named)):
        ax.legend()
    return fig


def capped_curve(values: Sequence[float], cap: float, label: str, *, ax: Axes | None = None) -> Figure:
    """A loss curve that stops where the run left the chart (at or past ``cap``, or not finite).

    Used in: chapters 5, 12.

    A diverged run drawn as ``min(v, cap)`` looks like a plateau; this draws the curve up to the
    first step at or past ``cap``, marks that step with an x at ``cap``, and adds
    "(diverged)" to the label.

    >>> fig = capped_curve([1.0, 0.5, 20.0, float("nan")], cap=10.0, label="lr 2")
    >>> line = fig.axes[0].get_lines()[0]
    >>> line.get_label(), [float(v) for v in line.get_ydata()]
    ('lr 2 (diverged)', [1.0, 0.5, 10.0])
    """
    fig, ax = _axes(ax)
    cut = next((t for t, v in enumerate(values) if not v < cap), None)  # `not <` catches nan too
    if cut is None:
        ax.plot(range(len(values)), list(values), label=label)
        return fig
    (line,) = ax.plot(range(cut + 1), [*values[:cut], cap], label=f"{label} (diverged)")
    ax.plot(cut, cap, "x", ms=10, mew=2, color=line.get_color())
    return fig


def curves(
    histories: dict[str, object],
    key: str = "test_acc",
    *,
    ax: Axes | None = None,
) -> Figure:
    """One per-epoch series (``test_acc``, ``train_loss``...) of several runs, by name.

    Used in: chapters 4, 6, 7.

    >>> from lrcourse.train import History
    >>> h = History(1, epoch=[1, 2], test_acc=[0.5, 0.7])
    >>> curves({"run": h}).axes[0].get_ylabel()
    'test acc'
    """
    fig, ax = _axes(ax)
    for name, h in histories.items():
        ax.plot(h.epoch, getattr(h, key), marker="o", ms=3, label=name)  # type: ignore[attr-defined]
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " "))
    ax.legend()
    return fig


def history_figure(hist: object, title: str | None = None) -> Figure:
    """The three-panel picture of one training run (used by ``History.plot``).

    Used in: no chapter.

    >>> from lrcourse.train import History
    >>> len(history_figure(History(1, loss=[1.0], lr=[0.1], epoch=[1], test_acc=[0.5], train_acc=[0.6])).axes)
    3
    """
    h = hist
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 3.2))
    finite = [v if math.isfinite(v) else math.nan for v in h.loss]  # type: ignore[attr-defined]
    a.plot(finite, alpha=0.3, label="batch")
    ema = EMA(0.9)  # lrcourse.lr_finder.smooth_losses(..., beta=0.9), which sits above this module
    a.plot([ema.update(v) for v in finite if not math.isnan(v)], label="smoothed")
    a.set(xlabel="step", ylabel="train loss", yscale="log")
    a.legend()
    b.plot(h.lr)  # type: ignore[attr-defined]
    b.set(xlabel="step", ylabel="learning rate")
    c.plot(h.epoch, h.train_acc, marker="o", ms=3, label="train")  # type: ignore[attr-defined]
    c.plot(h.epoch, h.test_acc, marker="o", ms=3, label="test")  # type: ignore[attr-defined]
    c.set(xlabel="epoch", ylabel="accuracy")
    c.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def range_test_figure(
    result: Any, ax: Axes | None = None, *, methods: Sequence[str] = ("valley", "steepest", "min10")
) -> Figure:
    """A range test's raw and smoothed loss against LR (log x), with each rule's suggestion marked.

    Used in: no chapter.

    ``result`` is a :class:`lrcourse.lr_finder.RangeTestResult` (its ``.plot()`` calls this); a rule
    that refuses is left out.

    >>> from lrcourse.lr_finder import RangeTestResult
    >>> r = RangeTestResult([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0], [1.0, 0.8, 1.2], "done")
    >>> range_test_figure(r).axes[0].get_xscale()
    'log'
    """
    fig, ax = _axes(ax)
    ax.plot(result.lrs, result.losses, color=COLORS[7], alpha=0.35, lw=1, label="batch loss")
    ax.plot(result.lrs, result.smoothed, color=COLORS[0], lw=2, label="smoothed")
    for i, method in enumerate(methods):
        try:
            sug = result.suggest(method)
        except ValueError:
            continue
        ax.axvline(sug.lr, ls="--", color=COLORS[1 + i], label=f"{method}: {sug.lr:.2g}")
    finite = [v for v in result.smoothed if math.isfinite(v)]
    if finite:
        low, start = min(finite), finite[0]
        ax.set_ylim(low - 0.1 * abs(start - low) - 1e-3, max(start, low) + 0.6 * abs(start - low) + 1e-3)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.legend()
    return fig
