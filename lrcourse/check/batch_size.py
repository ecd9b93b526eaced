"""Checkers for chapter 8, batch size and the learning rate."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import compare

__all__ = ["scaled_lr", "warmup_length", "minibatch_noise", "noise_preserving_lr", "batch_for_step_budget", "lars_update"]


def scaled_lr(fn: Callable[[float, int, int], float]) -> None:
    """Check ``fn(base_lr, base_batch, batch)``: the linear scaling rule.

    >>> scaled_lr(lambda lr, b0, b: lr)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ scaled_lr(0.1, 256, 1024): expected 0.4, got 0.1. Hint: ...
    """
    compare(
        "scaled_lr",
        fn,
        None,
        [(0.1, 256, 1024), (0.1, 256, 256), (0.1, 256, 64), (0.05, 128, 8192), (1.0, 1, 3)],
        hint="the learning rate grows by the same factor as the batch: lr * batch / base_batch.",
    )


def warmup_length(fn: Callable[[float, int, int, int], int]) -> None:
    """Check ``fn(warmup_epochs, n_train, per_device, world_size)``: warmup steps of a data-parallel run.

    >>> warmup_length(lambda e, n, b, w: 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ warmup_length(5, 50000, 128, 8): expected 245, got 0. Hint: ...
    """
    compare(
        "warmup_length",
        fn,
        None,
        [(5, 50_000, 128, 8), (5, 50_000, 128, 1), (1, 4000, 64, 2), (0, 4000, 64, 4), (0.5, 1000, 30, 1)],
        hint="one step consumes per_device * world_size examples; count the steps in warmup_epochs "
        "epochs and round up (math.ceil).",
    )





def minibatch_noise(fn: Callable[[torch.Tensor, int], float]) -> None:
    """Check ``fn(per_example_grads, b)``: expected ``‖ĝ_b − g‖²`` for a batch of ``b`` drawn with replacement.

    ``per_example_grads`` has one row per example; the answer is ``tr(Σ) / b`` with ``Σ``
    their covariance (divided by ``N``).

    >>> minibatch_noise(lambda g, b: 0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ minibatch_noise([[-2.3104116916656494, -0.3732508718967438, -1.0608166456..., 1): expected 2.9901159594891205, got 0.0. Hint: ...
    """
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(50, 3, generator=gen, dtype=torch.float64).float()
    b = 3.0 + 0.1 * torch.randn(200, 7, generator=gen, dtype=torch.float64).float()
    compare(
        "minibatch_noise",
        fn,
        None,
        [
            (a, 1),
            (a, 10),
            (b, 64),  # a large mean must not leak into the noise
            (torch.ones(5, 2), 4),  # identical gradients: no noise at all
            (torch.tensor([[1.0], [-1.0]]), 2),
        ],
        hint="average over examples the squared distance of each row from the mean row "
        "(that is tr(Σ), with Σ divided by N), then divide by b.",
        tol=1e-5,
    )


def noise_preserving_lr(fn: Callable[[float, int, int], float]) -> None:
    """Check ``fn(base_lr, base_batch, batch)``: the rate that keeps the variance of an SGD update fixed.

    An update is ``lr`` times a mini-batch gradient whose noise has variance ``tr Σ / batch``.

    >>> noise_preserving_lr(lambda lr, b0, b: lr)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ noise_preserving_lr(0.1, 256, 1024): expected 0.2, got 0.1. Hint: ...
    """
    compare(
        "noise_preserving_lr",
        fn,
        None,
        [(0.1, 256, 1024), (0.1, 256, 64), (3e-4, 32, 4096), (0.5, 100, 100)],
        hint="the update's noise variance is lr² · tr Σ / B; hold lr² / B fixed and solve for lr.",
    )





def batch_for_step_budget(fn: Callable[[float, float, float], float]) -> None:
    """Check ``fn(s_min, b_noise, max_steps)``: the smallest whole batch that needs at most ``max_steps`` steps.

    In McCandlish et al.'s model a batch ``B`` needs ``S = s_min * (1 + b_noise / B)`` steps;
    return ``math.inf`` when no batch is large enough.

    >>> batch_for_step_budget(lambda s_min, b_noise, max_steps: 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ batch_for_step_budget(1000, 100, 2000): expected 100, got 1. Hint: ...
    """
    compare(
        "batch_for_step_budget",
        fn,
        None,
        [(1000, 100, 2000), (1000, 100, 1100), (1000, 100, 1300), (1000, 300, 1400), (1000, 100, 1000), (500, 64, 300)],
        hint="solve s_min * (1 + b_noise / B) <= max_steps for B and round up; "
        "no batch can go below s_min steps.",
    )





def lars_update(fn: Callable[[torch.Tensor, torch.Tensor, float, float, float], torch.Tensor]) -> None:
    """Check ``fn(w, g, lr, trust, wd)``: the change of one tensor ``w`` in a LARS step without momentum.

    ``-lr * trust * ‖w‖ / (‖g‖ + wd ‖w‖) * (g + wd w)``, with the ratio taken as 1 when ``‖w‖`` or
    ``‖g‖`` is 0.

    >>> lars_update(lambda w, g, lr, trust, wd: -lr * g)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ lars_update([[-2.310411800234176, -0.3732508612577643, -1.06081667854..., [[-0.00104188285970033, 0.0009736130210479112, -7.4419447..., 2.0, 0.001, 0.0): expected [[0.0019531570711929045, -0.0018251755837620403, 0.000139..., got [[0.00208376571940066, -0.0019472260420958223, 0.00014883.... Hint: ...
    """
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(8, 5, generator=gen, dtype=torch.float64)
    g = 1e-3 * torch.randn(8, 5, generator=gen, dtype=torch.float64)
    compare(
        "lars_update",
        fn,
        None,
        [
            (w, g, 2.0, 0.001, 0.0),
            (w, 100 * g, 2.0, 0.001, 0.0),  # the same step: only the gradient's direction counts
            (3 * w, g, 2.0, 0.001, 0.0),  # three times the step: it is a fraction of the weight norm
            (w, g, 2.0, 0.001, 5e-4),  # weight decay enters the denominator and the direction
            (torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64), 1.0, 0.01, 0.0),  # a zero tensor: ratio 1
            (w[0], g[0], 10.0, 0.02, 1e-3),
        ],
        hint="the local rate is trust * ||w|| / (||g|| + wd * ||w||) (1 if a norm is 0); the step is "
        "-lr * local * (g + wd * w).",
        tol=1e-5,
    )
