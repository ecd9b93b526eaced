"""lrcourse-grade: a hostile class graded to an exact table; the checkers' grading mode.

The class (tests/grading/hostile_class.py) is ten submissions of a tiny chapter, each broken
in one way; grading it costs ten kernel starts (about 30 s on two idle cores). The rest are
unit tests that start no kernel.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import lrcourse.check as check
from lrcourse.grade import cli, library, recorder, restore
from tests.grading import hostile_class

ROOT = Path(__file__).resolve().parent.parent


# --- the hostile class, graded once --------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("class")
    book = hostile_class.write_book(tmp)
    subs = hostile_class.write_class(tmp)
    out = tmp / "graded"
    args = [str(subs), "--book", str(book), "--out", str(out), "--hidden", str(hostile_class.HIDDEN)]
    args += ["--jobs", "2", "--timeout", "120", "--cell-timeout", "4"]
    assert cli.main(args) == 0
    return out


def test_the_class_gets_the_expected_table(graded: Path) -> None:
    with open(graded / "grades.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["student", "chapter", "exercise", "points", "max_points"]
    got: dict[str, list[tuple[int, float, float]]] = {}
    for r in table:
        assert r["chapter"] == "1"
        got.setdefault(r["student"], []).append((int(r["exercise"]), float(r["points"]), float(r["max_points"])))
    assert got == hostile_class.EXPECTED


@pytest.mark.parametrize(
    ("student", "words"),
    [
        ("alice", ["5.00 / 5 points", "right on 6 of 6 cases (2 of 2 hidden)"]),
        ("bob", ["right on 4 of 6 cases (1 of 2 hidden)", "expected -6, got -3", "not implemented yet"]),
        ("carol", ["raised SyntaxError", "`step` is not defined"]),
        ("dave", ["raised ZeroDivisionError", "the cells after it ran"]),
        ("erin", ["ran past the time limit", "the check ran past the time limit"]),
        ("frank", ["exercise 1: its check cell was deleted or edited", "exercise 3: its check cell was deleted"]),
        ("grace", ["`double` is not defined: was it renamed"]),
        ("heidi", ["saved with outputs or widget state", "5.00 / 5 points"]),
        ("ivan", ["the library's own `lrcourse.schedules.cosine`"]),
        ("judy", ["not a readable notebook"]),
    ],
)
def test_each_problem_is_one_clear_line(graded: Path, student: str, words: list[str]) -> None:
    text = (graded / "feedback" / f"{student}.md").read_text()
    for w in words:
        assert w in text, f"{student}: {w!r} not in\n{text}"
    assert "Traceback" not in text and "\x1b[" not in text


def test_console_script_refuses_with_one_line(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "lrcourse-grade"
    assert script.exists(), "reinstall the package (pip install -e .) to get the lrcourse-grade script"
    run = subprocess.run([str(script), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and "no submissions" in run.stderr


# --- grading mode of the checkers ----------------------------------------------------------------


def test_self_study_is_unchanged(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(recorder.LOG, raising=False)
    check.compare("double", lambda x: 2 * x, lambda x: x + x, [(1,), (2,)], hint="x + x")
    assert capsys.readouterr().out == "✅ double: right on all 2 cases.\n"
    with pytest.raises(check.CheckFailed, match=r"^❌ double\(3\): expected 6, got 9\. Hint: x \+ x$"):
        check.compare("double", lambda x: 3 * x, lambda x: x + x, [(0,), (3,), (4,)], hint="x + x")
    with pytest.raises(check.CheckFailed, match="no answer yet"):
        check.value("v", ..., 1, hint="h")


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_grading_mode_counts_every_case_and_raises_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "log.jsonl"
    hidden = tmp_path / "hidden.py"
    hidden.write_text('CASES = {"double": [(5,), {"args": (-1,), "expected": -2}, {"args": (0,), "expected": 1}]}\n')
    monkeypatch.setenv(recorder.LOG, str(log))
    monkeypatch.setenv(recorder.HIDDEN, str(hidden))

    def half_right(x: int) -> int:
        if x == 4:
            raise ValueError("boom")
        return 2 * x if x > 0 else x

    check.compare("double", half_right, lambda x: x + x, [(0,), (3,), (4,), (-2,)], hint="x + x")
    check.value("v", 1.5, 1.5, hint="h")
    check.value("w", ..., 1.5, hint="h")
    check.compare("double", lambda x: (_ for _ in ()).throw(NotImplementedError("Ex 1")), lambda x: x, [(1,)], hint="h")
    a, v, w, ni = _records(log)
    assert (a["passed"], a["total"], a["hidden_passed"], a["hidden_total"]) == (2, 4, 1, 3)  # hidden (0,): wrong expected
    assert any("raised ValueError: boom" in m for m in a["messages"])
    assert (v["passed"], v["total"], w["passed"]) == (1, 1, 0) and "no answer yet" in w["messages"][0]
    assert ni["passed"] == 0 and ni["total"] == 1 and "not implemented yet (Ex 1)" in ni["messages"][0]


def test_a_checkers_own_check_counts_as_a_failed_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(recorder.LOG, str(tmp_path / "log.jsonl"))
    monkeypatch.delenv(recorder.HIDDEN, raising=False)
    import torch

    def in_place(w: torch.Tensor, g: torch.Tensor, lr: float) -> torch.Tensor:
        return w.sub_(lr * g)

    check.gd_step(in_place)  # gd_step's wrapper raises CheckFailed: one failed case each, no exception
    (r,) = _records(tmp_path / "log.jsonl")
    assert r["passed"] < r["total"] and "in place" in r["messages"][0]


# --- restoring the check cells, spotting the library, finding submissions ---------------------------


def test_checks_follow_the_definition_wherever_it_moved() -> None:
    sol = hostile_class.chapter()
    exercises = restore.chapter_exercises(sol)
    student = nbformat.reads(nbformat.writes(sol), as_version=4)
    student.cells = [student.cells[12], new_code_cell("lrcourse.check.compare('double', double, abs, [(1,)], hint='')"),
                     student.cells[1], new_code_cell("x = 1\nlrcourse.check.value('rate', 0.2, 0.2, hint='')"),
                     student.cells[3]]
    plan = restore.restore(sol, exercises, student)
    kinds = [(s.kind, s.cell or s.exercise) for s in plan.steps]
    assert kinds == [("setup", 0), ("student", 1), ("check", 4), ("student", 4), ("student", 5), ("check", 1),
                     ("check", 2), ("check", 3)]
    assert plan.steps[3].source == "x = 1" and "abs" not in "".join(s.source for s in plan.steps)
    assert plan.steps[5].source == restore.FRESH_CHECKERS + sol.cells[4].source


def test_library_calls_the_solution_does_not_make() -> None:
    names = library.aliases(["from lrcourse import schedules as s", "import lrcourse.check.basics as b", "import lrcourse"])
    used = library.library_names("def f(t):\n    return s.cosine(1, 10)(t) + b._steps(1) + lrcourse.train.fit", names)
    assert library.foreign(used, {"lrcourse.train.fit"}) == ["lrcourse.check.basics._steps", "lrcourse.schedules.cosine"]


def test_layout_and_roster(tmp_path: Path) -> None:
    for rel in ["alice/01_a.ipynb", "bob/Copy of 03_c.ipynb", "bob/.ipynb_checkpoints/01_a-checkpoint.ipynb", "x.ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    found = cli.find(tmp_path, "{student}/*{chapter}_*.ipynb")
    assert [(s.student, s.chapter) for s in found] == [("alice", 1), ("bob", 3)]
    (tmp_path / "roster.csv").write_text("student,chapter,path\ncarol,2,x.ipynb\n")
    (sub,) = cli.find(tmp_path, roster=tmp_path / "roster.csv")
    assert (sub.student, sub.chapter, sub.path) == ("carol", 2, tmp_path / "x.ipynb")
    with pytest.raises(cli.GradeError, match="must name both"):
        cli.layout_regex("{student}.ipynb")


def test_points_default_from_the_chapter_and_overridden() -> None:
    nb = new_notebook(cells=[new_markdown_cell("```{exercise} A\n:label: ex-a\n:class: dropdown points-3\n```"),
                             new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    (ex,) = restore.chapter_exercises(nb)
    assert ex.points == 3.0
    assert cli.parse_points(["1.1=5"], None) == {"1.1": 5.0}


def test_a_later_cell_of_the_chapter_that_reuses_a_name_does_not_move_the_check() -> None:
    sol = hostile_class.chapter()
    sol.cells.append(new_code_cell("double = None  # a later part of the chapter reuses the name"))
    exercises = restore.chapter_exercises(sol)
    student = nbformat.reads(nbformat.writes(sol), as_version=4)
    student.cells.insert(4, new_code_cell("def double(x):\n    return x + x  # added by the student"))
    plan = restore.restore(sol, exercises, student)
    first = next(i for i, s in enumerate(plan.steps) if s.kind == "check")
    assert "added by the student" in plan.steps[first - 1].source
    assert plan.steps[-1].source.startswith("double = None")


def test_notebook_limit_and_dead_kernel_are_one_line_each() -> None:
    from lrcourse.grade.score import score

    sol = hostile_class.chapter()
    exercises = restore.chapter_exercises(sol)
    plan = restore.restore(sol, exercises, nbformat.reads(nbformat.writes(sol), as_version=4))
    for why, words in (("deadline", "used up its 60 s limit"), ("dead", "the kernel died")):
        result = {"exercises": [{"number": e.number, "passed": 0, "total": 0, "hidden_passed": 0, "hidden_total": 0,
                                 "ran": False, "messages": []} for e in exercises], "notes": []}
        ran = {"steps": [{"ran": i < 3, "error": None, "records": []} for i in range(len(plan.steps))],
               "stopped": {"at": 3, "why": why}}
        score(plan, result, ran, 60)
        assert len(result["notes"]) == 1 and words in result["notes"][0], result["notes"]
        assert [r["ran"] for r in result["exercises"]] == [True, False, False, False]


def test_hidden_cases_get_their_expected_values_from_the_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hidden_cases.py").write_text('CASES = {"best_constant_lr": [([2.0, 8.0],)], "double": [(4,)]}\n')
    js = cli.hidden_file(tmp_path)  # the instructor's cases and the course's, as lrcourse-assign --instructor writes
    assert js == tmp_path / "hidden_cases.json"
    cases = recorder.read_cases(js)
    assert cases["best_constant_lr"][-1] == {"args": ([2.0, 8.0],), "expected": 0.2}
    assert cases["double"] == [{"args": (4,)}]  # no reference: the check cell's own computes it
    n = len(cases["best_constant_lr"])
    assert n > 1 and all("expected" in c for c in cases["gd_step"])
    monkeypatch.setenv(recorder.LOG, str(tmp_path / "log.jsonl"))
    monkeypatch.setenv(recorder.HIDDEN, str(js))
    check.best_constant_lr(lambda h: 2 / (min(h) + max(h)))
    check.best_constant_lr(lambda h: 1 / max(h))
    right, wrong = _records(tmp_path / "log.jsonl")
    assert (right["hidden_passed"], right["hidden_total"], right["passed"], right["total"]) == (n, n, 4, 4)
    assert wrong["hidden_passed"] < n and wrong["hidden_total"] == n
