"""What ``lrcourse-assign`` writes beside the student notebooks: Colab links and the instructor's folder.

The instructor's folder (``--instructor DIR``, never inside the students' folder) holds what
students must not receive and ``lrcourse-grade --instructor DIR`` reads: ``hidden_cases.py``
(the instructor's own hidden cases, copied from ``--hidden FILE`` or a template to fill in),
``hidden_cases.json`` (those and the course's own hidden cases, each with its expected value)
and ``points.csv`` (each exercise's points, to edit).

The expected values come from the exercises' references, which are not in the installed
package: they live in the source repository, ``tests/references/<module>.py`` (``REFERENCES``,
one function per checker, and ``HIDDEN``, the course's hidden cases). :func:`resolve_hidden`
computes them when that folder is there, i.e. when ``lrcourse`` is installed from a clone
(``pip install -e .``).
"""

from __future__ import annotations

import copy
import csv
import importlib.util
import json
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from nbformat.v4 import new_markdown_cell

from lrcourse.grade.recorder import encode, read_cases

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
        'value comes from the reference (tests/references in the repository), or write {"args": (...), "expected": value}.',
        "The course's own hidden cases are added to these in hidden_cases.json.",
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


def references_folder() -> Path | None:
    """``tests/references`` of the clone ``lrcourse`` runs from, or None (installed from a wheel).

    >>> references_folder() is None or (references_folder() / "make_expected.py").exists()
    True
    """
    folder = Path(__file__).resolve().parents[2] / "tests" / "references"
    return folder if (folder / "make_expected.py").exists() else None


def load_references(folder: Path) -> tuple[dict[str, Callable[..., Any]], dict[str, list[Any]]]:
    """The references (checker name -> function) and the course's hidden cases of ``folder``."""
    refs: dict[str, Callable[..., Any]] = {}
    hidden: dict[str, list[Any]] = {}
    for path in sorted(Path(folder).glob("*.py")):
        if path.stem == "make_expected" or path.stem.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"lrcourse_references_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        refs.update(getattr(module, "REFERENCES", {}))
        hidden.update(getattr(module, "HIDDEN", {}))
    return refs, hidden


def resolve_hidden(
    cases: dict[str, list[Any]],
    folder: Path | None,
    *,
    course: Iterable[str] = (),
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every hidden case as ``{"args": tuple, "expected": value}``, and notes on what could not be done.

    ``cases``: the instructor's (argument tuples, or dicts with ``args`` and maybe ``expected``);
    ``course``: checker names whose course hidden cases (``HIDDEN`` in ``folder``) are added. A case
    without an expected value gets the reference's; with no reference it keeps its arguments only
    (the check cell's own reference, for a chapter's ``compare`` call, computes it while grading).

    >>> resolve_hidden({"double": [(2,), {"args": (3,), "expected": 6}]}, None)
    ({'double': [{'args': (2,)}, {'args': (3,), 'expected': 6}]}, [])
    """
    refs, course_cases = load_references(folder) if folder is not None else ({}, {})
    everything: dict[str, list[Any]] = {name: list(course_cases.get(name, [])) for name in course}
    for name, extra in cases.items():
        everything.setdefault(name, []).extend(extra)
    out: dict[str, list[dict[str, Any]]] = {}
    notes: list[str] = []
    for name, items in everything.items():
        for case in items:
            entry = dict(case) if isinstance(case, dict) else {"args": case}
            entry["args"] = tuple(entry["args"])
            if "expected" not in entry and name in refs:
                try:
                    entry["expected"] = refs[name](*copy.deepcopy(entry["args"]))
                except Exception as err:
                    notes.append(f"hidden case {entry['args']!r} of {name} left out: the reference failed ({err!r}).")
                    continue
            out.setdefault(name, []).append(entry)
    return out, notes


def write_hidden(path: Path, resolved: dict[str, list[dict[str, Any]]]) -> Path:
    """Write resolved hidden cases as JSON (``lrcourse-grade`` reads it with ``recorder.read_cases``)."""
    data = {name: [{k: encode(v) for k, v in case.items()} for case in cases] for name, cases in resolved.items()}
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return Path(path)


def hidden_json(py: Path | None, target: Path, *, course: Iterable[str] = ()) -> tuple[Path, list[str]]:
    """Resolve the hidden cases of ``py`` (and the course's for ``course``) into ``target``, a JSON file."""
    folder = references_folder()
    cases = read_cases(py) if py is not None else {}
    resolved, notes = resolve_hidden(cases, folder, course=course)
    if folder is None and (course or any("expected" not in c for cs in resolved.values() for c in cs)):
        notes.append("the references (tests/references of the lrcourse repository) are not here, so the course's "
                     "hidden cases are left out and cases without an expected value need the check cell's own; "
                     "run this from a clone of the repository (pip install -e .).")
    return write_hidden(target, resolved), notes


def write_instructor(folder: Path, students: Path, exercises: dict[int, list[Any]], hidden: Path | None) -> list[Path]:
    """Write ``points.csv``, ``hidden_cases.py`` and ``hidden_cases.json`` into ``folder`` (refused inside ``students``).

    ``hidden_cases.json`` holds the course's hidden cases of these chapters' checkers and the
    instructor's, each with its expected value, from :func:`hidden_json`.
    """
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
    names = [name for exs in exercises.values() for e in exs for name in e.checks]
    resolved, notes = hidden_json(target, folder / "hidden_cases.json", course=names)
    for note in notes:
        print(f"lrcourse-assign: {note}")
    return [folder / "points.csv", target, resolved]
