"""Checkers for chapter 10, MSE versus cross-entropy for classification."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import compare

__all__ = ["stable_softmax", "uniform_grad_ratio", "logit_square_grad"]


def _cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(4)
    return [
        (torch.randn(6, 4, generator=gen, dtype=torch.float64).float(), torch.tensor([0, 1, 2, 3, 0, 1])),
        (torch.zeros(3, 5), torch.tensor([4, 4, 0])),  # uniform prediction
        (torch.tensor([[8.0, -8.0, 0.0]]), torch.tensor([1])),  # confidently wrong
        (torch.tensor([[8.0, -8.0, 0.0]]), torch.tensor([0])),  # confidently right
    ]


def stable_softmax(fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(z)``: the softmax over the last dimension that survives huge logits.

    >>> stable_softmax(lambda z: z.exp() / z.exp().sum(-1, keepdim=True))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ stable_softmax([[1000.0, 0.0, -1000.0]]): expected [[1.0, 0.0, 0.0]], got [[nan, 0.0, 0.0]]. Hint: ...
    """
    gen = torch.Generator().manual_seed(5)
    compare(
        "stable_softmax",
        fn,
        None,
        [
            (torch.randn(4, 3, generator=gen, dtype=torch.float64).float(),),
            (torch.zeros(2, 10),),
            (torch.tensor([[1000.0, 0.0, -1000.0]]),),  # exp(1000) overflows
            (torch.tensor([[-1000.0, -1000.0]]),),  # exp(-1000) underflows to 0/0
            (torch.tensor([3.0, 1.0]),),  # a single vector
        ],
        hint="adding one constant to every logit of a row leaves its softmax unchanged: choose it so that no "
        "exponential overflows and not all of them underflow.",
        tol=1e-4,  # exp(z - logsumexp(z)) is right too: in float32 at |z| = 1000 it is off by about 1.5e-5
    )


def uniform_grad_ratio(fn: Callable[[int], float]) -> None:
    """Check ``fn(K)``: the ratio of the two gradient norms at a uniform prediction over K classes.

    The ratio ‖∂ℓ_MSE/∂z‖ / ‖∂ℓ_CE/∂z‖ for one example with all logits equal (p = 1/K).

    >>> uniform_grad_ratio(lambda k: 1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ uniform_grad_ratio(3): expected 0.6666666666666666, got 1.0. Hint: ...
    """
    compare(
        "uniform_grad_ratio",
        fn,
        None,
        [(2,), (3,), (10,), (100,), (1000,)],
        hint="at p = 1/K the softmax Jacobian is simple: see how it acts on e = p − t (what is pᵀe there?), "
        "then compare the two gradients as vectors.",
        tol=1e-6,
    )


def logit_square_grad(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(z, y)``: the gradient of the squared error on the logits, ``Σ_k (z_k − onehot_k)²`` averaged over
    the batch, with respect to the logits.

    >>> logit_square_grad(lambda z, y: z)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ logit_square_grad([[0.8870365023612976, -1.5519664287567139, 0.153940126299..., [0, 1, 2, 3, 0, 1]): expected [[-0.037654499212900795, -0.5173221429189045, 0.051313375..., got [[0.8870365023612976, -1.5519664287567139, 0.153940126299.... Hint: ...
    """
    compare(
        "logit_square_grad",
        fn,
        None,
        _cases(),
        hint="no softmax in the way: differentiate (z_k - t_k)² and remember the batch mean.",
        tol=1e-5,
    )
