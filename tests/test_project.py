"""The project's own contracts: requirements agree, chapter pairs agree, notebooks are output-free."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_packages_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["book"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_name(r) for r in pip_block if not r.startswith("-e")}
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"


def test_constraints_pin_the_tested_torch() -> None:
    pins = dict(
        line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line
    )
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_there_are_chapters() -> None:
    assert CHAPTERS, "book/ has no chapters"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_pair_agrees_and_is_output_free(md: Path) -> None:
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{md.name} has no paired {ipynb.name}: run `make sync`"
    text = jupytext.read(md)
    paired = nbformat.read(ipynb, as_version=4)
    pairs = list(zip(text.cells, paired.cells, strict=False))
    assert len(text.cells) == len(paired.cells), f"{md.name}: cell counts differ; run `make sync`"
    for i, (a, b) in enumerate(pairs):
        assert a.cell_type == b.cell_type and a.source == b.source, (
            f"{md.name}: cell {i} differs from {ipynb.name}; run `make sync`"
        )
    for cell in paired.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{ipynb.name} carries outputs"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_is_in_the_toc(md: Path) -> None:
    toc = (ROOT / "_toc.yml").read_text()
    assert f"book/{md.stem}" in toc, f"{md.name} is missing from _toc.yml"


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


# --------------------------------------------------------------------------- Colab: one release, a GPU runtime


def _release() -> str:
    """What every chapter installs: the repository of _config.yml at the tag of pyproject's version."""
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return f"lrcourse @ git+{url}@v{version}"


def test_the_package_version_is_pyprojects() -> None:
    import lrcourse

    assert lrcourse.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_installs_the_books_release(md: Path) -> None:
    nb = jupytext.read(md)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    assert f'RELEASE = "{_release()}"' in setup.source, (
        f"{md.name}: its setup cell must install {_release()!r} (_config.yml's repository.url, pyproject's version)"
    )
    assert md.read_text().count("git+") == 1, f"{md.name} names another git source besides the release"
    assert "hide-input" in setup.metadata.get("tags", []), f"{md.name}: tag the setup cell hide-input"
    assert "--upgrade" not in setup.source and " -U " not in setup.source
    assert "importlib.invalidate_caches()" in setup.source, f"{md.name}: after pip install, invalidate import caches"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_every_notebook_asks_colab_for_a_gpu(md: Path) -> None:
    for meta, where in ((jupytext.read(md).metadata, md.name),
                        (nbformat.read(md.with_suffix(".ipynb"), as_version=4).metadata, md.with_suffix(".ipynb").name)):
        assert meta.get("accelerator") == "GPU", f"{where}: no Colab accelerator: GPU"
        assert meta.get("colab", {}).get("gpuType") == "T4", f"{where}: no Colab gpuType: T4"


def test_jupytext_keeps_colabs_metadata_in_the_markdown() -> None:
    from jupytext.config import load_jupytext_config

    config = load_jupytext_config(str(CHAPTERS[0]))
    text = jupytext.writes(jupytext.read(CHAPTERS[0]), fmt="md:myst", config=config)
    front = yaml.safe_load(text.split("---")[1])
    assert front["accelerator"] == "GPU" and front["colab"]["gpuType"] == "T4"


def test_packaging_declares_license_and_the_assign_tools_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"  # an SPDX expression, not the deprecated table
    assert "nbformat" in {_name(r) for r in project["dependencies"]}  # lrcourse-assign reads notebooks
    widgets = next(r for r in project["dependencies"] if _name(r) == "ipywidgets")
    assert widgets.replace(" ", "").split("#")[0] == "ipywidgets>=7.6"  # Colab's 7.x satisfies it
