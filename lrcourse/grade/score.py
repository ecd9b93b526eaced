"""From a submission to points: prepare what runs, then score what came back.

:func:`prepare` reads the submission and the solution chapter, restores the check cells
(:mod:`lrcourse.grade.restore`) and flags answers that call the library's own version
(:mod:`lrcourse.grade.library`); :func:`score` turns the runner's per-cell report into each
exercise's cases passed and the lines of the student's feedback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from lrcourse.grade import library
from lrcourse.grade.restore import Plan, _defined, chapter_exercises, restore, used_names

TIMEOUT = "CellTimeoutError"  # the runner's name for a cell it stopped


def _blank(ex: Any) -> dict[str, Any]:
    return {"number": ex.number, "title": ex.title, "label": ex.label, "points": ex.points, "passed": 0, "total": 0,
            "hidden_passed": 0, "hidden_total": 0, "ran": False, "error": None, "messages": []}


def prepare(submission: Path, solution: Path) -> tuple[Plan | None, dict[str, Any]]:
    """The plan to run (None when nothing can run) and the result so far."""
    sol = nbformat.read(solution, as_version=4)
    exercises = chapter_exercises(sol)
    result: dict[str, Any] = {"exercises": [_blank(ex) for ex in exercises], "notes": []}
    try:
        nb = nbformat.read(submission, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no cells")
    except Exception as err:  # not JSON, not a notebook, ...
        result["notes"].append(f"the file is not a readable notebook ({type(err).__name__}: {str(err)[:120]}); nothing ran.")
        return None, result
    plan = restore(sol, exercises, nb)
    result["notes"].extend(plan.notes)
    names = library.aliases([s.source for s in plan.steps])
    solution_names = library.aliases([c.source for c in sol.cells if c.cell_type == "code"])
    for ex, res in zip(exercises, result["exercises"], strict=True):
        wanted: set[str] = set().union(*(used_names(sol.cells[k].source) for k in ex.check_cells))
        allowed: set[str] = set().union(*(library.library_names(sol.cells[k].source, solution_names) for k in ex.cells))
        answers = [s for s in plan.steps if s.kind == "student" and _defined(s.source) & wanted]
        extra = sorted({n for s in answers for n in library.foreign(library.library_names(s.source, names), allowed)})
        if extra:
            res["library"] = extra
    return plan, result


def _cell_problem(number: int, ename: str, evalue: str) -> str:
    if ename in (TIMEOUT, "KeyboardInterrupt"):
        return f"cell {number} ran past the time limit and was stopped ({evalue}; an endless loop?); the cells after it ran."
    if ename == "NotImplementedError" and evalue.startswith("Exercise"):
        return f"cell {number}: {evalue} is not done yet (it raises NotImplementedError)."
    return f"cell {number} raised {ename}: {evalue}" + ("" if ename == "SyntaxError" else "; the cells after it ran.")


def add_check(res: dict[str, Any], records: list[dict[str, Any]], error: list[str] | None) -> None:
    """Add one check cell's records (and its error, if any) to an exercise's result.

    >>> res = {"passed": 0, "total": 0, "hidden_passed": 0, "hidden_total": 0, "messages": []}
    >>> add_check(res, [], ["NameError", "name 'gd_step' is not defined"]); res["error"]
    '`gd_step` is not defined: was it renamed, or its cell deleted or broken?'
    """
    res["ran"] = True
    for r in records:
        for key in ("passed", "total", "hidden_passed", "hidden_total"):
            res[key] += r[key]
        res["messages"].extend(m for m in r["messages"] if m not in res["messages"])
    if error is None:
        if not records:  # a checker that does not go through compare/value: it passed
            res["passed"] += 1
            res["total"] += 1
        return
    res["total"] += 1
    ename, evalue = error
    if ename in (TIMEOUT, "KeyboardInterrupt"):
        res["error"] = f"the check ran past the time limit and was stopped ({evalue}; an endless loop?)."
    elif ename == "NameError":
        missing = evalue.split("'")[1] if evalue.count("'") >= 2 else evalue
        res["error"] = f"`{missing}` is not defined: was it renamed, or its cell deleted or broken?"
    else:
        res["error"] = f"{ename}: {evalue}"


def score(plan: Plan, result: dict[str, Any], ran: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Fill ``result`` from the runner's report ``ran`` on ``plan``."""
    by_number = {res["number"]: res for res in result["exercises"]}
    for step, got in zip(plan.steps, ran["steps"], strict=True):
        if not got["ran"]:
            continue
        if step.kind == "student" and got["error"]:
            result["notes"].append(_cell_problem(step.cell, *got["error"]))
        elif step.kind == "setup" and got["error"]:
            result["notes"].append(f"the chapter's set-up cell failed ({': '.join(got['error'])}); grading went on.")
        elif step.kind == "check":
            add_check(by_number[step.exercise], got["records"], got["error"])
    stopped = ran.get("stopped")
    if stopped:
        at = plan.steps[stopped["at"]] if stopped["at"] < len(plan.steps) else None
        where = f"cell {at.cell}" if at is not None and at.kind == "student" else "the next check"
        if stopped["why"] == "deadline":
            result["notes"].append(f"the notebook used up its {timeout:g} s limit; {where} and everything after it did not run.")
        elif stopped["why"] == "dead":
            result["notes"].append(f"the kernel died (os._exit, a crash or out of memory) before {where}; nothing after it ran.")
        else:
            result["notes"].append(f"running the notebook failed ({stopped['why']}).")
    return result
