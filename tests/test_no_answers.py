"""No exercise's answer can be read from what students install.

- The files the wheel ships (the packages ``lrcourse*`` that pyproject's ``packages.find`` finds,
  with their package data) hold no solution of any chapter: each solution (the code between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in ``book/*.md``) is compared, as a normalized
  AST (local names renamed by order of appearance, docstrings and comments gone, numbers as
  floats), with every function body, lambda and expression of the shipped sources.
- No shipped docstring calls a checker with a right answer (an example whose output says ✅).
- The references live in ``tests/references``, outside every shipped package, and the expected
  values the package stores (``lrcourse/check/expected/*.json``) are what they compute.

Both searches can fail: ``test_a_planted_solution_is_found`` plants a chapter's solution, renamed,
in a fake package, and a right-answer doctest, and sees each found.
"""

from __future__ import annotations

import ast
import builtins
import copy
import doctest
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import setuptools
import torch

import lrcourse.check as check
from lrcourse.grade.recorder import decode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "references"))
import make_expected  # noqa: E402

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MIN_NODES = 6  # smaller expressions (``w - lr * g``, ``2 * x``) are too common to mean anything
KEEP = set(dir(builtins)) | {"torch", "math", "F", "nn", "np", "functional"}
# Checker modules whose answers are still in the package (being moved to tests/references).
LEFT: set[str] = set()


# --- what the wheel ships ------------------------------------------------------------------------


def shipped(root: Path = ROOT) -> list[Path]:
    """The files of the wheel's packages: every ``.py`` and the package data pyproject names."""
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    find = config.get("packages", {}).get("find", {})
    packages = setuptools.find_packages(where=str(root), include=find.get("include", ["*"]),
                                        exclude=find.get("exclude", ()))
    data = config.get("package-data", {})
    files: list[Path] = []
    for package in packages:
        folder = root / package.replace(".", "/")
        files += sorted(folder.glob("*.py"))
        for pattern in data.get(package, []) + data.get("*", []):
            files += sorted(folder.glob(pattern))
    return files


# --- normalized ASTs -----------------------------------------------------------------------------


class _Normalize(ast.NodeTransformer):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        if name in KEEP:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self._rename(node.id), ctx=ast.Load()), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.arg(arg=self._rename(node.arg))

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return ast.Constant(value=float(node.value))
        return node


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[1:]
    return body


def _norm(nodes: list[ast.AST] | ast.AST) -> str:
    nodes = nodes if isinstance(nodes, list) else [nodes]
    norm = _Normalize()
    return "|".join(ast.dump(norm.visit(ast.fix_missing_locations(_copy(n))), annotate_fields=False) for n in nodes)


def _copy(node: ast.AST) -> ast.AST:
    return copy.deepcopy(node)


def _size(node: ast.AST) -> int:
    """Nodes that carry meaning: names, calls, constants, operations (not load/store markers, not operators)."""
    return sum(1 for n in ast.walk(node) if not isinstance(n, ast.expr_context | ast.operator | ast.cmpop
                                                                  | ast.unaryop | ast.boolop))


def fingerprints(tree: ast.AST) -> set[str]:
    """Normalized function bodies (several statements) and expressions (lambda bodies included) of a tree."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = _strip_docstring(node.body)
            if len(body) > 1:
                found.add(_norm(body))
        elif isinstance(node, ast.expr) and not isinstance(node, ast.Constant) and _size(node) >= MIN_NODES:
            found.add(_norm(node))
    return found


def solutions(book: Path = ROOT / "book") -> list[tuple[str, str]]:
    """(where, code) of every solution block of the chapters."""
    found = []
    for md in sorted(book.glob("[0-9]*.md")):
        text = md.read_text()
        for m in re.finditer(rf"^([ \t]*){re.escape(BEGIN)}\n(.*?)^[ \t]*{re.escape(END)}", text, re.M | re.S):
            line = text[: m.start()].count("\n") + 1
            found.append((f"{md.name}:{line}", textwrap.dedent(m.group(2))))
    return found


def answer_prints(code: str) -> set[str]:
    """What of a solution must not ship: its statements together, each function body, each expression."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    body = [s for s in tree.body if not isinstance(s, ast.Pass)]
    prints = set()
    if len(body) > 1:
        prints.add(_norm(body))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and len(_strip_docstring(node.body)) > 1:
            prints.add(_norm(_strip_docstring(node.body)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Return | ast.Assign | ast.AnnAssign) and node.value is not None:
            if _size(node.value) >= MIN_NODES:
                prints.add(_norm(node.value))
    return prints


def leaks(files: list[Path], book: Path = ROOT / "book") -> dict[str, list[str]]:
    """file -> the solutions (chapter:line) whose normalized code it contains."""
    shipped_prints = {}
    for path in files:
        if path.suffix == ".py":
            shipped_prints[path] = fingerprints(ast.parse(path.read_text()))
    out: dict[str, list[str]] = {}
    for where, code in solutions(book):
        prints = answer_prints(code)
        for path, have in shipped_prints.items():
            if prints & have:
                out.setdefault(str(path), []).append(where)
    return out


def right_answer_doctests(files: list[Path], names: set[str]) -> list[str]:
    """Doctest examples in ``files`` that call a checker in ``names`` and show it passing (✅)."""
    parser = doctest.DocTestParser()
    found = []
    for path in files:
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
                doc = ast.get_docstring(node)
                for ex in parser.get_examples(doc or ""):
                    called = {c.func.id for c in ast.walk(ast.parse(ex.source)) if isinstance(c, ast.Call)
                              and isinstance(c.func, ast.Name)}
                    if called & names and "✅" in ex.want:
                        found.append(f"{path}: {ex.source.strip()}")
    return found


CHECKER_NAMES = {name for module in make_expected.modules() + sorted({p.stem for p in (ROOT / "lrcourse/check").glob(
    "*.py")} - {"__init__"}) for name in getattr(__import__(f"lrcourse.check.{module}", fromlist=["x"]), "__all__", [])}


# --- the tests -----------------------------------------------------------------------------------


def _check_module(path: str) -> str | None:
    p = Path(path)
    return p.stem if p.parent == ROOT / "lrcourse" / "check" else None


def test_the_wheel_ships_the_stored_values_and_not_the_references() -> None:
    files = shipped()
    rel = {str(f.relative_to(ROOT)) for f in files}
    assert "lrcourse/check/__init__.py" in rel and "lrcourse/grade/cli.py" in rel
    assert not any(r.startswith("tests") for r in rel)
    for module in make_expected.modules():
        assert f"lrcourse/check/expected/{module}.json" in rel, f"pyproject ships no expected/{module}.json"
    # the source distribution too: setuptools adds tests/test*.py (right answers) unless MANIFEST.in prunes tests
    assert "prune tests" in (ROOT / "MANIFEST.in").read_text().splitlines()


def test_no_solution_ships() -> None:
    found = leaks(shipped())
    check_leaks = {p: w for p, w in found.items() if _check_module(p) is not None or "/grade/" in p or p.endswith("assign.py")}
    unexpected = {p: w for p, w in check_leaks.items() if _check_module(p) not in LEFT}
    assert not unexpected, f"solutions of the chapters in the package: {unexpected}"


def test_left_lists_exactly_the_modules_without_references() -> None:
    converted = set(make_expected.modules())
    assert not LEFT & converted, f"converted (tests/references has them): take them out of LEFT: {sorted(LEFT & converted)}"


def test_no_docstring_shows_a_right_answer() -> None:
    found = [f for f in right_answer_doctests(shipped(), CHECKER_NAMES)
             if not any(f"/check/{m}.py" in f for m in LEFT)]
    assert not found, "doctests that call a checker with a right answer:\n" + "\n".join(found)


def test_a_planted_solution_is_found(tmp_path: Path) -> None:
    where, code = next((w, c) for w, c in solutions() if w.startswith("01_") and "eigvalsh" in c)
    planted = "def helper(data):\n    '''Looks innocent.'''\n" + textwrap.indent(
        re.sub(r"\bx\b", "data", code), "    ") + "\n\ndef doc():\n    '''\n    >>> gd_step(lambda w, g, lr: w - lr * g)\n    ✅ gd_step: right on all 4 cases.\n    '''\n"
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "01_x.md").write_text(f"```{{code-cell}}\ndef f(x):\n    {BEGIN}\n{textwrap.indent(code, '    ')}    {END}\n```\n")
    pkg = tmp_path / "pkg.py"
    pkg.write_text(planted)
    assert leaks([pkg], tmp_path / "book") == {str(pkg): ["01_x.md:3"]}, where
    assert len(right_answer_doctests([pkg], {"gd_step"})) == 1
    pkg.write_text("def helper(data):\n    return data.sum()\n")  # and an innocent file is not
    assert leaks([pkg], tmp_path / "book") == {} and not right_answer_doctests([pkg], {"gd_step"})


def test_every_checker_module_has_references() -> None:
    modules = sorted(p.stem for p in (ROOT / "lrcourse/check").glob("*.py") if p.stem != "__init__")
    missing = sorted(set(modules) - set(make_expected.modules()) - LEFT)
    assert not missing, f"no tests/references/<module>.py for {missing}"


def test_checker_names_are_unique_across_modules() -> None:
    """``compare`` finds a checker's stored values by its name alone, so no two files may share one."""
    seen: dict[str, str] = {}
    for path in sorted((ROOT / "lrcourse/check/expected").glob("*.json")):
        for name in json.loads(path.read_text()):
            assert name not in seen, f"{name} is stored in both {seen[name]} and {path.stem}"
            seen[name] = path.stem
    assert seen and all(check._owner(name) == module for name, module in seen.items())


def _same(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and torch.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(b, int | float) and (a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
                                               or (math.isnan(a) and math.isnan(b)))
    return a == b


@pytest.mark.parametrize("module", make_expected.modules())
def test_stored_values_are_what_the_references_compute(module: str) -> None:
    stored = check._stored_file(module)
    computed = make_expected.expected(module)
    assert sorted(stored) == sorted(computed), f"expected/{module}.json: rerun tests/references/make_expected.py {module}"
    for name, values in computed.items():
        got = [decode(v) for v in stored[name]]
        bad = [k for k, (a, b) in enumerate(zip(values, got, strict=True)) if not _same(a, b)]
        assert not bad, f"{module}.{name}: stored cases {bad} differ; rerun tests/references/make_expected.py {module}"


@pytest.mark.parametrize("module", make_expected.modules())
def test_hidden_cases_run_on_the_references(module: str) -> None:
    ref = make_expected.references(module)
    for name, cases in getattr(ref, "HIDDEN", {}).items():
        assert name in ref.REFERENCES, f"{module}: hidden cases for {name}, which has no reference"
        for case in cases:
            ref.REFERENCES[name](*case)


def test_right_answers_pass_where_the_cpu_rounds_differently() -> None:
    """The stored expected values were computed on one CPU; a right answer must pass on every CPU.

    A public case drawn with ``torch.randn`` in float32 has other bits on another instruction set
    (PyTorch fills float32 normals on a vectorized path), so its stored value would reject a right
    answer there: the checkers draw in float64, whose bits do not depend on the CPU, and cast. The
    checkers' own tests (right answers included) must pass under PyTorch's scalar kernels too.
    """
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"}
    tests = sorted(str(p) for p in (ROOT / "tests").glob("test_check_*.py"))
    run = subprocess.run([sys.executable, "-m", "pytest", *tests, "-q", "-x", "-p", "no:cacheprovider"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
