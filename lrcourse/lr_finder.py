"""The learning-rate range test: grow the rate every step, watch the loss, put everything back.

The test (Smith, 2017, who grew the rate linearly and watched the accuracy; the exponential
sweep of the smoothed loss is fastai's, Gugger 2018) trains for ``num_iter`` steps (by default
40 per decade of rates, :func:`default_num_iter`) while the learning rate grows from
``start_lr`` to ``end_lr``,

* geometrically (``step_mode="exp"``): ``lr_i = start · q**i`` with
  ``q = (end / start) ** (1 / (N - 1))``, i.e. evenly spaced in ``log lr``;
* or linearly (``step_mode="linear"``): ``lr_i = start + (end - start) · i / (N - 1)``.

It records each batch loss and an exponential moving average with bias correction,

    ``avg_i = β · avg_{i-1} + (1 - β) · loss_i``,  ``smoothed_i = avg_i / (1 - β**(i+1))``,

and stops early once the smoothed loss is NaN/infinite or exceeds ``diverge`` times the
best smoothed loss so far. Then it restores the model (parameters *and* buffers, such as
BatchNorm statistics), the optimizer (state and param groups) and the global random
number generator bit for bit, so the test leaves no trace.

:meth:`RangeTestResult.suggest` turns the curve into advice with one of three rules
(``"valley"``, ``"steepest"``, ``"min10"``), each with a one-line reason, and refuses
(``ValueError``) when the curve gives no honest answer.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

import numpy as np
import torch
from torch import nn

from .data import Data
from .profiles import profile
from .runtime import EMA, Amp, LossFn, generator, get_loss, lr_ratios, place, precision, set_lr
from .runtime import progress as progress_bar
from .train import Batch, BatchSource, evaluate, train_step

METHODS = ("valley", "steepest", "min10")
STEP_MODES = ("exp", "linear")
STEPS_PER_DECADE = 40  # the default num_iter: 320 steps from 1e-7 to 10
FALL_SE = 3.0  # a fall must exceed this many standard errors of (start - smoothed minimum)


# --------------------------------------------------------------------------- pure pieces


def growth_factor(start: float, end: float, num_iter: int) -> float:
    """The factor ``q`` by which an exponential range test multiplies the LR each step.

    Used in: no chapter.

    ``q = (end / start) ** (1 / (num_iter - 1))``, so ``start · q**(num_iter-1) = end``;
    in log form ``log q = (log end - log start) / (num_iter - 1)``.

    >>> growth_factor(1e-3, 1e-1, 3)
    10.000000000000002
    """
    _check_range(start, end, num_iter, minimum=2)
    return math.exp((math.log(end) - math.log(start)) / (num_iter - 1))


def default_num_iter(start: float, end: float) -> int:
    """The default length of a range test: 40 steps per decade of rates, and at least 100.

    Used in: no chapter.

    Fewer steps per decade leave the rates that train well (often one decade, less with
    momentum or Adam) with a dozen steps, too few for the loss to move; and the smoothed
    curve's lag, about 25 steps, would span two decades instead of about half of one.

    >>> default_num_iter(1e-7, 10.0), default_num_iter(1e-3, 1.0)
    (320, 120)
    """
    _check_range(start, end, 100)
    return max(100, round(STEPS_PER_DECADE * math.log10(end / start)))


def lr_schedule_exp(start: float, end: float, num_iter: int) -> list[float]:
    """The ``num_iter`` learning rates of an exponential range test, ``start · q**i``.

    Used in: chapter 3.

    >>> [round(lr, 6) for lr in lr_schedule_exp(1e-3, 1e-1, 3)]
    [0.001, 0.01, 0.1]
    """
    _check_range(start, end, num_iter, minimum=2)
    log_q = (math.log(end) - math.log(start)) / (num_iter - 1)
    return [start * math.exp(log_q * i) for i in range(num_iter)]


def lr_schedule_linear(start: float, end: float, num_iter: int) -> list[float]:
    """The ``num_iter`` learning rates of a linear range test, evenly spaced from start to end.

    Used in: no chapter.

    >>> lr_schedule_linear(0.0 + 1e-9, 1.0, 3)[1]
    0.5000000005
    """
    _check_range(start, end, num_iter, minimum=2)
    return [start + (end - start) * i / (num_iter - 1) for i in range(num_iter)]


def smooth_losses(losses: Sequence[float], beta: float = 0.98) -> list[float]:
    """Exponential moving average of ``losses`` with bias correction (Adam-style).

    Used in: chapters 1, 3, 4, 13.

    ``avg_i = β·avg_{i-1} + (1-β)·loss_i`` from ``avg_{-1} = 0``, reported as
    ``avg_i / (1 - β**(i+1))`` so that the first values are not pulled towards zero.
    (torch-lr-finder's ``smooth_f`` is ``1 - beta``.) The range test smooths with ``beta=0.98``;
    for a training curve's step losses a lighter ``beta`` such as 0.9 follows the trend sooner.

    >>> smooth_losses([2.0, 2.0, 2.0], beta=0.9)
    [2.0, 2.0, 2.0]
    """
    ema = EMA(beta)
    return [ema.update(loss) for loss in losses]


def diverged(smoothed: float, best: float, diverge: float = 4.0) -> bool:
    """The stopping rule: the smoothed loss is NaN/infinite, or above ``diverge ×`` the best so far.

    Used in: no chapter.

    >>> diverged(5.0, 1.0), diverged(3.9, 1.0), diverged(float("nan"), 1.0)
    (True, False, True)
    """
    return not math.isfinite(smoothed) or smoothed > diverge * best


def stop_index(smoothed: Sequence[float], diverge: float = 4.0) -> int | None:
    """The step at which a range test with this smoothed curve stops, or ``None`` if it never does.

    Used in: no chapter.

    Step ``i`` stops the test when :func:`diverged` holds for ``smoothed[i]`` against the best
    (lowest) of ``smoothed[:i]``; step 0 only stops on a NaN or infinite loss.

    >>> stop_index([2.0, 1.0, 3.0, 4.5]), stop_index([2.0, 1.0, 3.0], diverge=4.0)
    (3, None)
    """
    best = math.inf
    for i, s in enumerate(smoothed):
        if diverged(s, best, diverge):
            return i
        best = min(best, s)
    return None


def longest_decreasing(losses: Sequence[float]) -> tuple[list[int], int, int]:
    """fastai's longest-decreasing-subsequence pass: ``(lds, max_start, max_end)``.

    ``lds[i]`` is the length of the longest strictly decreasing subsequence ending at ``i``;
    ``max_end`` is the first index with the largest ``lds``, and ``max_start`` is
    ``max_end - lds[max_end]``, counted as fastai counts it (as if the subsequence had no gaps).

    >>> longest_decreasing([3.0, 5.0, 2.0, 4.0, 1.0])
    ([1, 1, 2, 2, 3], 1, 4)
    """
    n = len(losses)
    lds, max_start, max_end = [1] * n, 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    return lds, max_start, max_end


def fastai_valley(lrs: Sequence[float], smoothed: Sequence[float]) -> float:
    """fastai's ``valley`` rule (2021), as ``Learner.lr_find`` applies it: on the smoothed curve
    without its first tenth and last five steps, the longest *decreasing subsequence* (not
    necessarily contiguous), and the rate ``len/3 + len/6`` steps along it, about its middle.

    Used in: chapter 3.

    Our ``valley`` (:meth:`RangeTestResult.suggest`) reads a *contiguous* descent and picks its
    middle in ``log lr``; chapter 3 and ``benchmarks/bench_lr_advice.py`` measure both. (fastai
    counts the window as ``max_end - lds[max_end]``, as if the subsequence had no gaps.)

    >>> lrs = lr_schedule_exp(1e-4, 1.0, 60)
    >>> loss = [2.0 - math.tanh(3 + math.log10(lr)) for lr in lrs]
    >>> 1e-4 < fastai_valley(lrs, loss) < 1.0
    True
    """
    n_all = len(smoothed)
    lrs, losses = list(lrs[n_all // 10 : n_all - 5]), list(smoothed[n_all // 10 : n_all - 5])
    bad = [i for i, v in enumerate(losses) if math.isnan(v)]
    if bad:
        lrs, losses = lrs[: bad[0]], losses[: bad[0]]
    n = len(losses)
    if n < 2:
        raise ValueError(f"fastai's valley needs more than {n_all} steps (it drops the first tenth and the last 5).")
    _, max_start, max_end = longest_decreasing(losses)
    sections = (max_end - max_start) / 3
    return float(lrs[max_start + int(sections) + int(sections / 2)])


def _check_range(start: float, end: float, num_iter: int, minimum: int = 10) -> None:
    if not (start > 0 and end > 0):
        raise ValueError(f"Learning rates must be positive, got start_lr={start}, end_lr={end}.")
    if start >= end:
        raise ValueError(
            f"start_lr ({start}) must be below end_lr ({end}); the test grows the learning rate."
        )
    if num_iter < minimum:
        raise ValueError(
            f"num_iter must be at least {minimum} (got {num_iter}); 100 steps is the usual choice."
        )


# --------------------------------------------------------------------------- the result


class Suggestion(NamedTuple):
    """A suggested learning rate and the one-line reason for it.

    Used in: no chapter.

    >>> Suggestion(1e-2, "why").lr
    0.01
    """

    lr: float
    reason: str


class Spread(NamedTuple):
    """One rule's suggestion over repeated range tests: per repeat, their median and spread.

    Used in: no chapter.

    >>> Spread([0.1, 0.2], 0.14, 0.30, 0).refused
    0
    """

    lrs: list[float]
    median: float
    decades: float
    refused: int


class Descent(NamedTuple):
    """What a suggestion rule reads: the rates and smoothed losses (arrays), the index of the smoothed
    minimum, the steps at the start no rule reads (the first tenth, at least 5), and the fall.

    Used in: no chapter.

    >>> Descent(np.array([1e-3, 1e-2]), np.array([1.0, 0.5]), 1, 0, 0.5).best
    1
    """

    lrs: np.ndarray
    smoothed: np.ndarray
    best: int
    skip: int
    drop: float


def valley(result: RangeTestResult, d: Descent) -> Suggestion:
    """The longest stretch, past the first tenth of the steps, over which the smoothed loss keeps
    falling, and the LR in its middle (in ``log lr``): well inside the descent, clear of the minimum
    where training starts to blow up (fastai's ``valley`` also takes a middle, of the longest
    decreasing subsequence: see :func:`fastai_valley`).

    Used in: no chapter.

    >>> lrs = lr_schedule_exp(1e-4, 1.0, 40)
    >>> loss = [2.0 - math.tanh(3 + math.log10(lr)) for lr in lrs]
    >>> 1e-4 < RangeTestResult(lrs, loss, loss, "done").suggest(valley).lr < 1.0
    True
    """
    s, lrs, m, skip = d.smoothed, d.lrs, d.best, d.skip
    x = np.log(lrs[: m + 1])
    # as for steepest: the first steps' wiggles are the EMA settling, not descent
    a, b = _longest_descent(s[skip : m + 1], tol=0.02 * d.drop)
    a, b = a + skip, b + skip
    if b - a < 2:
        raise ValueError("No suggestion: the smoothed loss has no sustained descent; start lower.")
    x_pick = (x[a] + x[b]) / 2
    k = int(np.argmin(np.abs(x - x_pick)))
    return Suggestion(
        float(lrs[k]),
        f"valley: the loss falls steadily from lr={lrs[a]:.2g} to lr={lrs[b]:.2g} "
        f"({s[a]:.3g} -> {s[b]:.3g}); lr={lrs[k]:.2g} lies in its middle (in log lr).",
    )


def steepest(result: RangeTestResult, d: Descent) -> Suggestion:
    """The LR where the smoothed loss falls fastest against ``log lr``, past the first tenth of the
    steps (at least 5): there the smoothed curve has averaged only a few batches, and its slope is
    the difference between two batches, not learning.

    Used in: no chapter.

    >>> lrs = lr_schedule_exp(1e-4, 1.0, 40)
    >>> loss = [2.0 - math.tanh(3 + math.log10(lr)) for lr in lrs]
    >>> 1e-4 < RangeTestResult(lrs, loss, loss, "done").suggest(steepest).lr < 1e-2
    True
    """
    s, lrs, m, skip = d.smoothed, d.lrs, d.best, d.skip
    slope = np.gradient(s[: m + 1], np.log(lrs[: m + 1]))
    k = skip + int(np.argmin(slope[skip:]))  # m >= skip: descent() refuses otherwise
    if not slope[k] < 0:
        raise ValueError("No suggestion: the smoothed loss never falls with the learning rate.")
    return Suggestion(
        float(lrs[k]),
        f"steepest: the smoothed loss falls fastest ({slope[k]:.3g} per unit of ln lr) at lr={lrs[k]:.2g}.",
    )


def min10(result: RangeTestResult, d: Descent) -> Suggestion:
    """The LR at the minimum smoothed loss, divided by 10.

    Used in: no chapter.

    >>> lrs = lr_schedule_exp(1e-4, 1.0, 40)
    >>> loss = [2.0 - math.tanh(3 + math.log10(lr)) for lr in lrs]
    >>> round(RangeTestResult(lrs, loss, loss, "done").suggest(min10).lr, 6)
    0.1
    """
    s, lrs, m = d.smoothed, d.lrs, d.best
    return Suggestion(
        float(lrs[m] / 10),
        f"min10: the smoothed loss is lowest ({s[m]:.3g}) at lr={lrs[m]:.2g}; "
        "a tenth of that stays clear of the edge of divergence.",
    )


Rule = Callable[["RangeTestResult", Descent], Suggestion]
RULES: dict[str, Rule] = {"valley": valley, "steepest": steepest, "min10": min10}
"""The suggestion rules by name; add your own (``RULES["mine"] = rule``) to use it by name."""


@dataclass
class RangeTestResult:
    """What :func:`range_test` recorded: per step ``lrs`` (group 0), raw ``losses``, ``smoothed``.

    Used in: chapters 3, 15.

    ``stopped`` says in one sentence why the test stopped early (``None`` when it ran all its
    steps, as :attr:`lrcourse.train.History.stopped`); ``cycles`` is how many passes
    over the training data it needed (above 1 it reused batches).

    >>> r = RangeTestResult(lrs=[1e-3, 1e-2], losses=[1.0, 0.5], smoothed=[1.0, 0.7], stopped=None)
    >>> r.best_index
    1
    """

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    stopped: str | None = None
    num_iter: int = 0
    cycles: float = 0.0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    repeats: list[RangeTestResult] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        lr_range = f"{self.lrs[0]:.3g} to {self.lrs[-1]:.3g}" if self.lrs else "none"
        return f"RangeTestResult({len(self.lrs)} steps, lr {lr_range}; {self.stopped or 'ran all its steps'})"

    @property
    def best_index(self) -> int:
        """Index of the lowest finite smoothed loss."""
        finite = [(s, i) for i, s in enumerate(self.smoothed) if math.isfinite(s)]
        if not finite:
            raise ValueError("The range test recorded no finite loss; lower start_lr.")
        return min(finite)[1]

    def suggest(self, method: str | Rule = "valley") -> Suggestion:
        """The LR one rule reads off the curve, with its reason; ``ValueError`` when it must refuse.

        ``method`` names a rule of :data:`RULES` (:func:`valley`, :func:`steepest`, :func:`min10`)
        or is a rule itself: any function ``rule(result, descent) -> Suggestion`` (see
        :class:`Descent`), so a rule of your own plugs in without touching this class.

        Every rule refuses (``ValueError``) when the smoothed loss did not fall from its start
        by more than three standard errors (:meth:`fall_error`, from the batch noise of
        :meth:`noise`), or 1% of the start; the message says which knob to turn, with numbers
        from the run.

        >>> lrs = lr_schedule_exp(1e-4, 1.0, 40)
        >>> loss = [2.0 - math.tanh(3 + math.log10(lr)) if lr < 0.3 else 10.0 for lr in lrs]
        >>> r = RangeTestResult(lrs, loss, loss, "done")
        >>> 1e-3 < r.suggest("steepest").lr < 1e-2
        True
        >>> r.suggest(lambda r, d: Suggestion(float(d.lrs[d.best] / 3), "a third of the minimum")).lr < 0.1
        True
        """
        rule = RULES.get(method) if isinstance(method, str) else method
        if rule is None:
            raise ValueError(f"Unknown method {method!r}; use one of {', '.join(RULES)} or a rule function.")
        return rule(self, self.descent())

    def descent(self) -> Descent:
        """The curve as the rules read it, after the check every rule shares (``ValueError`` if it fails).

        >>> lrs = lr_schedule_exp(1e-4, 1.0, 40)
        >>> loss = [2.0 - math.tanh(3 + math.log10(lr)) for lr in lrs]
        >>> RangeTestResult(lrs, loss, loss, "done").descent().best
        39
        """
        s = np.asarray(self.smoothed, dtype=float)
        lrs = np.asarray(self.lrs, dtype=float)
        if len(s) < 5:
            raise ValueError(
                f"Only {len(s)} steps were recorded ({self.stopped or 'the test ran all its steps'}); "
                "no rule can read a curve that short. Lower start_lr or end_lr."
            )
        start, m, noise, drop = self._fall()
        if m < self._skip or not drop > max(FALL_SE * self.fall_error(noise), 0.01 * abs(start)):
            raise ValueError(self._refusal(start, m, noise, drop))
        return Descent(lrs, s, m, self._skip, drop)

    @property
    def _skip(self) -> int:
        """Steps at the start that no rule reads: the first tenth, at least 5 (as fastai's ``lr_find``)."""
        return max(5, len(self.smoothed) // 10)

    def noise(self) -> float:
        """The batch-to-batch noise of the raw loss, measured where the curve descends.

        The raw losses between the first tenth of the steps and the minimum of the smoothed
        curve (the exploding tail and the first few steps are left out) minus a centred
        running mean over 7 steps: what is left is batch noise, with the trend removed.
        Its robust spread (1.4826 times the median absolute deviation, rescaled for the
        point's own share of the mean) estimates one batch's standard deviation.

        >>> rng = np.random.default_rng(0)
        >>> lrs = lr_schedule_exp(1e-4, 1.0, 200)
        >>> raw = [2.0 - math.tanh(3 + math.log10(lr)) + 0.05 * rng.standard_normal() for lr in lrs]
        >>> r = RangeTestResult(lrs, raw, smooth_losses(raw))
        >>> 0.04 < r.noise() < 0.06
        True
        """
        raw = np.asarray(self.losses, dtype=float)
        finite = np.isfinite(raw)
        end = int(np.argmax(~finite)) if not finite.all() else len(raw)
        m = self.best_index
        lo, hi = self._skip, min(m, end - 1)
        if hi - lo < 10:  # too short a descent to measure on: use everything before the minimum
            lo, hi = 0, max(min(m, end - 1), min(end - 1, 10))
        h = 3
        seg = raw[max(0, lo - h) : hi + h + 1]
        if len(seg) < 2 * h + 3:
            return float(np.std(np.diff(raw[:end])) / math.sqrt(2)) if end > 2 else 0.0
        mean = np.convolve(seg, np.ones(2 * h + 1) / (2 * h + 1), mode="valid")
        res = seg[h : len(seg) - h] - mean
        mad = float(np.median(np.abs(res - np.median(res))))
        return 1.4826 * mad * math.sqrt((2 * h + 1) / (2 * h))

    def fall_error(self, noise: float | None = None) -> float:
        """Standard error of the fall from the start to the smoothed minimum, if nothing was learnt.

        The start is the median of the first tenth of the batch losses (at least 5), whose
        standard error is about ``noise * sqrt(pi / 2 / k)`` for ``k`` batches; the smoothed
        value adds ``noise * sqrt((1 - β) / (1 + β))``, 0.1 noise for β = 0.98. The two add in
        quadrature.

        >>> r = RangeTestResult([1e-3] * 100, [1.0] * 100, [1.0] * 100, "done")
        >>> round(r.fall_error(noise=1.0), 2)
        0.41
        """
        noise = self.noise() if noise is None else noise
        return noise * math.sqrt(math.pi / 2 / self._skip + 0.02 / 1.98)

    def _fall(self) -> tuple[float, int, float, float]:
        """(start, index of the minimum, batch noise, fall from start to minimum) of the curve."""
        s = np.asarray(self.smoothed, dtype=float)
        m = self.best_index
        start = min(float(np.median(np.asarray(self.losses[: self._skip], dtype=float))), float(s[0]))
        return start, m, self.noise(), start - float(s[m])

    def _refusal(self, start: float, m: int, noise: float, drop: float) -> str:
        """Why no rule answers, and which knob to turn, with numbers from this run."""
        s, lrs, n = self.smoothed, self.lrs, len(self.smoothed)
        head = (
            f"No suggestion: the smoothed loss fell from {start:.4g} to {s[m]:.4g} (at lr={lrs[m]:.2g}), "
            f"by {drop:.2g}: not more than {FALL_SE:g} standard errors ({FALL_SE * self.fall_error(noise):.2g}, "
            f"from a batch noise of {noise:.2g}) or 1% of the start."
        )
        decades = math.log10(lrs[-1] / lrs[0]) if n > 1 else 0.0
        planned = max(n, self.num_iter)
        per_decade = (n - 1) / decades if decades > 0 else float(n)
        stopped = self.stopped is not None
        if per_decade < 0.9 * STEPS_PER_DECADE:
            more = max(2 * planned, round(STEPS_PER_DECADE * (planned - 1) / per_decade))
            return head + (
                f" The test gave {per_decade:.0f} steps per decade of rates: the rates that could train got "
                f"too few steps for the loss to move. Give it more: num_iter={more}."
            )
        if m < self._skip and stopped:
            return head + (
                f" The loss rose from the first steps and the test stopped at lr={lrs[-1]:.2g}: "
                f"start lower, e.g. start_lr={lrs[0] / 100:.1g}."
            )
        if not stopped:
            return head + (
                f" The test never diverged up to lr={lrs[-1]:.2g}: raise end_lr (e.g. end_lr={lrs[-1] * 100:.2g}), "
                "or check that the model can learn this data."
            )
        return head + (
            f" The test stopped at lr={lrs[-1]:.2g} after {n} steps, {per_decade:.0f} per decade of rates: "
            f"the rates that could train got too few steps. Zoom in: start_lr={lrs[-1] / 1e3:.1g}, "
            f"end_lr={lrs[-1] * 3:.2g}, num_iter={max(2 * n, 300)}."
        )

    def spread(self, method: str = "valley") -> Spread:
        """The suggestion of each repeat (``range_test(..., repeats=k)``), and how far apart they are.

        ``lrs`` holds one suggestion per repeat (``nan`` where the rule refused), ``median`` their
        median, and ``decades`` the distance from the smallest to the largest in decades of rate.

        >>> lrs = lr_schedule_exp(1e-4, 1.0, 40)
        >>> loss = [2.0 - math.tanh(3 + math.log10(lr)) if lr < 0.3 else 10.0 for lr in lrs]
        >>> r = RangeTestResult(lrs, loss, loss, "done")
        >>> r.repeats = [r, r]
        >>> r.spread("min10").decades
        0.0
        """
        runs = self.repeats or [self]
        found = []
        for run in runs:
            try:
                found.append(run.suggest(method).lr)
            except ValueError:
                found.append(math.nan)
        ok = [v for v in found if math.isfinite(v)]
        if not ok:
            return Spread(found, math.nan, math.nan, len(found))
        return Spread(
            found, float(np.exp(np.median(np.log(ok)))), math.log10(max(ok) / min(ok)), len(found) - len(ok)
        )

    def suggestions(self) -> dict[str, Suggestion]:
        """Every rule's suggestion that is not refused, by name.

        >>> RangeTestResult([1e-3] * 5, [1.0] * 5, [1.0] * 5, "done").suggestions()
        {}
        """
        out = {}
        for method in METHODS:
            try:
                out[method] = self.suggest(method)
            except ValueError:
                pass
        return out

    def plot(self, ax: Any = None, *, methods: Sequence[str] = METHODS) -> Any:
        """Raw and smoothed loss against LR (log x), with the suggestions marked: :func:`lrcourse.plots.range_test_figure`.

        >>> r = RangeTestResult([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0], [1.0, 0.8, 1.2], "done")
        >>> r.plot().axes[0].get_xscale()
        'log'
        """
        from .plots import range_test_figure

        return range_test_figure(self, ax=ax, methods=methods)


def _longest_descent(s: np.ndarray, tol: float, flat: float = 0.05) -> tuple[int, int]:
    """The longest run ``[a, b]`` over which ``s`` keeps falling, without its flat top.

    Within a run the curve may rise by less than ``tol`` above its running minimum (noise);
    a bigger rise ends the run. The run ends at its lowest point, and its start is moved
    forward past the plateau: to the last point still within ``flat`` of the run's total fall
    from its first value.

    >>> _longest_descent(np.array([3.0, 3.0, 3.0, 2.0, 1.5, 1.6, 1.0, 2.0]), tol=0.2)
    (2, 6)
    """
    a, low = 0, s[0]
    best = (0, 0)
    for k in range(1, len(s)):
        if s[k] > low + tol:  # the run is broken: start a new one here
            a, low = k, s[k]
            continue
        low = min(low, s[k])
        if s[k] <= low and k - a > best[1] - best[0]:
            best = (a, k)
    a, b = best
    top = s[a]
    fall = top - s[b]
    while a < b and s[a + 1] >= top - flat * fall:
        a += 1
    return a, b


# --------------------------------------------------------------------------- the test


def _check_args(start_lr: float, end_lr: float, num_iter: int, step_mode: str, beta: float, diverge: float,
                accumulation_steps: int, repeats: int, optimizer: torch.optim.Optimizer) -> None:
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}.")
    _check_range(start_lr, end_lr, num_iter)
    if step_mode not in STEP_MODES:
        raise ValueError(f"step_mode must be 'exp' or 'linear', got {step_mode!r}.")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta (the smoothing factor) must be in [0, 1), got {beta}; 0.98 is the usual choice.")
    if not diverge > 1.0:
        raise ValueError(f"diverge must be above 1 (a multiple of the best loss), got {diverge}.")
    if accumulation_steps < 1:
        raise ValueError(f"accumulation_steps must be at least 1, got {accumulation_steps}.")
    base = optimizer.param_groups[0]["lr"]
    if not base > 0:
        raise ValueError(
            f"The optimizer's first param group has lr={base}; give it a positive lr "
            "(the other groups' LRs are kept as ratios to it)."
        )


@contextlib.contextmanager
def preserved(model: nn.Module, optimizer: torch.optim.Optimizer, devices: Sequence = ()) -> Iterator[None]:
    """Run the block, then put back the model (parameters and buffers), its train/eval mode, the
    optimizer (state and param groups, gradients cleared) and torch's random number generators.

    Used in: no chapter.

    >>> m = nn.Linear(2, 2); opt = torch.optim.SGD(m.parameters(), lr=0.1); w = m.weight.clone()
    >>> with preserved(m, opt):
    ...     _ = m.weight.data.add_(1.0)
    >>> torch.equal(m.weight, w)
    True
    """
    was_training = model.training
    model_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt_state = copy.deepcopy(optimizer.state_dict())
    try:
        with torch.random.fork_rng(devices=list(devices)):
            yield
    finally:
        with torch.no_grad():
            model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
        optimizer.zero_grad(set_to_none=True)
        model.train(was_training)


def _stop(i: int, lr: float, loss: float, sm: float, best: float, diverge: float) -> str | None:
    """Why the test stops at step ``i``, or ``None`` when it goes on."""
    if not math.isfinite(loss) or not math.isfinite(sm):
        return f"stopped at step {i} (lr={lr:.3g}): the loss became {loss}"
    if diverged(sm, best, diverge):
        return f"stopped at step {i} (lr={lr:.3g}): the smoothed loss {sm:.3g} exceeded {diverge:g}x the best {best:.3g}"
    return None


def _validation_pair(val_data: Union[Data, tuple[torch.Tensor, torch.Tensor], None],
                     dev: torch.device) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``range_test``'s validation set as an ``(x, y)`` pair on ``dev`` (a ``Data``'s test split), or ``None``."""
    if isinstance(val_data, Data):
        val_data = (val_data.x_test, val_data.y_test)
    return None if val_data is None else (val_data[0].to(dev), val_data[1].to(dev))


def _cycle_notes(source: BatchSource, needed: int) -> list[str]:
    """A note when the test needs more batches than one pass over the data holds (it then cycles)."""
    per_pass = source.per_epoch
    if per_pass is None or needed <= per_pass:
        return []
    size = f" of {source.batch_size}" if isinstance(source.data, Data) else ""
    return [f"The data holds {per_pass} batches{size} but the test needs {needed}; "
            f"it cycles through the data {needed / per_pass:.1f} times."]


def range_test(
    model: nn.Module,
    data: Data | Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    loss: Union[str, LossFn] = "cross_entropy",
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10,
    num_iter: int | None = None,
    step_mode: str = "exp",
    beta: float = 0.98,
    diverge: float = 4.0,
    accumulation_steps: int = 1,
    val_data: Union[Data, tuple[torch.Tensor, torch.Tensor], None] = None,
    batch_size: int = 128,
    seed: int | None = None,
    progress: bool | None = None,
    amp: Amp = None,
    repeats: int = 1,
) -> RangeTestResult:
    """Run the LR range test on ``model`` and return the curve; the model is left exactly as it was.

    Used in: chapters 3, 5, 9, 12, 15.

    ``num_iter`` defaults to 40 steps per decade of rates (:func:`default_num_iter`: 320 from
    1e-7 to 10). Each of the ``num_iter`` steps sets group 0's LR from the schedule (other groups keep
    their ratio to it), takes ``accumulation_steps`` batches of ``batch_size`` (averaging
    their gradients), and steps the optimizer: :func:`lrcourse.train.train_step`, the step
    ``fit`` takes. The recorded loss is the training batch loss
    before the step, or, with ``val_data`` (a :class:`Data`, whose test split is used, or an
    ``(x, y)`` pair), the validation loss after it. Data shorter than the test is cycled
    (with a warning). ``data`` may also be any iterable of ``(x, y)`` batches, such as a
    ``DataLoader`` (read again from its start when it runs out). As in :func:`lrcourse.train.fit`,
    the model (and the optimizer's state) is first moved to the device of ``data``, where it
    stays, and ``amp`` picks the precision
    (:func:`lrcourse.runtime.precision`: by the hardware when ``None``, float32 when ``False``).
    ``loss`` is a name or a function, as in ``fit``; ``beta`` is the smoothing factor of
    :func:`smooth_losses` (the stopping rule reads the smoothed loss).

    >>> from lrcourse.data import load
    >>> d = load("blobs", n_train=1024, n_test=64, device="cpu")
    >>> m = nn.Linear(2, 3)
    >>> before = [p.clone() for p in m.parameters()]
    >>> r = range_test(m, d, torch.optim.SGD(m.parameters(), lr=0.1), start_lr=1e-4, end_lr=10,
    ...                num_iter=20, batch_size=32, seed=0, progress=False)
    >>> len(r.lrs) <= 20 and all(torch.equal(a, b) for a, b in zip(before, m.parameters()))
    True

    With ``repeats=k`` the test runs ``k`` times from the same weights, with the batch-order
    seeds ``seed, seed + 1, ...``; the result is the first run, and all ``k`` are in its
    ``repeats``, so that :meth:`RangeTestResult.spread` can say how much the advice moves.
    """
    num_iter = default_num_iter(start_lr, end_lr) if num_iter is None else num_iter
    args = dict(start_lr=start_lr, end_lr=end_lr, num_iter=num_iter, step_mode=step_mode, beta=beta,
                diverge=diverge, accumulation_steps=accumulation_steps)
    if repeats > 1:
        first = seed if seed is not None else int(torch.randint(0, 2**31 - repeats, (1,)))
        runs = [range_test(model, data, optimizer, loss, **args, val_data=val_data, batch_size=batch_size,
                           seed=first + j, progress=progress, amp=amp) for j in range(repeats)]
        runs[0].repeats = runs
        return runs[0]
    _check_args(**args, repeats=repeats, optimizer=optimizer)
    source = BatchSource(data, model, batch_size, caller="range_test")
    groups, dev = optimizer.param_groups, source.device
    ratios = lr_ratios(groups)
    place(model, dev, optimizer)
    plan = (lr_schedule_exp if step_mode == "exp" else lr_schedule_linear)(start_lr, end_lr, num_iter)
    loss_of = get_loss(loss)
    val_data = _validation_pair(val_data, dev)
    needed, per_pass = num_iter * accumulation_steps, source.per_epoch
    notes = _cycle_notes(source, needed)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    prec = precision(dev, amp)
    scaler = prec.grad_scaler() if prec.scaler else None
    lrs, losses, smoothed = [], [], []
    stopped = None
    bar = progress_bar(num_iter, progress if progress is not None else profile() != "ci", desc="range test")
    started = time.perf_counter()
    with contextlib.closing(bar), preserved(model, optimizer, [dev] if dev.type == "cuda" else []):
        feed = source.stream(generator(seed))
        model.train()
        ema, best = EMA(beta), math.inf
        for i, lr in enumerate(plan):
            set_lr(groups, lr, ratios)
            total = 0.0

            def add(loss: torch.Tensor) -> bool:  # the batch loss, read before its backward pass
                nonlocal total
                total += loss.item()
                return math.isfinite(total)

            step = [next(feed) for _ in range(accumulation_steps)] if accumulation_steps > 1 else next(feed)
            done = train_step(model, optimizer, step, loss_of, prec=prec, scaler=scaler, measure_norm=False,
                              on_loss=add)
            if done is not None and val_data is not None:
                total = evaluate(model, val_data[0], val_data[1], loss_of, amp=amp)[0]
            sm = ema.update(total)
            lrs.append(lr)
            losses.append(total)
            smoothed.append(sm)
            bar.update(1)
            stopped = _stop(i, lr, total, sm, best, diverge)
            if stopped is not None:
                break
            best = min(best, sm)
    return RangeTestResult(lrs=lrs, losses=losses, smoothed=smoothed, stopped=stopped, num_iter=num_iter,
                           cycles=needed / per_pass if per_pass else math.nan,
                           seconds=time.perf_counter() - started, notes=notes)


__all__ = [
    "METHODS",
    "RULES",
    "Descent",
    "Rule",
    "min10",
    "preserved",
    "steepest",
    "valley",
    "RangeTestResult",
    "Spread",
    "Suggestion",
    "default_num_iter",
    "diverged",
    "fastai_valley",
    "growth_factor",
    "lr_schedule_exp",
    "lr_schedule_linear",
    "range_test",
    "smooth_losses",
    "stop_index",
]
