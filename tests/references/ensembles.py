"""Reference answers of lrcourse.check.ensembles's checkers, kept out of the package."""

from __future__ import annotations

import math

import torch


def _average(logits: torch.Tensor) -> torch.Tensor:
    return logits.softmax(-1).mean(0)

def _disagree(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.argmax(-1) != b.argmax(-1)).float().mean().item()

def _ece(probs: torch.Tensor, labels: torch.Tensor, bins: int) -> float:
    from lrcourse.ensembles import expected_calibration_error

    return expected_calibration_error(probs, labels, bins)

def _last_k(member_probs: torch.Tensor, labels: torch.Tensor) -> list[float]:
    out = []
    for k in range(1, len(member_probs) + 1):
        p = member_probs[-k:].mean(0)
        out.append(-p[torch.arange(len(labels)), labels].clamp_min(1e-12).log().mean().item())
    return out

def _snapshot_lr(lr_max: float, cycle_steps: int, step: int) -> float:
    return lr_max / 2 * (1 + math.cos(math.pi * (step % cycle_steps) / cycle_steps))


REFERENCES = {
    "snapshot_schedule": _snapshot_lr,
    "snapshot_average": _average,
    "pairwise_disagreement": _disagree,
    "calibration_error": _ece,
    "last_k_nll": lambda p, y: torch.tensor(_last_k(p, y)),
}

HIDDEN = {
    "snapshot_schedule": [(0.3, 6, 14), (0.05, 4, 4)],
    "snapshot_average": [(torch.tensor([[[1.0, 2.0], [0.5, -1.0]], [[3.0, 0.0], [0.0, 0.0]]]),)],
    "pairwise_disagreement": [(torch.tensor([[2.0, 1.0], [0.0, 1.0], [5.0, 4.0]]), torch.tensor([[1.0, 2.0], [0.0, 1.0], [4.0, 5.0]]))],
    "calibration_error": [(torch.tensor([[0.7, 0.3], [0.6, 0.4], [0.9, 0.1]]), torch.tensor([0, 1, 0]), 5)],
    "last_k_nll": [(torch.tensor([[[0.6, 0.4], [0.2, 0.8]], [[0.9, 0.1], [0.5, 0.5]]]), torch.tensor([0, 1]))],
}
