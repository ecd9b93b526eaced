"""Small files in the real formats of FashionMNIST (IDX) and CIFAR-10 (pickled batches), written offline.

``tests/test_data.py`` loads them through ``torchvision.datasets``; ``tests/test_smoke.py`` and
``benchmarks/gpu/check.py`` run the chapters' ``gpu`` code path on them where no network is.
The pixels are a fixed random picture per class plus noise: the formats are true, and a model
can learn the classes, so learning-rate range tests and training curves behave. Each
set gets a ``SYNTHETIC`` file beside it: ``lrcourse.load`` then warns, marks the ``Data`` as
synthetic, and lets torchvision accept CIFAR-10 files whose MD5 sums cannot be the real ones.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np

from lrcourse.data import SYNTHETIC_MARK


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an IDX file (the format of MNIST and FashionMNIST): magic, dims, big-endian uint8 data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _pictures(rng: np.random.Generator, labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Bytes: the class's fixed random picture (the same for every call) plus noise."""
    templates = np.random.default_rng(12345).integers(0, 256, (10, *shape))
    noise = rng.integers(0, 256, (len(labels), *shape))
    return (0.6 * templates[labels] + 0.4 * noise).astype(np.uint8)


def fake_fashion_mnist(root: Path, n_train: int = 12, n_test: int = 6) -> None:
    """FashionMNIST's four IDX files under ``root/fashion_mnist`` (where ``lrcourse.load`` looks)."""
    raw = Path(root) / "fashion_mnist" / "FashionMNIST" / "raw"
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        write_idx(raw / f"{prefix}-images-idx3-ubyte", _pictures(rng, labels, (28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    (Path(root) / "fashion_mnist" / SYNTHETIC_MARK).write_text("written by tests/synthetic.py\n")


def fake_cifar10(root: Path, per_batch: int = 4) -> None:
    """CIFAR-10's five training batches, test batch and meta file under ``root/cifar10``."""
    folder = Path(root) / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        labels = rng.integers(0, 10, per_batch)
        batch = {
            "data": _pictures(rng, labels, (3072,)),
            "labels": [int(v) for v in labels],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    (Path(root) / "cifar10" / SYNTHETIC_MARK).write_text("written by tests/synthetic.py\n")
