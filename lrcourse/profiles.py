"""Profiles: one knob that scales every chapter from a CI runner to a Colab GPU.

``LRCOURSE_PROFILE`` is one of ``ci`` (two CPU cores, offline, the whole book in
minutes), ``cpu`` (a laptop, a chapter in a few minutes) or ``gpu`` (Colab, full
scale). Unset, it is ``gpu`` where CUDA is available and ``cpu`` otherwise.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch

PROFILES = ("ci", "cpu", "gpu")


class ProfileError(ValueError):
    """Raised for an unknown profile name.

    Used in: no chapter.
    """


class Config(dict):
    """A dict whose keys read as attributes: ``cfg.epochs`` is ``cfg["epochs"]``.

    Used in: no chapter.

    >>> Config(epochs=3).epochs
    3
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"this profile's config has no {name!r}; it has {sorted(self)}"
            ) from None


def profile() -> str:
    """The active profile: ``LRCOURSE_PROFILE`` if set, else ``gpu`` with CUDA, else ``cpu``.

    Used in: chapters 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15.

    >>> profile() in PROFILES
    True
    """
    name = os.environ.get("LRCOURSE_PROFILE", "").strip().lower()
    if not name:
        return "gpu" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise ProfileError(
            f"LRCOURSE_PROFILE={name!r} is not a profile; use one of {', '.join(PROFILES)}."
        )
    return name


def choose(
    *,
    ci: dict | None = None,
    cpu: dict | None = None,
    gpu: dict | None = None,
    smoke: dict | None = None,
    **common: Any,
) -> Config:
    """The settings of the active profile, on top of the ``common`` ones.

    Used in: chapters 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15.

    A profile left out falls back to the next smaller one (``gpu`` to ``cpu`` to ``ci``),
    so ``choose(epochs=5, gpu=dict(epochs=30))`` gives 5 epochs on a CPU.

    Seeds are shifted by ``LRCOURSE_SEED_OFFSET`` (default 0): the key ``seed``, and every
    key named ``seeds`` or ending in ``_seeds``, so that a whole chapter can be re-run on
    seeds the book never uses (``LRCOURSE_SEED_OFFSET=100 make ...``).

    ``smoke`` shrinks the ``gpu`` settings to a tiny size (an epoch, a seed, a few hundred
    examples) with the same models, datasets and branches. It applies only when
    ``LRCOURSE_SMOKE=1`` and ``LRCOURSE_PROFILE=gpu``: then CI runs every chapter's GPU code
    path on its CPU in seconds, without asserting claims (``tests/test_smoke.py``). Under
    ``LRCOURSE_SMOKE=1`` a chapter with a ``gpu`` layer but no ``smoke`` layer is refused, so
    no chapter can leave its GPU path untested by omission.

    >>> from unittest import mock  # (the environment is put back after each block)
    >>> with mock.patch.dict(os.environ, LRCOURSE_PROFILE="ci", LRCOURSE_SMOKE="0"):
    ...     choose(epochs=5, gpu=dict(epochs=30), smoke=dict(epochs=1)).epochs
    5
    >>> with mock.patch.dict(os.environ, LRCOURSE_PROFILE="ci", LRCOURSE_SEED_OFFSET="100"):
    ...     cfg = choose(seeds=[0, 1], seed=2, smith_seeds=[0])
    >>> cfg.seeds, cfg.seed, cfg.smith_seeds
    ([100, 101], 102, [100])
    """
    name = profile()
    layers = {"ci": [ci], "cpu": [ci, cpu], "gpu": [ci, cpu, gpu]}[name]
    if smoke_run():
        if name != "gpu":
            raise ProfileError(
                f"LRCOURSE_SMOKE=1 runs the gpu code path at a tiny size, but the profile is {name!r}; "
                "set LRCOURSE_PROFILE=gpu as well."
            )
        if gpu is not None and smoke is None:
            raise ProfileError(
                "This chapter's choose(...) has a gpu layer but no smoke=dict(...) layer, so LRCOURSE_SMOKE=1 "
                "cannot run its gpu code path small; add one (an epoch, a seed, a few hundred examples)."
            )
        layers.append(smoke)
    cfg = Config(common)
    for layer in layers:
        cfg.update(layer or {})
    offset = seed_offset()
    for key, value in cfg.items():
        if key == "seed":
            cfg[key] = value + offset
        elif key == "seeds" or key.endswith("_seeds"):
            cfg[key] = [s + offset for s in value]
    cfg["profile"] = name
    return cfg


def smoke_run() -> bool:
    """True when ``LRCOURSE_SMOKE`` is set to ``1`` (or ``true``/``yes``): the tiny run of the gpu code path.

    Used in: no chapter.

    >>> smoke_run() if "LRCOURSE_SMOKE" not in os.environ else False
    False
    """
    return os.environ.get("LRCOURSE_SMOKE", "").strip().lower() in ("1", "true", "yes")


def seed_offset() -> int:
    """``LRCOURSE_SEED_OFFSET`` as an integer (0 when unset): added to every seed ``choose`` gives.

    Used in: no chapter.

    >>> seed_offset() if "LRCOURSE_SEED_OFFSET" not in os.environ else 0
    0
    """
    raw = os.environ.get("LRCOURSE_SEED_OFFSET", "").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        raise ProfileError(
            f"LRCOURSE_SEED_OFFSET={raw!r} is not an integer; set it to e.g. 100 or unset it."
        ) from None


def colab_without_gpu() -> bool:
    """True on a Colab runtime without a GPU (and no profile chosen by hand).

    Used in: no chapter.

    >>> colab_without_gpu()  # not on Colab here
    False
    """
    import sys

    return "google.colab" in sys.modules and not torch.cuda.is_available() and not os.environ.get("LRCOURSE_PROFILE")


def colab_note() -> None:
    """On Colab without a GPU, say in one sentence how to get one; the chapter goes on at the ``cpu`` profile.

    Used in: no chapter.

    >>> colab_note()  # prints nothing here
    """
    if colab_without_gpu():
        print(
            "This Colab runtime has no GPU, so the chapter runs at the smaller cpu profile; for full scale choose "
            "Runtime > Change runtime type > T4 GPU, then Runtime > Run all."
        )


def device() -> torch.device:
    """The device the chapters compute on: CUDA under the ``gpu`` profile when present, else CPU.

    Used in: chapters 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15.

    >>> device().type in ("cpu", "cuda")
    True
    """
    if profile() == "gpu" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch, and make CPU runs bitwise repeatable.

    Used in: chapters 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15.

    Returns a ``torch.Generator`` seeded with ``seed`` (on the CPU) for code that
    wants its own stream of randomness.

    >>> a = (seed_everything(0), torch.rand(2))[1]
    >>> b = (seed_everything(0), torch.rand(2))[1]
    >>> bool((a == b).all())
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    # CPU kernels are deterministic for a fixed thread count. On CUDA, lrcourse.train.fit turns
    # cuDNN's autotuner on for image training (lrcourse.runtime.tune_for), which picks kernels
    # by timing them, and atomics reorder sums: repeatability is promised only on the CPU.
    return torch.Generator().manual_seed(seed)


colab_note()  # on Colab without a GPU, the setup cell's `import lrcourse` prints how to switch
