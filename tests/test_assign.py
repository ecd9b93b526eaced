"""lrcourse-assign: student notebooks keep everything but the solutions.

The first half works on small notebooks written here (every rule of the tool, its errors);
the second half runs the tool on every chapter of the book and checks what came out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lrcourse import assign

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9]*.ipynb"))


def exercise_md(title: str, label: str) -> str:
    return f"```{{exercise}} {title}\n:label: {label}\n\nDo it.\n```"


def toy_notebook() -> nbformat.NotebookNode:
    setup = new_code_cell("import math\nprint('setup ran')", metadata={"tags": ["remove-output"]})
    setup.outputs = [new_output("stream", name="stdout", text="setup ran\n")]
    setup.execution_count = 1
    return new_notebook(
        cells=[
            new_markdown_cell("# 9. A toy chapter"),
            setup,
            new_markdown_cell(exercise_md("Double it", "ex-09-double")),
            new_code_cell(
                "class Doubler:\n"
                "    def __call__(self, x):\n"
                "        ### BEGIN SOLUTION\n"
                "        y = 2 * x\n"
                "        return y\n"
                "        ### END SOLUTION\n"
                "\n"
                "double = Doubler()",
                metadata={"tags": ["hide-input"], "jupyter": {"source_hidden": True}},
            ),
            new_code_cell("assert double(2) == 4, 'double(2) should be 4'\nprint('ok')"),
            new_markdown_cell(exercise_md("A value", "ex-09-value")),
            new_code_cell(
                "### BEGIN SOLUTION\nsecret_rate = math.sqrt(49.0)\nother: int = 3\n### END SOLUTION\nprint(secret_rate)"
            ),
            new_code_cell("print('reference answer', 7.0 * 11)", metadata={"tags": ["solution"]}),
            new_code_cell("assert secret_rate == 7.0"),
        ],
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "jupytext": {"formats": "md:myst,ipynb"},
        },
    )


def write_book(tmp_path: Path, notebooks: dict[str, nbformat.NotebookNode]) -> Path:
    book = tmp_path / "book"
    book.mkdir()
    for name, nb in notebooks.items():
        nbformat.write(nb, book / name)
    return book


# --- the rules, on a toy notebook --------------------------------------------------------------


def test_function_block_becomes_raise_at_its_indentation() -> None:
    student, exercises = assign.make_student(toy_notebook())
    src = student.cells[3].source
    assert '        raise NotImplementedError("Exercise 1: Double it")' in src.splitlines()
    assert "2 * x" not in src and "return y" not in src
    assert src.startswith("class Doubler:\n    def __call__(self, x):\n")
    assert src.endswith("\ndouble = Doubler()")
    compile(src, "<student>", "exec")
    assert [(e.number, e.title, e.label) for e in exercises] == [
        (1, "Double it", "ex-09-double"),
        (2, "A value", "ex-09-value"),
    ]


def test_value_block_becomes_ellipsis() -> None:
    student, _ = assign.make_student(toy_notebook())
    lines = student.cells[6].source.splitlines()
    assert lines[1:] == ["secret_rate = ...", "other = ...", "print(secret_rate)"]
    assert "Exercise 2: A value" in lines[0]


def test_solution_cells_outputs_and_hiding_go_setup_stays() -> None:
    nb = toy_notebook()
    student, _ = assign.make_student(nb)
    assert len(student.cells) == len(nb.cells) - 1
    assert not any("reference answer" in c.source for c in student.cells)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert student.cells[1].source == nb.cells[1].source  # set-up kept as it is
    assert student.cells[1].metadata["tags"] == ["remove-output"]
    assert "tags" not in student.cells[3].metadata and "jupyter" not in student.cells[3].metadata
    assert "jupytext" not in student.metadata
    assert nb.cells[1].outputs, "the input notebook must not be modified"
    nbformat.validate(student)


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("x = 1\n### BEGIN SOLUTION\ny = 2\n    ### BEGIN SOLUTION\n### END SOLUTION", 4, "opened on line 2"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", 2, "never closed"),
        ("y = 2\n### END SOLUTION", 2, "without a '### BEGIN SOLUTION'"),
    ],
)
def test_bad_markers_name_file_cell_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, line: int, words: str
) -> None:
    nb = toy_notebook()
    nb.cells.insert(2, new_code_cell(source))
    book = write_book(tmp_path, {"03_bad.ipynb": nb})
    out = tmp_path / "out"
    assert assign.main(["--book", str(book), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"03_bad.ipynb, cell 3, line {line}" in err and words in err, err
    assert not out.exists(), "nothing is written when a chapter is broken"


def test_bad_markers_point_into_the_paired_md(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell("a = 1\n### END SOLUTION")])
    book = write_book(tmp_path, {"04_md.ipynb": nb})
    (book / "04_md.md").write_text(
        "---\nfront: matter\n---\n\n# t\n\n```{code-cell} ipython3\na = 1\n### END SOLUTION\n```\n"
    )
    with pytest.raises(assign.MarkerError, match=r"04_md.ipynb, cell 2 \(the .md's line 8 onwards\), line 2"):
        assign.assign(book, tmp_path / "out")


def test_refuses_to_write_over_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write_book(tmp_path, {"01_a.ipynb": toy_notebook()})
    before = (book / "01_a.ipynb").read_bytes()
    (tmp_path / "alias").symlink_to(book)
    for out in (book, tmp_path / "book" / ".." / "book", tmp_path / "alias"):
        assert assign.main(["--book", str(book), "--out", str(out)]) == 2
        assert "overwritten" in capsys.readouterr().err
    assert (book / "01_a.ipynb").read_bytes() == before


def test_chosen_chapters_and_readme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write_book(
        tmp_path, {"01_a.ipynb": toy_notebook(), "02_b.ipynb": toy_notebook(), "03_c.ipynb": toy_notebook()}
    )
    out = tmp_path / "out"
    assert assign.main(["--book", str(book), "--out", str(out), "--chapters", "3", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["01_a.ipynb", "03_c.ipynb", "README.md"]
    readme = (out / "README.md").read_text()
    assert readme.count("## 9. A toy chapter") == 2 and "`03_c.ipynb`" in readme and "02_b" not in readme
    assert "1. Double it" in readme and "2. A value" in readme
    assert assign.main(["--book", str(book), "--out", str(out), "--chapters", "7"]) == 2
    assert "no chapter 7" in capsys.readouterr().err


def test_python_dash_m_and_console_script(tmp_path: Path) -> None:
    book = write_book(tmp_path, {"05_e.ipynb": toy_notebook()})
    run = subprocess.run(
        [sys.executable, "-m", "lrcourse.assign", "--book", str(book), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "o" / "05_e.ipynb").exists()
    script = Path(sys.executable).parent / "lrcourse-assign"
    assert script.exists(), "reinstall the package (pip install -e .) to get the lrcourse-assign script"
    run = subprocess.run(
        [str(script), "--book", str(book), "--out", str(book)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2 and "overwritten" in run.stderr


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int) -> tuple[int, str, str]:
    """Run a notebook until its first error: (index of the failing cell, error name, error text)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    with pytest.raises(CellExecutionError) as info:
        client.execute()
    failing = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and any(o.output_type == "error" for o in c.get("outputs", []))
    ]
    assert len(failing) == 1, failing
    err = next(o for o in nb.cells[failing[0]].outputs if o.output_type == "error")
    assert nb.cells[failing[0]].execution_count is not None
    later = [c for c in nb.cells[failing[0] + 1 :] if c.cell_type == "code"]
    assert all(c.execution_count is None for c in later), "nothing after the first error may run"
    return failing[0], err.ename, str(info.value)


def test_student_toy_notebook_stops_at_first_exercise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRCOURSE_PROFILE", "ci")
    student, _ = assign.make_student(toy_notebook())
    index, ename, text = execute(student, tmp_path, timeout=60)
    assert index == 4 and ename == "NotImplementedError"  # the check cell calls the stub
    assert "Exercise 1: Double it" in text
    assert any(o.get("text") == "setup ran\n" for o in student.cells[1].outputs)


# --- every chapter of the book ------------------------------------------------------------------


def test_the_book_has_chapters() -> None:
    assert CHAPTERS, f"no chapter notebooks in {BOOK}"


def solution_split(nb: nbformat.NotebookNode) -> tuple[Counter[str], Counter[str]]:
    """Lines (stripped) inside solutions, and lines outside them, of a solution notebook.

    Written independently of lrcourse.assign, so the two check each other.
    """
    inside: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    for cell in nb.cells:
        hidden = "solution" in cell.metadata.get("tags", [])
        in_block = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text.startswith("### BEGIN SOLUTION") or text.startswith("### END SOLUTION"):
                in_block = text.startswith("### BEGIN")
                continue
            if text:
                (inside if hidden or in_block else outside)[text] += 1
    return inside, outside


@pytest.fixture(scope="module")
def students(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("student")
    assign.assign(BOOK, out)
    return out


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_no_solution_line_survives(chapter: Path, students: Path) -> None:
    solution = nbformat.read(chapter, as_version=4)
    inside, outside = solution_split(solution)
    assert inside, f"{chapter.name} has no solution code to remove"
    student = nbformat.read(students / chapter.name, as_version=4)
    _, left = solution_split(student)
    assert not any("SOLUTION" in c.source for c in student.cells)
    leaked = [line for line in inside if left[line] > outside[line]]
    assert not leaked, f"solution lines left in the student copy of {chapter.name}: {leaked}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_student_notebook_is_valid_and_keeps_the_rest(chapter: Path, students: Path) -> None:
    student = nbformat.read(students / chapter.name, as_version=4)
    nbformat.validate(student)
    solution = nbformat.read(chapter, as_version=4)
    kept = [
        c
        for c in solution.cells
        if "solution" not in c.metadata.get("tags", []) and "### BEGIN SOLUTION" not in c.source
    ]
    stubs = [
        c for c in student.cells if 'raise NotImplementedError("Exercise' in c.source or "# YOUR CODE HERE" in c.source
    ]
    assert [c.source for c in kept] == [c.source for c in student.cells if c not in stubs]
    assert stubs, f"{chapter.name}: no exercise stubs"
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")
    readme = (students / "README.md").read_text()
    assert f"`{chapter.name}`" in readme


def test_first_chapter_runs_to_its_first_exercise(students: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Executing a student notebook stops at the first exercise (the chapter's whole ci run before it)."""
    monkeypatch.setenv("LRCOURSE_PROFILE", "ci")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    chapter = CHAPTERS[0]
    student = nbformat.read(students / chapter.name, as_version=4)
    first = next(i for i, c in enumerate(student.cells) if 'raise NotImplementedError("Exercise 1:' in c.source)
    stub = student.cells[first].source
    title = stub.split('NotImplementedError("', 1)[1].split('")', 1)[0]
    index, ename, text = execute(student, BOOK, timeout=int(os.environ.get("LRCOURSE_NB_TIMEOUT", "600")))
    check_cell = next(i for i in range(first + 1, len(student.cells)) if student.cells[i].cell_type == "code")
    assert index in (first, check_cell), f"stopped at cell {index}, the first exercise is cell {first}: {text[-500:]}"
    # The exercise raises itself, or its check cell reports the stub; either way the student sees why.
    assert ename == "NotImplementedError" and title in text or ename == "CheckFailed" and "not implemented" in text, (
        text[-800:]
    )


# --- the student edition for Colab, the instructor's folder, nbgrader ------------------------------


def test_student_edition_keeps_setup_and_colab_metadata(students: Path) -> None:
    for chapter in CHAPTERS:
        solution = nbformat.read(chapter, as_version=4)
        student = nbformat.read(students / chapter.name, as_version=4)
        first = next(c for c in solution.cells if c.cell_type == "code")
        assert next(c for c in student.cells if c.cell_type == "code").source == first.source
        for key in ("accelerator", "colab", "kernelspec"):
            assert student.metadata.get(key) == solution.metadata.get(key), (chapter.name, key)


def test_colab_links_and_the_instructor_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = write_book(tmp_path, {"01_a.ipynb": toy_notebook()})
    out, inst = tmp_path / "student", tmp_path / "instructor"
    url = "https://github.com/me/course/tree/main/student"
    assert assign.main(["--book", str(book), "--out", str(out), "--colab", url, "--instructor", str(inst)]) == 0
    link = "https://colab.research.google.com/github/me/course/blob/main/student/01_a.ipynb"
    assert f"[Open in Colab]({link})" in (out / "README.md").read_text()
    student = nbformat.read(out / "01_a.ipynb", as_version=4)
    assert link in student.cells[0].source and student.cells[0].cell_type == "markdown"
    assert (inst / "points.csv").read_text().splitlines()[1] == "1,1,ex-09-double,Double it,1"
    assert sorted(p.name for p in out.iterdir()) == ["01_a.ipynb", "README.md"], "nothing for the instructor only"
    assert assign.main(["--book", str(book), "--out", str(out), "--instructor", str(out / "inst")]) == 2
    assert "inside the students' folder" in capsys.readouterr().err
    assert assign.main(["--book", str(book), "--out", str(out), "--colab", "https://example.com/x"]) == 2
    assert "GitHub address" in capsys.readouterr().err


def test_nbgrader_metadata(tmp_path: Path) -> None:
    """Checked against nbgrader's schema 3 rules (nbgrader itself is not a dependency; its validator
    and `nbgrader generate_assignment` accepted chapters 1 and 3 when this was written)."""
    nb = toy_notebook()
    nb.cells[4].source = "lrcourse.check.double(double)"
    nb.cells[8].source = "lrcourse.check.value('secret_rate', secret_rate, 7.0, hint='7')"
    book = write_book(tmp_path, {"01_a.ipynb": nb})
    assert assign.main(["--book", str(book), "--out", str(tmp_path / "src"), "--nbgrader"]) == 0
    nb = nbformat.read(tmp_path / "src" / "01_a.ipynb", as_version=4)
    meta = [(c, c.metadata["nbgrader"]) for c in nb.cells if "nbgrader" in c.metadata]
    ids = [m["grade_id"] for _, m in meta]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)
    for cell, m in meta:
        assert m["schema_version"] == 3 and cell.cell_type == "code"
        assert set(m) >= {"grade", "grade_id", "locked", "solution", "task"}
        if m["grade"]:
            assert m["points"] > 0 and m["locked"] and not m["solution"]
        else:
            assert m["solution"] and "### BEGIN SOLUTION" in cell.source  # nbgrader strips it itself
    answers = [c for c, m in meta if m["solution"]]
    tests = [m for _, m in meta if m["grade"]]
    assert len(answers) == 2 and [t["grade_id"] for t in tests] == ["ex-09-double-check", "ex-09-value-check"]
