"""Student notebooks from the solution notebooks: the instructor's ``lrcourse-assign``.

The chapters are solution notebooks. Inside an exercise's code cell the answer sits between
nbgrader's markers::

    def gd_step(w, grad, lr):
        \"\"\"One step.\"\"\"
        ### BEGIN SOLUTION
        return w - lr * grad
        ### END SOLUTION

A student notebook keeps everything else (the set-up cell, the prose, the check cells) and
replaces each block by ``raise NotImplementedError("Exercise N: <title>")`` at the block's
indentation, or by ``name = ...`` when the block only assigns values at the top level (a
*value exercise*). Cells tagged ``solution`` are removed, and outputs and execution counts
are cleared. A ``README.md`` beside the notebooks lists the exercises of every chapter.

Usage::

    lrcourse-assign --chapters 1 3 --out student/     # or: python -m lrcourse.assign ...
    lrcourse-assign                                   # every chapter, into _build/student/
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTION_TAG = "solution"
# Tags that hide an exercise in the HTML book; a student must see the cell they fill in.
_HIDING_TAGS = {"hide-input", "hide-cell", "remove-input", "remove-cell"}
_EXERCISE = re.compile(r"^\s*(`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>[^\n]*)$", re.MULTILINE)
_LABEL = re.compile(r"^\s*:label:\s*(?P<label>\S+)", re.MULTILINE)
_CHAPTER = re.compile(r"^(?P<num>\d+)_.+\.ipynb$")
_POINTS = re.compile(r"^\s*:class:.*\bpoints-(?P<points>\d+(?:\.\d+)?)\b", re.MULTILINE)


class MarkerError(ValueError):
    """Unbalanced or nested ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers."""


class AssignError(ValueError):
    """A request ``lrcourse-assign`` cannot carry out (bad chapter, output over the input)."""


@dataclass(frozen=True)
class Block:
    """One solution block of a cell: lines ``begin`` to ``end`` (0-based, the marker lines)."""

    begin: int
    end: int
    indent: str


@dataclass
class Exercise:
    """An exercise of a chapter: its number, title, label and the checker its check cell calls."""

    number: int
    title: str
    label: str = ""
    checks: list[str] = field(default_factory=list)
    points: float = field(default=1.0, repr=False)  # `:class: points-N` on the directive; 1 by default
    cells: list[int] = field(default_factory=list, repr=False)  # the answer cells (indices in the source)
    check_cells: list[int] = field(default_factory=list, repr=False)  # the check cells (indices in the source)


def solution_blocks(source: str, where: str = "<cell>") -> list[Block]:
    """The solution blocks of a cell's source; raises :class:`MarkerError` on bad markers.

    ``where`` names the cell in the error message (``"book/01.ipynb, cell 20"``).

    >>> solution_blocks("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION")
    [Block(begin=1, end=3, indent='    ')]
    >>> solution_blocks("### END SOLUTION", "nb.ipynb, cell 3")
    Traceback (most recent call last):
    ...
    lrcourse.assign.MarkerError: nb.ipynb, cell 3, line 1: '### END SOLUTION' without a '### BEGIN SOLUTION' before it; add the missing marker or delete this one.
    """
    blocks: list[Block] = []
    opened: int | None = None
    lines = source.splitlines()
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith(BEGIN):
            if opened is not None:
                raise MarkerError(
                    f"{where}, line {i + 1}: {BEGIN!r} inside the solution block opened on line "
                    f"{opened + 1} (blocks cannot nest); add {END!r} before it."
                )
            opened = i
        elif text.startswith(END):
            if opened is None:
                raise MarkerError(
                    f"{where}, line {i + 1}: {END!r} without a {BEGIN!r} before it; "
                    "add the missing marker or delete this one."
                )
            begin_line = lines[opened]
            blocks.append(Block(opened, i, begin_line[: len(begin_line) - len(begin_line.lstrip())]))
            opened = None
    if opened is not None:
        raise MarkerError(f"{where}, line {opened + 1}: {BEGIN!r} is never closed; add {END!r} after the solution.")
    return blocks


def _assigned_names(code: str) -> list[str] | None:
    """The names a block assigns, if it is nothing but assignments to plain names, else None."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            return None
        for target in targets:
            if not isinstance(target, ast.Name):
                return None
            if target.id not in names:
                names.append(target.id)
    return names or None


def _string_literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid Python string literal


def strip_solutions(source: str, message: str, where: str = "<cell>") -> str:
    """Replace every solution block of ``source`` by a stub that says ``message``.

    A block inside a function (or any indented block) becomes ``raise NotImplementedError``;
    a top-level block that only assigns names becomes ``name = ...`` (a value exercise).

    >>> print(strip_solutions("def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION", "Exercise 1: Double"))
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError("Exercise 1: Double")
    >>> print(strip_solutions("### BEGIN SOLUTION\\nlr = 2 / 10\\n### END SOLUTION\\nprint(lr)", "Exercise 2: A value"))
    # YOUR CODE HERE (Exercise 2: A value)
    lr = ...
    print(lr)
    """
    lines = source.splitlines()
    out: list[str] = []
    pos = 0
    for block in solution_blocks(source, where):
        out.extend(lines[pos : block.begin])
        body = "\n".join(lines[block.begin + 1 : block.end])
        names = _assigned_names(body) if block.indent == "" else None
        if names:
            out.append(f"# YOUR CODE HERE ({message})")
            out.extend(f"{name} = ..." for name in names)
        else:
            out.append(f"{block.indent}# YOUR CODE HERE")
            out.append(f"{block.indent}raise NotImplementedError({_string_literal(message)})")
        pos = block.end + 1
    out.extend(lines[pos:])
    return "\n".join(out)


def _source_line(md_text: str | None, cell_source: str) -> int | None:
    """The 1-based line of the .md where a cell's source starts, when it can be found."""
    if not md_text or not cell_source.strip():
        return None
    at = md_text.find(cell_source)
    return None if at < 0 else md_text.count("\n", 0, at) + 1


def _exercise_titles(markdown: str) -> list[tuple[str, str, float]]:
    """(title, label, points) of every ``{exercise}`` directive in a markdown cell."""
    found = []
    matches = list(_EXERCISE.finditer(markdown))
    for k, m in enumerate(matches):
        rest = markdown[m.end() : matches[k + 1].start() if k + 1 < len(matches) else len(markdown)]
        label = _LABEL.search(rest)
        points = _POINTS.search(rest)
        found.append(
            (m.group("title").strip(), label.group("label") if label else "", float(points["points"]) if points else 1.0)
        )
    return found


def check_calls(source: str) -> list[str]:
    """Names ``n`` of the calls ``lrcourse.check.n(...)`` or ``check.n(...)`` in a code cell.

    >>> check_calls("lrcourse.check.gd_step(step)\\nprint(1)")
    ['gd_step']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (isinstance(owner, ast.Attribute) and owner.attr == "check") or (
                isinstance(owner, ast.Name) and owner.id == "check"
            ):
                names.append(node.func.attr)
    return names


def make_student(
    nb: NotebookNode, where: str = "<notebook>", md_text: str | None = None, nbgrader: bool = False
) -> tuple[NotebookNode, list[Exercise]]:
    """The student version of a solution notebook, and the exercises it found.

    ``where`` names the notebook in error messages; ``md_text`` (its paired MyST file, when
    there is one) lets an error point at the line of the .md as well. With ``nbgrader=True``
    the solutions stay between their markers and the cells carry nbgrader's metadata (see
    :mod:`lrcourse.grade.nbgrader`): the notebook is nbgrader's *source* version, which
    ``nbgrader generate_assignment`` turns into the release.

    >>> from nbformat.v4 import new_notebook, new_markdown_cell, new_code_cell
    >>> nb = new_notebook(cells=[
    ...     new_markdown_cell("```{exercise} Double it\\n:label: ex-double\\n```"),
    ...     new_code_cell("def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"),
    ...     new_code_cell("lrcourse.check.double(f)")])
    >>> student, exercises = make_student(nb)
    >>> print(student.cells[1].source)
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError("Exercise 1: Double it")
    >>> exercises
    [Exercise(number=1, title='Double it', label='ex-double', checks=['double'])]
    """
    student = copy.deepcopy(nb)
    exercises: list[Exercise] = []
    pending: list[tuple[str, str, float]] = []  # exercise directives seen but not yet given a code cell
    current: Exercise | None = None
    cells, kept = [], []
    for index, cell in enumerate(student.cells):
        cell.metadata.pop("execution", None)
        if cell.cell_type == "markdown":
            found = _exercise_titles(cell.source)
            if found:
                pending.extend(found)
                current = None
        tags = list(cell.metadata.get("tags", []))
        if SOLUTION_TAG in tags:
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            line = _source_line(md_text, cell.source)
            cell_where = f"{where}, cell {index + 1}" + (f" (the .md's line {line} onwards)" if line else "")
            blocks = solution_blocks(cell.source, cell_where)
            if blocks:
                if pending or current is None:
                    title, label, points = pending.pop(0) if pending else (f"code cell {index + 1}", "", 1.0)
                    current = Exercise(len(exercises) + 1, title, label, points=points)
                    exercises.append(current)
                current.cells.append(index)
                message = f"Exercise {current.number}: {current.title}"
                if not nbgrader:
                    cell.source = strip_solutions(cell.source, message, cell_where)
                cell.metadata["tags"] = [t for t in tags if t not in _HIDING_TAGS]
                if not cell.metadata["tags"]:
                    del cell.metadata["tags"]
                cell.metadata.pop("jupyter", None)  # e.g. {"source_hidden": true}
            elif current is not None:
                calls = check_calls(cell.source)
                if calls:
                    current.checks.extend(calls)
                    current.check_cells.append(index)
        cells.append(cell)
        kept.append(index)
    if nbgrader:
        from lrcourse.grade.nbgrader import mark

        mark(cells, kept, exercises)
    student.cells = cells
    student.metadata.pop("jupytext", None)  # a student's copy is not paired with our .md
    nbformat.validate(student)
    return student, exercises


def chapters(book: Path) -> dict[int, Path]:
    """The chapter notebooks ``NN_slug.ipynb`` of a book folder, by number.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "02_b.ipynb").write_text("{}"), (Path(d) / "index.ipynb").write_text("{}")
    ...     {n: p.name for n, p in chapters(Path(d)).items()}
    {2: '02_b.ipynb'}
    """
    found: dict[int, Path] = {}
    for path in sorted(book.glob("*.ipynb")):
        m = _CHAPTER.match(path.name)
        if m:
            found[int(m.group("num"))] = path
    return found


def _title(nb: NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def readme(listing: Sequence[tuple[str, str, list[Exercise]]], links: dict[str, str] | None = None) -> str:
    """The README of a set of student notebooks: ``(file, chapter title, exercises)`` each.

    >>> print(readme([("01_a.ipynb", "1. A", [Exercise(1, "Do it", "ex-01", ["do"])])]))
    # Student notebooks
    <BLANKLINE>
    ...
    ## 1. A (`01_a.ipynb`)
    <BLANKLINE>
    1. Do it (check: `lrcourse.check.do`)
    <BLANKLINE>
    """
    out = [
        "# Student notebooks",
        "",
        "Written by `lrcourse-assign` from the course's solution notebooks. Run each notebook from",
        'the top; where it stops with `NotImplementedError("Exercise N: ...")` (or a check saying',
        '"not implemented yet"), fill in the exercise, then run its check cell, which compares your',
        "answer with the reference on several inputs. `...` marks a value for you to compute.",
        "",
    ]
    for name, title, exercises in listing:
        out += [f"## {title} (`{name}`)", ""]
        if links and name in links:
            out += [f"[Open in Colab]({links[name]})", ""]
        for ex in exercises:
            checks = ", ".join(f"`lrcourse.check.{c}`" for c in ex.checks)
            out.append(f"{ex.number}. {ex.title}" + (f" (check: {checks})" if checks else ""))
        if not exercises:
            out.append("(no exercises)")
        out.append("")
    return "\n".join(out)


def assign(
    book: Path,
    out: Path,
    numbers: Sequence[int] | None = None,
    *,
    nbgrader: bool = False,
    colab: str | None = None,
    instructor: Path | None = None,
    hidden: Path | None = None,
) -> list[Path]:
    """Write the student notebooks of chapters ``numbers`` (all when None) and a README to ``out``.

    ``nbgrader``: nbgrader's source version instead (:mod:`lrcourse.grade.nbgrader`). ``colab``: the
    GitHub folder the notebooks will be pushed to; each gets an "Open in Colab" badge and the
    README the links. ``instructor``: a folder (outside ``out``) for ``points.csv`` and
    ``hidden_cases.py`` (copied from ``hidden``, else a template), which ``lrcourse-grade`` reads.

    >>> assign(Path("book"), Path("book"))
    Traceback (most recent call last):
    ...
    lrcourse.assign.AssignError: the output folder book is the book folder itself; choose another --out so the solution notebooks are not overwritten.
    """
    book, out = Path(book), Path(out)
    if out.resolve() == book.resolve():
        raise AssignError(
            f"the output folder {out} is the book folder itself; choose another --out "
            "so the solution notebooks are not overwritten."
        )
    found = chapters(book)
    if not found:
        raise AssignError(f"no chapter notebooks (NN_slug.ipynb) in {book}; point --book at the book folder.")
    wanted = sorted(found) if not numbers else list(dict.fromkeys(numbers))
    missing = [n for n in wanted if n not in found]
    if missing:
        raise AssignError(
            f"no chapter {', '.join(map(str, missing))} in {book}; the chapters are {', '.join(map(str, sorted(found)))}."
        )
    students = []
    for n in wanted:
        src = found[n]
        md = src.with_suffix(".md")
        nb = nbformat.read(src, as_version=4)
        student, exercises = make_student(nb, str(src), md.read_text() if md.exists() else None, nbgrader=nbgrader)
        students.append((src, student, exercises))
    from lrcourse.grade import instructor as release

    try:
        links = {src.name: release.colab_url(colab, src.name) for src, _, _ in students} if colab else {}
        if instructor is not None:
            release.write_instructor(instructor, out, {n: ex for n, (_, _, ex) in zip(wanted, students, strict=True)}, hidden)
    except (ValueError, OSError) as err:
        raise AssignError(str(err)) from None
    # Only now, with every chapter converted, touch the output folder.
    out.mkdir(parents=True, exist_ok=True)
    written, listing = [], []
    for src, student, exercises in students:
        target = out / src.name
        if target.resolve() == src.resolve():  # e.g. a link to the book folder
            raise AssignError(f"{target} is the solution notebook itself; choose another --out.")
        if src.name in links:
            student.cells.insert(0, release.badge_cell(links[src.name]))
        nbformat.write(student, target)
        written.append(target)
        listing.append((src.name, _title(student, src.stem), exercises))
    (out / "README.md").write_text(readme(listing, links))
    return written


def _default_book() -> Path:
    here = Path("book")
    return here if here.is_dir() else Path(__file__).resolve().parent.parent / "book"


def main(argv: Sequence[str] | None = None) -> int:
    """The ``lrcourse-assign`` command; returns the exit status (2 on bad markers or arguments).

    >>> main(["--book", "book", "--out", "book"])  # refuses, with one sentence on stderr
    2
    """
    parser = argparse.ArgumentParser(
        prog="lrcourse-assign",
        description="Write student notebooks (solutions removed) from the course's solution notebooks.",
    )
    parser.add_argument("--chapters", nargs="+", type=int, metavar="N", help="chapter numbers (default: all)")
    parser.add_argument(
        "--out", type=Path, default=Path("_build/student"), help="output folder (default: _build/student)"
    )
    parser.add_argument("--book", type=Path, default=None, help="folder of the solution notebooks (default: ./book)")
    parser.add_argument(
        "--nbgrader", action="store_true", help="write nbgrader's source version (solutions kept, cell metadata)"
    )
    parser.add_argument(
        "--colab", metavar="URL", help="GitHub folder the notebooks will be pushed to (adds Open-in-Colab links)"
    )
    parser.add_argument("--instructor", type=Path, help="folder for points.csv and hidden_cases.py (not for students)")
    parser.add_argument("--hidden", type=Path, help="the hidden cases to copy into --instructor")
    args = parser.parse_args(argv)
    try:
        if args.hidden is not None and args.instructor is None:
            raise AssignError("--hidden needs --instructor (the folder the hidden cases go to).")
        written = assign(
            args.book or _default_book(),
            args.out,
            args.chapters,
            nbgrader=args.nbgrader,
            colab=args.colab,
            instructor=args.instructor,
            hidden=args.hidden,
        )
    except (MarkerError, AssignError) as err:
        print(f"lrcourse-assign: {err}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    print(f"wrote {args.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
