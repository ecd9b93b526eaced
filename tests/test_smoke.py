"""Every chapter's ``gpu`` code path, run on the CPU at a tiny size: ``LRCOURSE_PROFILE=gpu LRCOURSE_SMOKE=1``.

Each chapter's ``lrcourse.choose(...)`` cell has a ``smoke=dict(...)`` layer that shrinks its
``gpu`` settings (an epoch, a seed, a few hundred examples) while keeping its models, datasets
and branches; :func:`lrcourse.profiles.choose` refuses a ``gpu`` layer without one, so no chapter
can leave its GPU path out. FashionMNIST and CIFAR-10 are small files in the real formats
(``tests/synthetic.py``), so ``torchvision``'s loading code runs too. Cells tagged ``claims`` are
left out: on random pixels and one epoch there is nothing to claim (the ``ci`` run under nbval
asserts every claim). The chapter runs from its ``.md`` (the source of truth) in a fresh kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from lrcourse.data import data_dir

from .synthetic import fake_cifar10, fake_fashion_mnist

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))
SMOKE_ENV = {"LRCOURSE_PROFILE": "gpu", "LRCOURSE_SMOKE": "1", "MPLBACKEND": "Agg"}


def synthetic_data_dir(root: Path) -> Path:
    """A data directory with synthetic FashionMNIST (500 + 250) and CIFAR-10 (200 + 40) files, and MNIST-1D."""
    fake_fashion_mnist(root, n_train=500, n_test=250)
    fake_cifar10(root, per_batch=40)
    for cached in data_dir().glob("mnist1d_seed*.pt"):  # generated locally; reuse it rather than regenerate
        target = root / cached.name
        if not target.exists():
            target.symlink_to(cached)
    return root


def smoke_notebook(md: Path) -> nbformat.NotebookNode:
    """The chapter without its cells tagged ``claims``."""
    nb = jupytext.read(md)
    nb.cells = [c for c in nb.cells if "claims" not in c.get("metadata", {}).get("tags", [])]
    return nb


def run_notebook(nb: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "book")}}
    )
    return client.execute()


@pytest.fixture(scope="module")
def smoke_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_data_dir(tmp_path_factory.mktemp("smoke_data"))


def test_every_chapter_with_a_gpu_layer_has_a_smoke_layer() -> None:
    for md in CHAPTERS:
        text = md.read_text()
        if "gpu=dict(" in text:
            assert "smoke=dict(" in text, f"{md.name}: its choose(...) has gpu=dict(...) but no smoke=dict(...)"


def test_every_claims_check_cell_is_tagged() -> None:
    for md in CHAPTERS:
        nb = jupytext.read(md)
        heading = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                        and re.search(r"^## Claims check", c.source, re.M)), None)
        assert heading is not None, f"{md.name} has no '## Claims check' section"
        code = next((c for c in nb.cells[heading:] if c.cell_type == "code"), None)
        assert code is not None and "claims" in code.metadata.get("tags", []), (
            f"{md.name}: the first code cell under 'Claims check' is not tagged claims"
        )


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_gpu_path_runs_small(md: Path, smoke_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**SMOKE_ENV, "LRCOURSE_DATA": str(smoke_data)}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("LRCOURSE_SEED_OFFSET", raising=False)
    run_notebook(smoke_notebook(md))  # its time is in pytest's --durations, not asserted
