"""ipywidgets front ends over the library's functions (no logic of their own)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from . import toys


def gd_quadratic(condition: float = 10.0, steps: int = 30, x0: tuple[float, float] = (-1.5, 1.0)):
    """A slider for the learning rate of gradient descent on a 2-D quadratic.

    Used in: chapter 1.

    Moves the iterates across the contours as the slider moves; the title says whether
    the chosen rate converges (``lr < 2/L``).

    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):  # outside Jupyter it prints a clear-line code
    ...     slider = gd_quadratic(condition=4.0)
    >>> type(slider).__name__
    'interactive'
    """
    import ipywidgets as w

    q = toys.quadratic_2d(condition)
    limit = q.max_stable_lr

    def draw(lr: float) -> None:
        path = toys.gradient_descent(q.grad, x0, lr, steps)
        fig, ax = plt.subplots(figsize=(5, 4))
        contours(q, ax)
        ax.plot(path[:, 0].clip(-3, 3), path[:, 1].clip(-3, 3), "o-", ms=3, color="#d62728")
        # at exactly 2/L the steepest direction flips sign forever: it neither shrinks nor grows
        verdict = "converges" if lr < limit else ("oscillates, neither converges nor diverges" if lr == limit else "diverges")
        ax.set_title(f"lr = {lr:.2f} (2/L = {limit:.2f}): {verdict}")
        plt.show()

    slider = w.FloatSlider(value=limit / 2, min=0.05, max=limit * 1.1, step=0.05, description="lr")
    return w.interactive(draw, lr=slider)


def contours(q: toys.Quadratic, ax: plt.Axes, lim: float = 2.0) -> None:
    """Draw the level sets of a 2-D quadratic on ``ax``.

    Used in: chapter 1.

    >>> contours(toys.quadratic_2d(4.0), plt.subplots()[1])
    """
    g = torch.linspace(-lim, lim, 101, dtype=torch.float64)
    xx, yy = torch.meshgrid(g, g, indexing="xy")
    zz = q.loss(torch.stack([xx, yy], -1))
    ax.contour(xx, yy, zz, levels=12, cmap="Greys", linewidths=0.8)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="$x_1$ (flat)", ylabel="$x_2$ (steep)")
    ax.set_aspect("equal")
