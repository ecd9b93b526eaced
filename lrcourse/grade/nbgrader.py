"""nbgrader's cell metadata for ``lrcourse-assign --nbgrader``.

nbgrader (schema version 3) knows a cell by ``metadata.nbgrader``: an *autograded answer*
(``solution: true``) holds the student's code, an *autograder test* (``grade: true`` with
``points``, ``locked: true``) checks it. ``--nbgrader`` writes nbgrader's **source** version:
the solutions stay between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (nbgrader's own
markers), and ``nbgrader generate_assignment`` replaces them for the release. Each exercise's
answer cells become autograded answers and its check cells autograder tests worth the
exercise's points (split evenly when it has several check cells).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nbformat import NotebookNode

if TYPE_CHECKING:
    from lrcourse.assign import Exercise

SCHEMA_VERSION = 3


def grade_id(exercise: Exercise) -> str:
    """nbgrader's id of an exercise (letters, digits, ``-`` and ``_`` only).

    >>> from lrcourse.assign import Exercise
    >>> grade_id(Exercise(2, "A title", "ex-01.best lr")), grade_id(Exercise(3, "B"))
    ('ex-01-best-lr', 'exercise-3')
    """
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", exercise.label).strip("-")
    return base or f"exercise-{exercise.number}"


def metadata(*, solution: bool, grade: bool, grade_id: str, points: float | None = None) -> dict:
    """One cell's ``nbgrader`` metadata.

    >>> metadata(solution=False, grade=True, grade_id="ex-1-check", points=2)
    {'grade': True, 'grade_id': 'ex-1-check', 'locked': True, 'schema_version': 3, 'solution': False, 'task': False, 'points': 2}
    """
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": grade and not solution,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta


def mark(cells: Sequence[NotebookNode], sources: Sequence[int], exercises: Sequence[Exercise]) -> None:
    """Write nbgrader metadata on ``cells`` (``sources[i]``: cell i's index in the solution notebook).

    >>> from nbformat.v4 import new_code_cell
    >>> from lrcourse.assign import Exercise
    >>> cells = [new_code_cell("def f(): ..."), new_code_cell("check.f(f)")]
    >>> mark(cells, [4, 5], [Exercise(1, "F", "ex-f", ["f"], points=2, cells=[4], check_cells=[5])])
    >>> cells[0].metadata.nbgrader["solution"], cells[1].metadata.nbgrader["points"]
    (True, 2.0)
    """
    roles: dict[int, dict] = {}
    for ex in exercises:
        base = grade_id(ex)
        for k, index in enumerate(ex.cells):
            roles[index] = metadata(solution=True, grade=False, grade_id=f"{base}-answer" + (f"-{k + 1}" if k else ""))
        for k, index in enumerate(ex.check_cells):
            points = round(ex.points / len(ex.check_cells), 6)
            name = f"{base}-check" + (f"-{k + 1}" if k else "")
            roles[index] = metadata(solution=False, grade=True, grade_id=name, points=points)
    for cell, index in zip(cells, sources, strict=True):
        if index in roles:
            cell.metadata["nbgrader"] = roles[index]
