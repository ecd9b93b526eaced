"""Snapshot ensembles: one training run, several models, averaged softmax.

Huang et al. (2017) train with ``M`` cosine cycles in one budget. Each cycle anneals
the learning rate to (nearly) zero, so the model settles into a minimum; the restart
kicks it out towards another one. A *snapshot* of the weights is taken at the end of
every cycle, and the ensemble predicts with the mean of the snapshots' softmax outputs

    p(y | x) = (1/M) · Σ_m softmax(f(x; θ_m)).

The learning rate within a cycle of ``T`` steps is
``lr(t) = max_lr/2 · (1 + cos(π · (t mod T) / T))``: SGDR with cycles of one length,
:func:`lrcourse.schedules.cosine_restarts` with ``T_0=T`` (PyTorch's
``CosineAnnealingWarmRestarts(T_0=T, eta_min=0)``).

:class:`Snapshots` is an ``on_epoch_end`` callback for :func:`lrcourse.train.fit`; it keeps
the snapshots in memory (on their device) or writes each one atomically to disk.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import torch
from torch import nn

from .data import Data, num_batches
from .runtime import atomic_save, eval_mode
from .schedules import cosine_restarts

__all__ = [
    "Snapshots",
    "cycle_ends",
    "average_softmax",
    "disagreement",
    "expected_calibration_error",
    "fit_snapshots",
]


def cycle_ends(epochs: int, cycles: int) -> list[int]:
    """The epochs (1-based) at which each of ``cycles`` equal cycles ends, when it divides ``epochs``.

    Used in: chapter 6.

    >>> cycle_ends(12, 4)
    [3, 6, 9, 12]
    """
    if cycles < 1 or epochs < 1:
        raise ValueError(f"epochs and cycles must be at least 1, got epochs={epochs}, cycles={cycles}.")
    if epochs % cycles:
        raise ValueError(f"{cycles} cycles do not split {epochs} epochs evenly; pick epochs a multiple of cycles.")
    per = epochs // cycles
    return [per * (i + 1) for i in range(cycles)]


class Snapshots:
    """Collects copies of a model's weights at chosen epochs; use it as ``fit(..., on_epoch_end=snaps)``.

    Used in: chapter 6.

    ``at`` lists the epochs (1-based) to snapshot, e.g. :func:`cycle_ends`. With
    ``directory=None`` the state dicts stay in memory, on the model's device; otherwise each
    is written to ``directory/snapshot_<epoch>.pt`` through a temporary file and
    ``os.replace``, so a crash never leaves half a file behind.

    >>> m = nn.Linear(2, 2)
    >>> snaps = Snapshots(at=[1, 2])
    >>> snaps(1, m, None); snaps(2, m, None); snaps(3, m, None)
    >>> len(snaps), snaps.epochs
    (2, [1, 2])
    """

    def __init__(self, at: Iterable[int], directory: str | os.PathLike | None = None) -> None:
        self.at = sorted(set(int(e) for e in at))
        if not self.at or self.at[0] < 1:
            raise ValueError(f"at must list epochs numbered from 1, got {list(at)}.")
        self.directory = Path(directory) if directory is not None else None
        self.epochs: list[int] = []
        self._states: list[dict[str, torch.Tensor]] = []
        self._paths: list[Path] = []

    def __call__(self, epoch: int, model: nn.Module, hist: object = None) -> None:
        if epoch not in self.at:
            return
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if self.directory is None:
            self._states.append(state)
        else:
            self._paths.append(atomic_save(state, self.directory / f"snapshot_{epoch:04d}.pt"))
        self.epochs.append(epoch)

    def __len__(self) -> int:
        return len(self.epochs)

    def state(self, i: int) -> dict[str, torch.Tensor]:
        """The ``i``-th snapshot's state dict (read from disk when stored there)."""
        if self.directory is None:
            return self._states[i]
        return torch.load(self._paths[i], weights_only=True)

    def models(self, template: nn.Module) -> Iterator[nn.Module]:
        """Each snapshot loaded into a copy of ``template`` (in eval mode), one at a time."""
        for i in range(len(self)):
            m = copy.deepcopy(template)
            m.load_state_dict(self.state(i))
            yield m.eval()


@torch.no_grad()
def _probs(model: nn.Module, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    with eval_mode(model):
        return torch.cat([model(x[i : i + batch_size]).float().softmax(-1) for i in range(0, len(x), batch_size)])


def average_softmax(models: Sequence[nn.Module] | Iterable[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """The ensemble's prediction: the mean of the models' softmax outputs on ``x``, shape ``(N, K)``.

    Used in: chapter 6.

    >>> a, b = nn.Linear(2, 3), nn.Linear(2, 3)
    >>> p = average_softmax([a, b], torch.zeros(4, 2))
    >>> p.shape, bool(torch.allclose(p.sum(-1), torch.ones(4)))
    (torch.Size([4, 3]), True)
    """
    total, count = None, 0
    for m in models:
        p = _probs(m, x)
        total = p if total is None else total + p
        count += 1
    if count == 0:
        raise ValueError("average_softmax needs at least one model; did training reach a snapshot epoch?")
    return total / count


def disagreement(models: Sequence[nn.Module] | Iterable[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Pairwise disagreement: entry ``(i, j)`` is the fraction of ``x`` where models i and j predict differently.

    Used in: chapter 6.

    >>> a = nn.Linear(2, 2)
    >>> disagreement([a, a], torch.randn(5, 2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    preds = torch.stack([_probs(m, x).argmax(-1) for m in models])
    if len(preds) == 0:
        raise ValueError("disagreement needs at least one model.")
    return (preds[:, None, :] != preds[None, :, :]).float().mean(-1)


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    """Expected calibration error (Guo et al., 2017): how far confidence is from accuracy, on average.

    Used in: chapter 6.

    The examples are grouped by their confidence (the largest probability) into ``bins``
    equal-width bins on ``(0, 1]``; ECE is the sum over bins of (fraction of examples in the bin)
    × |accuracy in the bin − mean confidence in the bin|. 0 is perfectly calibrated.

    >>> p = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    >>> round(expected_calibration_error(p, torch.tensor([0, 0, 0, 1])), 3)  # 0.9 right twice; 0.6 right once
    0.1
    """
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"need probs of shape (N, K) and N labels, got {tuple(probs.shape)} and {len(labels)}.")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}.")
    conf, pred = probs.float().max(-1)
    right = (pred == labels).float()
    # bin b holds confidences in (b/bins, (b+1)/bins]
    which = (conf * bins).ceil().long().clamp(1, bins) - 1
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.float().mean().item() * abs(right[inside].mean().item() - conf[inside].mean().item())
    return total


def fit_snapshots(
    model: nn.Module,
    data: Data,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    cycles: int,
    max_lr: float,
    *,
    batch_size: int = 128,
    directory: str | os.PathLike | None = None,
    **fit_kwargs: object,
):
    """Train with ``cycles`` cosine cycles over ``epochs`` epochs, snapshotting at each cycle's end.

    Used in: chapter 6.

    A thin wrapper over :func:`lrcourse.train.fit` with
    :func:`lrcourse.schedules.cosine_restarts` (``T_0`` one cycle) as the schedule and
    a :class:`Snapshots` callback. Returns ``(history, snapshots)``.

    >>> from lrcourse.data import load
    >>> d = load("blobs", n_train=64, n_test=32, device="cpu")
    >>> m = nn.Linear(2, 3)
    >>> h, s = fit_snapshots(m, d, torch.optim.SGD(m.parameters(), lr=0.1), 4, 2, 0.1, progress=False, seed=0)
    >>> s.epochs
    [2, 4]
    """
    from .train import fit

    ends = cycle_ends(epochs, cycles)
    per_epoch = num_batches(len(data.x_train), batch_size)
    snaps = Snapshots(ends, directory=directory)
    user_cb = fit_kwargs.pop("on_epoch_end", None)

    def on_epoch_end(epoch: int, m: nn.Module, hist: object) -> None:
        snaps(epoch, m, hist)
        if user_cb is not None:
            user_cb(epoch, m, hist)  # type: ignore[operator]

    hist = fit(
        model,
        data,
        optimizer,
        epochs,
        schedule=cosine_restarts(max_lr, T_0=(epochs // cycles) * per_epoch),
        batch_size=batch_size,
        on_epoch_end=on_epoch_end,
        **fit_kwargs,  # type: ignore[arg-type]
    )
    return hist, snaps
