"""The notebook that gets graded: the student's code cells, the instructor's check cells.

A submission may have lost, moved or edited any cell. :func:`restore` rebuilds what runs:

1. the instructor's set-up cell (the chapter's first code cell) first, so the imports exist
   even when the student deleted it;
2. the student's code cells in the student's order, outputs and widget state dropped, and
   every top-level call to ``lrcourse.check.*`` taken out (the grader owns those calls);
3. each exercise's check cells, copied from the solution chapter, right after the student's
   last cell that defines a name the check uses (cells the student added count; the
   chapter's own cells after the check do not), else after the cell with the id of the
   answer cell, else at the end, where a missing name fails with one clear line.
"""

from __future__ import annotations

import ast
import builtins
import copy
from dataclasses import dataclass, field

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from lrcourse.assign import Exercise, check_calls, make_student

_BUILTINS = set(dir(builtins)) | {"lrcourse", "check"}
# Run before each restored check: the checkers afresh from disk, so that a notebook that
# reassigned lrcourse.check.compare (or a checker) is graded by the real one.
FRESH_CHECKERS = (
    "import sys as _lrcourse_sys\n"
    "for _lrcourse_m in [m for m in _lrcourse_sys.modules if m.split('.')[:2] == ['lrcourse', 'check']]:\n"
    "    del _lrcourse_sys.modules[_lrcourse_m]\n"
    "import lrcourse.check  # noqa: E402\n"
)


@dataclass
class Step:
    """One cell to run: ``kind`` is ``setup``, ``student`` (``cell``: its 1-based number) or ``check``."""

    kind: str
    source: str
    cell: int = 0
    exercise: int = 0


@dataclass
class Plan:
    """What :func:`restore` decided: the steps to run and the notes for the student."""

    steps: list[Step]
    notes: list[str] = field(default_factory=list)


def chapter_exercises(solution: NotebookNode) -> list[Exercise]:
    """The exercises of a solution chapter (answer and check cells as indices into it)."""
    return make_student(solution)[1]


def _defined(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def used_names(source: str) -> set[str]:
    """Names a cell reads, builtins and ``lrcourse``/``check`` left out.

    >>> sorted(used_names("lrcourse.check.gd_step(gd_step, lr=rate)"))
    ['gd_step', 'rate']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - _BUILTINS


def strip_check_calls(source: str) -> str:
    """``source`` without its top-level ``lrcourse.check.*(...)`` / ``check.*(...)`` statements.

    >>> strip_check_calls("x = 1\\nlrcourse.check.value('x', x, 1, hint='')\\nprint(x)")
    'x = 1\\nprint(x)'
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines()
    drop: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.Expr) and check_calls(ast.get_source_segment(source, node) or ""):
            drop.update(range(node.lineno - 1, (node.end_lineno or node.lineno)))
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _src(cell: NotebookNode) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _cell_id(cell: NotebookNode) -> str | None:
    return cell.get("id") or cell.get("metadata", {}).get("id")


def restore(solution: NotebookNode, exercises: list[Exercise], submission: NotebookNode) -> Plan:
    """The steps to run for ``submission`` of the chapter ``solution``."""
    notes: list[str] = []
    code = [c for c in solution.cells if c.cell_type == "code"]
    setup = code[0].source if code else ""
    check_sources = {solution.cells[k].source for ex in exercises for k in ex.check_cells}
    student: list[Step] = []
    origin: list[int] = []  # where each student cell sits in the solution (-1: a cell the student added)
    where = {_cell_id(c): k for k, c in enumerate(solution.cells) if _cell_id(c)}
    numbered = [c for c in submission.cells if c.cell_type == "code"]
    had_outputs = any(c.get("outputs") for c in numbered) or "widgets" in submission.get("metadata", {})
    for number, cell in enumerate(numbered, 1):
        src = _src(cell)
        if src == setup or src in check_sources or not src.strip():
            continue
        stripped = strip_check_calls(src)
        if stripped.strip():
            student.append(Step("student", stripped, cell=number))
            origin.append(where.get(_cell_id(cell), -1))
    if had_outputs:
        notes.append("the notebook was saved with outputs or widget state; they were cleared before running it.")
    ids = {_cell_id(c): n for n, c in enumerate(numbered, 1) if _cell_id(c)}
    defines = [(s, _defined(s.source)) for s in student]
    after: dict[int, list[Step]] = {}  # position in `student` (or -1: the end) -> checks to run after it
    for ex in exercises:
        for k in ex.check_cells:
            src = solution.cells[k].source
            wanted = used_names(src)
            # the last cell that defines what the check uses, leaving out the chapter's later cells
            spot = max((i for i, (_, names) in enumerate(defines) if names & wanted and origin[i] < k), default=None)
            if spot is None and ex.cells and _cell_id(solution.cells[ex.cells[-1]]) in ids:
                number = ids[_cell_id(solution.cells[ex.cells[-1]])]
                spot = next((i for i, s in enumerate(student) if s.cell == number), None)
            after.setdefault(-1 if spot is None else spot, []).append(
                Step("check", FRESH_CHECKERS + src, exercise=ex.number)
            )
            if src not in {_src(c) for c in numbered}:
                notes.append(
                    f"exercise {ex.number}: its check cell was deleted or edited; the instructor's check ran instead."
                )
    steps = [Step("setup", setup)]
    for i, step in enumerate(student):
        steps.append(step)
        steps.extend(after.get(i, []))
    steps.extend(after.get(-1, []))
    return Plan(steps, notes)


def as_notebook(plan: Plan, like: NotebookNode) -> NotebookNode:
    """The plan as a notebook (the solution's metadata, kernel included), for nbclient to run."""
    nb = copy.deepcopy(like)
    nb.metadata.pop("widgets", None)
    nb.cells = [new_code_cell(step.source) for step in plan.steps]
    return nb
