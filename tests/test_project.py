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
