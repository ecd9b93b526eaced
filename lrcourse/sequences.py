"""Offline sequence tasks (the adding problem, windowed sums) and a small recurrent regressor.

The adding problem (Hochreiter and Schmidhuber 1997): each example is a sequence of
``length`` steps with two channels. Channel 0 holds numbers drawn uniformly from
``[0, 1]``; channel 1 is 0 everywhere except at two marked steps, one in each half of the
sequence. The target is the sum of the two marked numbers. Predicting the constant 1
gives a mean squared error of ``Var(u1 + u2) = 2/12 ≈ 0.167`` (:data:`BASELINE_MSE`); a
network beats it only if it carries information across the whole sequence, which is
what makes the gradient a long product of Jacobians.
"""

from __future__ import annotations

import torch
from torch import nn

from .data import Data
from .profiles import device as default_device

#: The mean squared error of always predicting 1 (the mean of the target).
BASELINE_MSE = 1.0 / 6.0


def adding_problem(n: int, length: int, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` adding-problem sequences of ``length`` steps: inputs ``(n, length, 2)``, targets ``(n,)``.

    Used in: no chapter.

    >>> x, y = adding_problem(4, 10, generator=torch.Generator().manual_seed(0))
    >>> x.shape, y.shape, x[:, :, 1].sum(1).tolist()
    (torch.Size([4, 10, 2]), torch.Size([4]), [2.0, 2.0, 2.0, 2.0])
    """
    if n < 1 or length < 2:
        raise ValueError(f"the adding problem needs n >= 1 and length >= 2, got n={n}, length={length}.")
    values = torch.rand(n, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    marks = torch.zeros(n, length)
    rows = torch.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return torch.stack([values, marks], -1), y


def adding(
    n_train: int = 1000,
    n_test: int = 500,
    length: int = 30,
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> Data:
    """The adding problem as a :class:`~lrcourse.data.Data` for :func:`lrcourse.fit` (float targets).

    Used in: chapter 11.

    Train with ``loss=torch.nn.functional.mse_loss``; ``evaluate`` then reports NaN accuracy.

    >>> d = adding(8, 4, length=6)
    >>> d.input_shape, d.y_train.dtype
    ((6, 2), torch.float32)
    """
    g = torch.Generator().manual_seed(seed)
    x, y = adding_problem(n_train + n_test, length, generator=g)
    return _split(f"adding{length}", x, y, n_train, device)


def windowed_sums(
    n_train: int = 2000,
    n_test: int = 500,
    length: int = 50,
    window: int = 5,
    *,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> Data:
    """A sequence-to-sequence task with a short dependency: the sum of the last ``window`` inputs at every step.

    Used in: chapter 11.

    Inputs ``(N, length, 1)`` are uniform in ``[-1, 1]``; the target ``(N, length)`` at step
    ``t`` is ``x[t - window + 1] + … + x[t]`` (fewer terms for ``t < window - 1``). The
    dependency is ``window`` steps long, but a loss on every output still sends the gradient
    back through all ``length`` steps. Predicting 0 gives a mean squared error of about
    ``window / 3``.

    >>> d = windowed_sums(3, 2, length=6, window=2)
    >>> d.input_shape, d.y_train.shape
    ((6, 1), torch.Size([3, 6]))
    >>> bool(torch.allclose(d.y_train[:, 1:], d.x_train[:, 1:, 0] + d.x_train[:, :-1, 0]))
    True
    """
    if n_train < 1 or n_test < 1 or length < 1 or window < 1:
        raise ValueError(
            f"windowed_sums needs n_train, n_test, length and window >= 1, got {n_train}, {n_test}, {length}, {window}."
        )
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n_train + n_test, length, generator=g) * 2 - 1
    c = nn.functional.pad(x, (window, 0)).cumsum(1)  # c[:, window + t] = x_0 + ... + x_t
    y = c[:, window:] - c[:, :-window]
    return _split(f"sums{length}", x.unsqueeze(-1), y, n_train, device)


def _split(name: str, x: torch.Tensor, y: torch.Tensor, n_train: int, device: torch.device | str | None) -> Data:
    """The first ``n_train`` examples for training, the rest for testing, on ``device`` (default: the profile's)."""
    dev = device if device is not None else default_device()
    return Data(name, x[:n_train].to(dev), y[:n_train].to(dev), x[n_train:].to(dev), y[n_train:].to(dev), 1)


class RecurrentRegressor(nn.Module):
    """A one-layer RNN or LSTM that reads a sequence ``(N, T, features)`` and predicts one number per sequence.

    Used in: chapter 11.

    ``cell="rnn"`` is the plain ``tanh`` recurrence ``h_t = tanh(W x_t + U h_{t-1} + b)``
    whose gradient through time is a product of ``T`` Jacobians; ``cell="lstm"`` is
    :class:`torch.nn.LSTM`. The prediction is a linear read-out of the last hidden state.

    >>> m = RecurrentRegressor(2, hidden=8, cell="lstm")
    >>> m(torch.zeros(3, 5, 2)).shape
    torch.Size([3])
    """

    def __init__(self, in_features: int = 2, hidden: int = 32, *, cell: str = "rnn") -> None:
        super().__init__()
        cells = {"rnn": nn.RNN, "lstm": nn.LSTM}
        if cell not in cells:
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}.")
        self.cell = cell
        self.rnn = cells[cell](in_features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)


def rnn_jacobian_norms(model: RecurrentRegressor, x: torch.Tensor) -> torch.Tensor:
    """``‖∂h_T / ∂h_t‖`` (spectral norm, averaged over the batch) for every step ``t`` of a plain RNN.

    Used in: chapter 11.

    The gradient that reaches step ``t`` is multiplied by this product of Jacobians
    ``∏_{s>t} diag(1 − h_s²) U``; it grows or shrinks roughly geometrically in ``T − t``.

    >>> _ = torch.manual_seed(0)
    >>> norms = rnn_jacobian_norms(RecurrentRegressor(2, 4), torch.rand(2, 6, 2))
    >>> norms.shape, round(norms[-1].item(), 6)
    (torch.Size([6]), 1.0)
    """
    if model.cell != "rnn":
        raise ValueError("rnn_jacobian_norms needs cell='rnn' (a plain tanh RNN).")
    u = model.rnn.weight_hh_l0.detach()
    with torch.no_grad():
        hs, _ = model.rnn(x)  # (N, T, H)
    n, t, h = hs.shape
    jac = torch.eye(h).expand(n, h, h).clone()
    norms = [torch.linalg.matrix_norm(jac, ord=2).mean()]
    for s in range(t - 1, 0, -1):  # J_s = ∂h_s/∂h_{s-1} = diag(1 - h_s²) U
        step = (1 - hs[:, s] ** 2).unsqueeze(-1) * u
        jac = jac @ step
        norms.append(torch.linalg.matrix_norm(jac, ord=2).mean())
    return torch.stack(norms[::-1])
