"""What ``lrcourse-assign`` writes beside the student notebooks: Colab links and the instructor's folder.

The instructor's folder (``--instructor DIR``, never inside the students' folder) holds what
students must not receive and ``lrcourse-grade --instructor DIR`` reads: ``hidden_cases.py``
(the hidden cases, copied from ``--hidden FILE`` or a template to fill in) and ``points.csv``
(each exercise's points, to edit).
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbformat.v4 import new_markdown_cell

COLAB = "https://colab.research.google.com/github/"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def colab_url(published: str, name: str) -> str:
    """The "Open in Colab" address of notebook ``name`` in the GitHub folder ``published``.

    >>> colab_url("https://github.com/me/course/tree/main/student", "01_lr_basics.ipynb")
    'https://colab.research.google.com/github/me/course/blob/main/student/01_lr_basics.ipynb'
    """
    m = re.fullmatch(r"(?:https?://)?github\.com/([^/]+)/([^/]+)/(?:tree|blob)/([^/]+)(/.*)?", published.rstrip("/"))
    if not m:
        raise ValueError(
            f"--colab {published!r}: give the GitHub address of the folder the notebooks will be pushed to, "
            "https://github.com/OWNER/REPO/tree/BRANCH/FOLDER."
        )
    owner, repo, branch, folder = m.group(1), m.group(2), m.group(3), (m.group(4) or "")
    return f"{COLAB}{owner}/{repo}/blob/{branch}{folder}/{name}"


def badge_cell(url: str) -> Any:
    """A markdown cell with the "Open in Colab" badge (tagged so the check of the cell list can skip it)."""
    return new_markdown_cell(f"[![Open In Colab]({BADGE})]({url})", metadata={"tags": ["colab-badge"]})


def hidden_template(checks: Sequence[tuple[int, int, str, list[str]]]) -> str:
    """A hidden-cases file to fill in: one empty list per checker (chapter, exercise, title, checker names).

    >>> print(hidden_template([(1, 1, "One step", ["gd_step"])]).splitlines()[-2])
        "gd_step": [],  # chapter 1, exercise 1: One step
    """
    lines = [
        '"""Hidden cases for lrcourse-grade: keep this file away from students.',
        "",
        "Each list holds argument tuples, like the public cases of `lrcourse.check.<name>`; the expected",
        'value comes from the reference, or write {"args": (...), "expected": value}.',
        '"""',
        "",
        "import torch  # noqa: F401  (cases may hold tensors)",
        "",
        "CASES = {",
    ]
    seen = set()
    for chapter, number, title, names in checks:
        for name in names:
            if name not in seen and name not in ("compare", "value"):
                seen.add(name)
                lines.append(f'    "{name}": [],  # chapter {chapter}, exercise {number}: {title}')
    lines += ["}", ""]
    return "\n".join(lines)


def write_instructor(folder: Path, students: Path, exercises: dict[int, list[Any]], hidden: Path | None) -> list[Path]:
    """Write ``points.csv`` and ``hidden_cases.py`` into ``folder`` (refused inside ``students``)."""
    folder, students = Path(folder), Path(students)
    if folder.resolve() == students.resolve() or students.resolve() in folder.resolve().parents:
        raise ValueError(
            f"the instructor folder {folder} is inside the students' folder {students}; "
            "put it elsewhere so the hidden cases are not published."
        )
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "points.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["chapter", "exercise", "label", "title", "points"])
        for chapter, exs in sorted(exercises.items()):
            writer.writerows([chapter, e.number, e.label, e.title, f"{e.points:g}"] for e in exs)
    target = folder / "hidden_cases.py"
    if hidden is not None:
        shutil.copyfile(hidden, target)
    elif not target.exists():  # never overwrite cases the instructor wrote
        rows = [(c, e.number, e.title, e.checks) for c, exs in sorted(exercises.items()) for e in exs]
        target.write_text(hidden_template(rows))
    return [folder / "points.csv", target]
