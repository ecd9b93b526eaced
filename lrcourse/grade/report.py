"""What ``lrcourse-grade`` writes: the rows of grades.csv and each student's feedback (Markdown)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import nbformat


@cache
def _exercises(path: Path) -> list[dict[str, Any]]:
    from lrcourse.grade.restore import chapter_exercises

    return [
        {"number": e.number, "title": e.title, "label": e.label, "points": e.points}
        for e in chapter_exercises(nbformat.read(path, as_version=4))
    ]


def max_points(chapter: int, ex: dict[str, Any], points: dict[str, float]) -> float:
    """An exercise's points: an override (``CH.EX`` or its label) or the chapter's default.

    >>> max_points(1, {"number": 2, "label": "ex-b", "points": 1.0}, {"1.2": 3.0})
    3.0
    """
    return points.get(f"{chapter}.{ex['number']}", points.get(ex.get("label") or "-", ex["points"]))


def fraction(res: dict[str, Any]) -> float:
    """The share of an exercise's cases passed (0 when it uses the library's own version or never ran).

    >>> fraction({"passed": 3, "total": 4, "hidden_passed": 1, "hidden_total": 2, "ran": True})
    0.6666666666666666
    """
    if res.get("library") or not res.get("ran"):
        return 0.0
    total = res["total"] + res["hidden_total"]
    return (res["passed"] + res["hidden_passed"]) / total if total else 0.0


def _results(sub: Any, result: dict[str, Any], found: dict[int, Path]) -> list[dict[str, Any]]:
    if sub.chapter not in found:
        return []
    if result.get("exercises") is not None:
        return result["exercises"]
    return [{**e, "passed": 0, "total": 0, "hidden_passed": 0, "hidden_total": 0, "ran": False, "messages": []}
            for e in _exercises(found[sub.chapter])]


def rows(results: Sequence[tuple[Any, dict[str, Any]]], points: dict[str, float], found: dict[int, Path]) -> list[dict[str, Any]]:
    """One row per student, chapter and exercise, sorted."""
    out = []
    for sub, result in results:
        for res in _results(sub, result, found):
            best = max_points(sub.chapter, res, points)
            out.append({"student": sub.student, "chapter": sub.chapter, "exercise": res["number"],
                        "points": round(best * fraction(res), 2), "max_points": best})
    return sorted(out, key=lambda r: (r["student"], r["chapter"], r["exercise"]))


def _line(res: dict[str, Any]) -> str:
    if res.get("library"):
        names = ", ".join(f"`{n}`" for n in res["library"])
        return f"uses the library's own {names} instead of implementing it (no points; write it yourself)."
    if not res.get("ran"):
        return "not checked: the notebook stopped before its check ran."
    total, right = res["total"] + res["hidden_total"], res["passed"] + res["hidden_passed"]
    hidden = f" ({res['hidden_passed']} of {res['hidden_total']} hidden)" if res["hidden_total"] else ""
    parts = [f"right on {right} of {total} cases{hidden}."]
    if res.get("error"):
        parts.append(res["error"])
    parts.extend(m for m in res["messages"][:2])
    return " ".join(parts)


def feedback(results: Sequence[tuple[Any, dict[str, Any]]], points: dict[str, float], found: dict[int, Path]) -> dict[str, str]:
    """student -> the Markdown feedback on every chapter they handed in."""
    by_student: dict[str, list[str]] = {}
    for sub, result in sorted(results, key=lambda p: (p[0].student, p[0].chapter)):
        lines = by_student.setdefault(sub.student, [f"# Feedback for {sub.student}", ""])
        exercises = _results(sub, result, found)
        got = sum(round(max_points(sub.chapter, r, points) * fraction(r), 2) for r in exercises)
        best = sum(max_points(sub.chapter, r, points) for r in exercises)
        lines += [f"## Chapter {sub.chapter} (`{sub.path.name}`): {got:.2f} / {best:g} points", ""]
        if exercises:
            lines += ["| exercise | points | what the check found |", "| --- | ---: | --- |"]
            for r in exercises:
                best_r = max_points(sub.chapter, r, points)
                text = _line(r).replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {r['number']}. {r['title']} | {best_r * fraction(r):.2f} / {best_r:g} | {text} |")
            lines.append("")
        if result["notes"]:
            lines += ["Problems with the notebook:", ""] + [f"- {n}" for n in result["notes"]] + [""]
    return {student: "\n".join(lines) for student, lines in by_student.items()}
