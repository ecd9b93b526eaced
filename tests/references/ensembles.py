"""Reference answers of lrcourse.check.ensembles's checkers, kept out of the package."""

from __future__ import annotations

import torch


def _two_member_range(err_a: float, err_b: float, dis: float, n_classes: int) -> torch.Tensor:
    """By kinds of examples: a share ``r`` both right (the ensemble is right), ``w_same`` both wrong on one class
    (wrong), and the free kinds, one right or both wrong on different classes (impossible with two classes).
    ``err_a + err_b = 2 w + (one right)`` and ``dis = (one right) + w_diff`` with ``w = w_same + w_diff``."""
    lowest = max(0.0, 1 - (err_a + err_b + dis) / 2)  # the fewest both-wrong examples, every free one lost
    if n_classes == 2:  # w_diff = 0 fixes w = (err_a + err_b - dis) / 2; every free example won
        highest = 1 - (err_a + err_b - dis) / 2
    else:  # as many both-wrong examples as possible on different classes, every free one won
        highest = min(1.0, 1 - max(err_a, err_b) + dis)
    return torch.tensor([lowest, highest], dtype=torch.float64)


def _equal_mass_ece(probs: torch.Tensor, labels: torch.Tensor, bins: int) -> float:
    conf, pred = probs.double().max(-1)
    right = (pred == labels).double()
    total = 0.0
    for group in conf.argsort(stable=True).tensor_split(bins):
        if len(group):
            total += len(group) / len(conf) * abs(right[group].mean().item() - conf[group].mean().item())
    return total


def _last_k(member_probs: torch.Tensor, labels: torch.Tensor) -> list[float]:
    out = []
    for k in range(1, len(member_probs) + 1):
        p = member_probs[-k:].mean(0)
        out.append(-p[torch.arange(len(labels)), labels].clamp_min(1e-12).log().mean().item())
    return out


REFERENCES = {
    "two_member_accuracy_range": _two_member_range,
    "equal_mass_ece": _equal_mass_ece,
    "last_k_nll": lambda p, y: torch.tensor(_last_k(p, y)),
}

HIDDEN = {
    "two_member_accuracy_range": [(0.25, 0.35, 0.2, 4), (0.3, 0.4, 0.3, 2), (0.05, 0.45, 0.5, 10)],
    "equal_mass_ece": [(torch.tensor([[0.7, 0.3], [0.6, 0.4], [0.9, 0.1], [0.55, 0.45], [0.8, 0.2]]),
                        torch.tensor([0, 1, 0, 0, 1]), 2),
                       (torch.tensor([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05], [0.4, 0.35, 0.25]]), torch.tensor([1, 0, 2]), 1)],
    "last_k_nll": [(torch.tensor([[[0.6, 0.4], [0.2, 0.8]], [[0.9, 0.1], [0.5, 0.5]]]), torch.tensor([0, 1]))],
}
