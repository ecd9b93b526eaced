"""Datasets as tensors on the device, batches as index slices, augmentation in batches.

Every loader returns a :class:`Data`: four tensors already on the device plus a little
metadata. There is no ``DataLoader`` of Python objects: an epoch is a random permutation
of the row indices cut into slices (:func:`batches`), and image augmentation runs on a
whole batch at once on the device (:func:`augment`).

Offline sets (``mnist1d``, ``spirals``, ``blobs``) serve the ``ci`` and ``cpu`` profiles;
``fashion_mnist`` and ``cifar10`` come through ``torchvision.datasets`` and download on
Colab. Files are cached under ``LRCOURSE_DATA`` (default ``~/.cache/lrcourse``).
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from .profiles import device as default_device
from .runtime import atomic_save, check_count

DATASETS = ("mnist1d", "spirals", "blobs", "fashion_mnist", "cifar10")


class DataError(RuntimeError):
    """A dataset that cannot be had: the message says why, and what to do instead.

    Used in: chapter 15.
    """


@dataclass
class Data:
    """Train and test tensors on one device.

    Used in: chapters 12, 14.

    >>> d = load("blobs", n_train=64, n_test=32)
    >>> d.x_train.shape, d.num_classes
    (torch.Size([64, 2]), 3)
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    synthetic: bool = False  # files written by tests/synthetic.py: the real format, made-up pictures

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. ``(40,)`` for MNIST-1D or ``(3, 32, 32)`` for CIFAR-10."""
        return tuple(self.x_train.shape[1:])

    @property
    def is_image(self) -> bool:
        """True for ``(C, H, W)`` examples."""
        return self.x_train.dim() == 4

    def to(self, device: torch.device | str) -> Data:
        """The same data on another device."""
        return Data(
            self.name,
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_test.to(device),
            self.y_test.to(device),
            self.num_classes,
            self.synthetic,
        )

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> Data:
        """The first ``n_train`` training and ``n_test`` test examples."""
        return Data(
            self.name,
            self.x_train[:n_train],
            self.y_train[:n_train],
            self.x_test[:n_test],
            self.y_test[:n_test],
            self.num_classes,
            self.synthetic,
        )

    def __repr__(self) -> str:
        return (
            f"Data({self.name!r}, train={tuple(self.x_train.shape)}, "
            f"test={tuple(self.x_test.shape)}, classes={self.num_classes}, "
            f"device={self.x_train.device}{', SYNTHETIC' if self.synthetic else ''})"
        )


def data_dir() -> Path:
    """Where downloaded and generated files live: ``LRCOURSE_DATA`` or ``~/.cache/lrcourse``.

    Used in: no chapter.

    >>> data_dir().name != ""
    True
    """
    return Path(os.environ.get("LRCOURSE_DATA", Path.home() / ".cache" / "lrcourse")).expanduser()


def load(
    name: str,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    download: bool = True,
    root: str | Path | None = None,
) -> Data:
    """Load a dataset by name onto the device, standardized, as a :class:`Data`.

    Used in: chapters 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15.

    ``n_train``/``n_test`` cut the set to its first examples (the ``ci`` profile uses
    this). ``seed`` fixes the synthetic and generated sets.

    >>> d = load("spirals", n_train=100, n_test=50)
    >>> d.num_classes, d.input_shape
    (2, (2,))
    """
    loaders: dict[str, Callable[..., Data]] = {
        "mnist1d": _mnist1d,
        "spirals": _spirals,
        "blobs": _blobs,
        "fashion_mnist": _fashion_mnist,
        "cifar10": _cifar10,
    }
    key = name.lower().replace("-", "_")
    if key not in loaders:
        raise DataError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    root = Path(root) if root is not None else data_dir()
    kwargs = dict(seed=seed, root=root, download=download)
    if key in ("spirals", "blobs"):
        kwargs["n"] = (n_train or 1000) + (n_test or 1000)
        kwargs["n_train"] = n_train or 1000
    data = loaders[key](**kwargs)
    data = data.subset(n_train, n_test)
    return data.to(device if device is not None else default_device())


# --------------------------------------------------------------------------- offline sets


def _split(name: str, x: torch.Tensor, y: torch.Tensor, n_train: int, k: int) -> Data:
    return Data(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:], k)


def _spirals(n: int, n_train: int, seed: int, **_: object) -> Data:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    r = torch.rand(n, generator=g) * 3 * math.pi / 2 + 0.3
    theta = r + y * math.pi
    x = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1)
    x = x + 0.15 * torch.randn(n, 2, generator=g)
    return _split("spirals", x / x.std(), y, n_train, 2)


def _blobs(n: int, n_train: int, seed: int, **_: object) -> Data:
    g = torch.Generator().manual_seed(seed)
    centers = torch.tensor([[0.0, 2.0], [-1.8, -1.0], [1.8, -1.0]])
    y = torch.randint(0, 3, (n,), generator=g)
    x = centers[y] + 0.8 * torch.randn(n, 2, generator=g)
    return _split("blobs", x, y, n_train, 3)


def _mnist1d(seed: int, root: Path, **_: object) -> Data:
    """MNIST-1D (Greydanus 2020), generated locally by the ``mnist1d`` package and cached."""
    path = root / f"mnist1d_seed{seed}.pt"
    if path.exists():
        blob = torch.load(path, weights_only=True)
    else:
        try:
            from mnist1d.data import get_dataset_args, make_dataset
        except ImportError:
            raise DataError(
                "MNIST-1D needs the 'mnist1d' package: pip install mnist1d."
            ) from None
        args = get_dataset_args()
        args.seed = seed
        raw = make_dataset(args)
        blob = {
            "x": torch.as_tensor(raw["x"], dtype=torch.float32),
            "y": torch.as_tensor(raw["y"], dtype=torch.long),
            "x_test": torch.as_tensor(raw["x_test"], dtype=torch.float32),
            "y_test": torch.as_tensor(raw["y_test"], dtype=torch.long),
        }
        atomic_save(blob, path)
    mean, std = blob["x"].mean(), blob["x"].std()
    return Data(
        "mnist1d",
        (blob["x"] - mean) / std,
        blob["y"],
        (blob["x_test"] - mean) / std,
        blob["y_test"],
        10,
    )


# --------------------------------------------------------------------------- torchvision sets

_MEANS = {"fashion_mnist": (0.2860,), "cifar10": (0.4914, 0.4822, 0.4465)}
_STDS = {"fashion_mnist": (0.3530,), "cifar10": (0.2470, 0.2435, 0.2616)}


def _torchvision(name: str, cls_name: str, root: Path, download: bool) -> Data:
    try:
        import torchvision.datasets as tvd
    except ImportError:
        raise DataError(f"{name} needs torchvision: pip install torchvision.") from None
    cls = getattr(tvd, cls_name)
    where = root / name
    synthetic = (where / SYNTHETIC_MARK).exists()
    if synthetic:
        warnings.warn(
            f"{name}: synthetic files under {where} (the real format, made-up pictures, for tests): "
            "what a model learns from them says nothing about the real set.",
            stacklevel=3,
        )
    try:
        with _accept_synthetic(synthetic):
            train = cls(str(where), train=True, download=download)
            test = cls(str(where), train=False, download=download)
    except Exception as err:  # urllib, HTTP, checksum and "not found" errors alike
        how = "could not be downloaded" if download else "are not on disk"
        raise DataError(
            f"The {name} files {how} under {where} ({type(err).__name__}); put them there, "
            f"or use the offline set with LRCOURSE_PROFILE=ci or load('mnist1d')."
        ) from None
    xs = []
    for ds in (train, test):
        x = torch.as_tensor(ds.data)
        x = x.unsqueeze(1) if x.dim() == 3 and name == "fashion_mnist" else x.permute(0, 3, 1, 2)
        xs.append(x.float().div_(255))
    mean = torch.tensor(_MEANS[name]).view(1, -1, 1, 1)
    std = torch.tensor(_STDS[name]).view(1, -1, 1, 1)
    ys = [torch.as_tensor(ds.targets, dtype=torch.long) for ds in (train, test)]
    return Data(name, (xs[0] - mean) / std, ys[0], (xs[1] - mean) / std, ys[1], 10, synthetic)


SYNTHETIC_MARK = "SYNTHETIC"  # a file beside a dataset's files that says they are test files


@contextlib.contextmanager
def _accept_synthetic(synthetic: bool) -> Iterator[None]:
    """Let torchvision read synthetic CIFAR-10 files, which cannot match the real files' MD5 sums."""
    if not synthetic:
        yield
        return
    import torchvision.datasets.cifar as cifar

    real = cifar.check_integrity
    cifar.check_integrity = lambda *args, **kwargs: True
    try:
        yield
    finally:
        cifar.check_integrity = real


def _fashion_mnist(root: Path, download: bool, **_: object) -> Data:
    return _torchvision("fashion_mnist", "FashionMNIST", root, download)


def _cifar10(root: Path, download: bool, **_: object) -> Data:
    return _torchvision("cifar10", "CIFAR10", root, download)


# --------------------------------------------------------------------------- batches


def batches(
    n: int,
    batch_size: int,
    *,
    shuffle: bool = True,
    drop_last: bool = False,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Iterator[torch.Tensor]:
    """Index slices covering ``range(n)`` once, shuffled by default.

    Used in: chapters 3, 10.

    >>> [b.tolist() for b in batches(5, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    order = (
        torch.randperm(n, generator=generator).to(device or "cpu")
        if shuffle
        else torch.arange(n, device=device)
    )
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many slices :func:`batches` yields: the optimizer steps of one epoch over ``n`` examples.

    Used in: chapters 8, 12, 15.

    >>> num_batches(5, 2), num_batches(5, 2, drop_last=True)
    (3, 2)
    """
    check_count("batch_size", batch_size)
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def augment(
    x: torch.Tensor,
    *,
    pad: int = 4,
    flip: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random crop after zero padding, and random horizontal flip, for a whole batch at once.

    Used in: no chapter.

    Works on ``(N, C, H, W)`` images on any device; returns a new tensor of the same shape.

    >>> augment(torch.zeros(8, 3, 32, 32)).shape
    torch.Size([8, 3, 32, 32])
    """
    if x.dim() != 4:
        raise ValueError(f"augment expects (N, C, H, W) images, got shape {tuple(x.shape)}.")
    n, _, h, w = x.shape
    dev = x.device
    if pad > 0:
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
        rows = (dy.view(n, 1) + torch.arange(h, device=dev)).view(n, 1, h, 1)
        cols = (dx.view(n, 1) + torch.arange(w, device=dev)).view(n, 1, 1, w)
        idx_n = torch.arange(n, device=dev).view(n, 1, 1, 1)
        idx_c = torch.arange(x.shape[1], device=dev).view(1, -1, 1, 1)
        x = padded[idx_n, idx_c, rows, cols]
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(dev).view(n, 1, 1, 1)
        x = torch.where(mask, x.flip(3), x)
    return x
