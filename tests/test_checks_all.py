"""Exercises and checkers, over every chapter and every checker that exists.

- every chapter has at least three exercises, each a ``{exercise}`` directive followed by a
  code cell with its solution between the markers (collapsed in the HTML book), then a check
  cell calling ``lrcourse.check.<name>``, a name that exists;
- every checker exported by a module of ``lrcourse.check`` (its ``__all__``) is called by the
  tests ``tests/test_check_*.py`` at least once with a right answer (it returns) and at least
  once with a wrong one (it raises ``CheckFailed``): we run those tests with every checker
  wrapped, and count.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import lrcourse.check as check

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("[0-9]*.ipynb"))
CHECK_TESTS = sorted(p for p in (ROOT / "tests").glob("test_check_*.py"))
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
EXERCISE = re.compile(r"^\s*(`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>.*)$", re.MULTILINE)
LABEL = re.compile(r"^\s*:label:\s*(?P<label>\S+)", re.MULTILINE)


def checkers() -> dict[str, tuple[str, object]]:
    """name -> (module, function) for every name in the ``__all__`` of a checker module."""
    found: dict[str, tuple[str, object]] = {}
    for info in pkgutil.iter_modules(check.__path__):
        module = importlib.import_module(f"lrcourse.check.{info.name}")
        for name in getattr(module, "__all__", []):
            found[f"{info.name}.{name}"] = (info.name, getattr(module, name))
    return found


CHECKERS = checkers()
NAMES = {key.split(".", 1)[1] for key in CHECKERS}


def test_there_are_checkers_and_their_names_are_unique() -> None:
    assert CHECKERS, "lrcourse.check exports no checkers"
    short = [key.split(".", 1)[1] for key in CHECKERS]
    twice = sorted({n for n in short if short.count(n) > 1})
    assert not twice, f"checker names exported by more than one module (lrcourse.check.<name> is ambiguous): {twice}"
    missing = sorted(
        {module for key, (module, _) in CHECKERS.items() if getattr(check, key.split(".", 1)[1], None) is None}
    )
    lines = "; ".join(f"from .{module} import *  # noqa: E402,F403" for module in missing)
    assert not missing, (
        f"lrcourse.check.<name> does not find these modules' checkers; add to check/__init__.py: {lines}"
    )


def exercises(nb: nbformat.NotebookNode) -> list[dict]:
    """The exercises of a chapter in order: title, label, solution cell index, check cell index."""
    found: list[dict] = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for m in EXERCISE.finditer(cell.source):
                label = LABEL.search(cell.source, m.end())
                found.append(
                    {
                        "title": m.group("title").strip(),
                        "label": label and label.group("label"),
                        "at": i,
                        "solution": None,
                        "check": None,
                    }
                )
        elif cell.cell_type == "code" and found:
            ex = found[-1]
            is_solution = BEGIN in cell.source or "solution" in cell.metadata.get("tags", [])
            if ex["solution"] is None and is_solution:
                ex["solution"] = i
            elif ex["solution"] is not None and ex["check"] is None and not is_solution:
                ex["check"] = i
    return found


def chapter_id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("chapter", CHAPTERS, ids=chapter_id)
def test_chapter_has_three_exercises_each_with_solution_and_check(chapter: Path) -> None:
    nb = nbformat.read(chapter, as_version=4)
    found = exercises(nb)
    assert len(found) >= 3, f"{chapter.name}: {len(found)} exercises, at least 3 wanted"
    number = chapter.name.split("_", 1)[0]
    labels = [ex["label"] for ex in found]
    assert len(set(labels)) == len(labels), f"{chapter.name}: repeated exercise labels {labels}"
    for ex in found:
        where = f"{chapter.name}, exercise {ex['title']!r}"
        assert ex["title"], f"{where}: give the exercise a title"
        assert ex["label"] and ex["label"].startswith(f"ex-{number}-"), f"{where}: label it ex-{number}-<slug>"
        assert ex["solution"] is not None, f"{where}: no code cell with {BEGIN!r} after it"
        solution = nb.cells[ex["solution"]]
        tags = solution.metadata.get("tags", [])
        assert BEGIN in solution.source and END in solution.source, f"{where}: mark the solution with {BEGIN!r}/{END!r}"
        assert {"hide-input", "hide-cell"} & set(tags), (
            f"{where}: tag the solution cell hide-input (collapsed in the book)"
        )
        assert ex["check"] is not None, f"{where}: no check cell after the solution"
        between = nb.cells[ex["solution"] + 1 : ex["check"]]
        assert all(c.cell_type == "markdown" for c in between), f"{where}: the check cell must follow the solution"
        calls = check_calls(nb.cells[ex["check"]].source)
        assert calls, f"{where}: the check cell must call lrcourse.check.<name>(...)"
        unknown = [c for c in calls if c not in NAMES]
        assert not unknown, f"{where}: lrcourse.check has no checker {unknown}; it has {sorted(NAMES)}"


def check_calls(source: str) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (
                isinstance(owner, ast.Attribute)
                and owner.attr == "check"
                and isinstance(owner.value, ast.Name)
                and owner.value.id == "lrcourse"
            ):
                names.append(node.func.attr)
    return names


def _stub(*args: object, **kwargs: object) -> object:
    raise NotImplementedError("Exercise 1: a stub, as lrcourse-assign writes it")


@pytest.mark.parametrize("key", sorted(CHECKERS))
def test_checker_answers_a_stub_with_check_failed(key: str) -> None:
    """A student who runs a check before answering gets CheckFailed, not a crash.

    lrcourse-assign leaves ``...`` for a value and a function raising NotImplementedError for
    a function; a checker must turn the one it takes into a CheckFailed that says why.
    """
    _, fn = CHECKERS[key]
    params = inspect.signature(fn).parameters.values()
    required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    crashes = []
    for stub in (..., _stub):
        try:
            fn(*[stub] * max(1, len(required)))
        except check.CheckFailed as failed:
            assert str(failed).strip(), f"{key}: say what is wrong"
            return
        except Exception as err:  # noqa: BLE001 - what a student would see instead
            crashes.append(f"{type(err).__name__}: {err}")
        else:
            crashes.append("it passed")
    pytest.fail(f"lrcourse.check.{key} given ... or a NotImplementedError stub: {crashes}")


# Runs the checker tests with every checker wrapped, and writes which outcomes each one had.
_RECORDER = r"""
import functools, importlib, json, pkgutil, sys
import pytest
import lrcourse.check as check

seen, depth = {}, [0]

def wrap(key, fn):
    @functools.wraps(fn)
    def recorded(*args, **kwargs):
        depth[0] += 1
        try:
            result = fn(*args, **kwargs)
        except check.CheckFailed:
            if depth[0] == 1:
                seen.setdefault(key, set()).add("wrong")
            raise
        finally:
            depth[0] -= 1
        if depth[0] == 0:
            seen.setdefault(key, set()).add("right")
        return result
    return recorded

for info in pkgutil.iter_modules(check.__path__):
    module = importlib.import_module("lrcourse.check." + info.name)
    for name in getattr(module, "__all__", []):
        wrapped = wrap(info.name + "." + name, getattr(module, name))
        setattr(module, name, wrapped)
        if getattr(check, name, None) is not None:
            setattr(check, name, wrapped)

code = pytest.main(["-q", "-p", "no:cacheprovider", "-o", "addopts=", "-p", "no:randomly", *sys.argv[2:]])
json.dump({"exit": int(code), "seen": {k: sorted(v) for k, v in seen.items()}}, open(sys.argv[1], "w"))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict:
    assert CHECK_TESTS, "no tests/test_check_*.py: each checker module needs its tests"
    out = tmp_path_factory.mktemp("checker_coverage") / "seen.json"
    run = subprocess.run(
        [sys.executable, "-c", _RECORDER, str(out), *map(str, CHECK_TESTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["exit"] == 0, "the checker tests fail:\n" + run.stdout[-3000:]
    return result["seen"]


@pytest.mark.parametrize("key", sorted(CHECKERS))
def test_every_checker_tested_with_a_right_and_a_wrong_answer(key: str, outcomes: dict) -> None:
    seen = set(outcomes.get(key, []))
    files = ", ".join(p.name for p in CHECK_TESTS)
    assert "right" in seen, f"no test ({files}) calls lrcourse.check.{key} with a right answer"
    assert "wrong" in seen, f"no test ({files}) calls lrcourse.check.{key} with a wrong answer (expecting CheckFailed)"
