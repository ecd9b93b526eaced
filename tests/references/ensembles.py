"""Reference answers of lrcourse.check.ensembles's checkers, kept out of the package."""

from __future__ import annotations

import torch


def _disagree(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.argmax(-1) != b.argmax(-1)).float().mean().item()


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
    "pairwise_disagreement": _disagree,
    "equal_mass_ece": _equal_mass_ece,
    "last_k_nll": lambda p, y: torch.tensor(_last_k(p, y)),
}

HIDDEN = {
    "pairwise_disagreement": [(torch.tensor([[2.0, 1.0], [0.0, 1.0], [5.0, 4.0]]), torch.tensor([[1.0, 2.0], [0.0, 1.0], [4.0, 5.0]]))],
    "equal_mass_ece": [(torch.tensor([[0.7, 0.3], [0.6, 0.4], [0.9, 0.1], [0.55, 0.45], [0.8, 0.2]]),
                        torch.tensor([0, 1, 0, 0, 1]), 2),
                       (torch.tensor([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05], [0.4, 0.35, 0.25]]), torch.tensor([1, 0, 2]), 1)],
    "last_k_nll": [(torch.tensor([[[0.6, 0.4], [0.2, 0.8]], [[0.9, 0.1], [0.5, 0.5]]]), torch.tensor([0, 1]))],
}
