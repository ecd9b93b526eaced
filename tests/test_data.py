"""Data: offline sets, batches, augmentation, and the torchvision path on tiny files in the real formats."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch
import torchvision

import lrcourse
from lrcourse.data import DataError, augment, batches, load, num_batches

from .synthetic import fake_cifar10, fake_fashion_mnist


def test_unknown_dataset_is_one_clear_sentence() -> None:
    with pytest.raises(DataError) as err:
        load("imagenet")
    assert "\n" not in str(err.value) and "mnist1d" in str(err.value)


def test_offline_sets_have_the_right_shapes() -> None:
    d = load("spirals", n_train=300, n_test=100, device="cpu")
    assert d.x_train.shape == (300, 2) and d.x_test.shape == (100, 2) and set(d.y_train.tolist()) == {0, 1}
    b = load("blobs", n_train=50, n_test=20, device="cpu")
    assert b.num_classes == 3 and b.y_test.shape == (20,)


def test_mnist1d_is_generated_cached_and_standardized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRCOURSE_DATA", str(tmp_path))
    d = load("mnist1d", device="cpu")
    assert d.x_train.shape == (4000, 40) and d.x_test.shape == (1000, 40) and d.num_classes == 10
    assert abs(d.x_train.mean().item()) < 1e-4 and abs(d.x_train.std().item() - 1) < 1e-3
    assert (tmp_path / "mnist1d_seed0.pt").exists()
    again = load("mnist1d", device="cpu", n_train=100)
    assert torch.equal(again.x_train, d.x_train[:100])


def test_batches_cover_every_index_once() -> None:
    g = torch.Generator().manual_seed(0)
    seen = torch.cat(list(batches(103, 10, generator=g)))
    assert sorted(seen.tolist()) == list(range(103))
    assert num_batches(103, 10) == 11 == len(list(batches(103, 10)))
    assert all(len(b) == 10 for b in batches(103, 10, drop_last=True))
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(10, 0))


def test_augment_crops_and_flips_in_batches() -> None:
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    assert torch.equal(augment(x, pad=0, flip=False), x)
    g = torch.Generator().manual_seed(0)
    flipped = augment(x, pad=0, flip=True, generator=g)
    for i in range(2):  # each image is either itself or its mirror image
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2))
    cropped = augment(x, pad=2, flip=False, generator=g)
    assert cropped.shape == x.shape
    # every crop is a window of the zero-padded image: its non-zero values keep their row order
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = padded[i, 0].unfold(0, 4, 1).unfold(1, 4, 1).reshape(-1, 4, 4)
        assert any(torch.equal(w, cropped[i, 0]) for w in windows)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        augment(torch.zeros(3, 4))


# --------------------------------------------------------------------------- torchvision formats


def test_fashion_mnist_loads_from_idx_files(tmp_path: Path) -> None:
    fake_fashion_mnist(tmp_path)
    with pytest.warns(UserWarning, match="synthetic files"):
        d = load("fashion_mnist", root=tmp_path, download=False, device="cpu")
    assert d.x_train.shape == (12, 1, 28, 28) and d.x_test.shape == (6, 1, 28, 28)
    assert d.y_train.tolist() == [i % 10 for i in range(12)] and d.is_image
    assert d.x_train.dtype == torch.float32 and d.x_train.abs().max() < 4  # standardized, not raw bytes


def test_cifar10_loads_from_pickled_batches(tmp_path: Path) -> None:
    fake_cifar10(tmp_path)
    # torchvision checks the real files' MD5 sums; the SYNTHETIC mark lets load() accept ours, and says so
    with pytest.warns(UserWarning, match="synthetic files"):
        d = load("cifar10", root=tmp_path, download=False, device="cpu")
    assert d.synthetic and d.to("cpu").subset(4).synthetic and "SYNTHETIC" in repr(d)
    assert torchvision.datasets.cifar.check_integrity.__name__ == "check_integrity"  # put back
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_test.shape == (4, 3, 32, 32)
    assert d.input_shape == (3, 32, 32) and d.num_classes == 10
    model = lrcourse.models.resnet(width=4)
    assert model(d.x_train[:2]).shape == (2, 10)


def test_missing_files_without_download_say_where_and_what_instead(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load("fashion_mnist", root=tmp_path, download=False)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "fashion_mnist") in message and "mnist1d" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_failed_download_is_one_sentence_not_a_urllib_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(self: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", no_network)
    with pytest.raises(DataError, match="could not be downloaded") as err:
        load("cifar10", root=tmp_path, download=True)
    assert "URLError" in str(err.value) and err.value.__suppress_context__
