"""A tiny chapter and a hostile class of submissions for ``lrcourse-grade``.

The chapter has four exercises with cheap checks (plain ``lrcourse.check.compare`` and
``value`` calls, so the expected table does not move when a chapter's checker gains a case).
:func:`write_class` writes one submission per student, each broken in one of the ways a
real class breaks notebooks; ``EXPECTED`` is the table ``lrcourse-grade`` must produce
with ``hidden_cases.py`` beside this file.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lrcourse.assign import make_student

HERE = Path(__file__).resolve().parent
HIDDEN = HERE / "hidden_cases.py"
CHAPTER = "01_tiny.ipynb"

SETUP = "import math\n\nimport lrcourse\nfrom lrcourse import schedules"
DOUBLE = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
STEP = "def step(w, g, lr):\n    ### BEGIN SOLUTION\n    return w - lr * g\n    ### END SOLUTION"
RATE = "### BEGIN SOLUTION\nrate = 2 / 10\n### END SOLUTION\nprint(rate)"
COSINE = (
    "def cosine_lr(step, total, lr_max):\n"
    "    ### BEGIN SOLUTION\n"
    "    return lr_max * (1 + math.cos(math.pi * step / total)) / 2\n"
    "    ### END SOLUTION"
)
CHECKS = {
    "double": 'lrcourse.check.compare("double", double, lambda x: 2 * x, [(1,), (2,), (-3,), (0.5,)], hint="x + x")',
    "step": 'lrcourse.check.compare("step", step, lambda w, g, lr: w - lr * g, [(1.0, 0.5, 0.1), (0.0, 3.0, 1.0), (2.0, 1.0, 0.0)], hint="w - lr * g")',
    "rate": 'lrcourse.check.value("rate", rate, 0.2, hint="2 / L with L = 10")',
    "cosine": 'lrcourse.check.compare("cosine_lr", cosine_lr, lambda t, n, m: m * (1 + math.cos(math.pi * t / n)) / 2, [(0, 10, 1.0), (5, 10, 1.0), (10, 10, 0.5)], hint="half a cosine")',
}


def exercise(title: str, label: str, extra: str = "") -> str:
    return f"```{{exercise}} {title}\n:label: {label}\n{extra}\nDo it.\n```"


def chapter() -> nbformat.NotebookNode:
    """The solution chapter: set-up, four exercises (exercise 2 is worth 2 points)."""
    return new_notebook(
        cells=[
            new_markdown_cell("# 1. A tiny chapter"),
            new_code_cell(SETUP),
            new_markdown_cell(exercise("Double it", "ex-01-double")),
            new_code_cell(DOUBLE),
            new_code_cell(CHECKS["double"]),
            new_markdown_cell(exercise("One step", "ex-01-step", ":class: points-2")),
            new_code_cell(STEP),
            new_code_cell(CHECKS["step"]),
            new_markdown_cell(exercise("A rate", "ex-01-rate")),
            new_code_cell(RATE),
            new_code_cell(CHECKS["rate"]),
            new_markdown_cell(exercise("Cosine annealing", "ex-01-cosine")),
            new_code_cell(COSINE),
            new_code_cell(CHECKS["cosine"]),
        ],
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "accelerator": "GPU",
            "colab": {"gpuType": "T4", "provenance": []},
        },
    )


def _fill(nb: nbformat.NotebookNode, index: int, source: str) -> None:
    nb.cells[index].source = source


def _solved(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook with every exercise answered correctly."""
    nb = copy.deepcopy(nb)
    for index, answer in ((3, DOUBLE), (6, STEP), (9, RATE), (12, COSINE)):
        _fill(nb, index, "\n".join(line for line in answer.splitlines() if "SOLUTION" not in line))
    return nb


def _colab(nb: nbformat.NotebookNode) -> dict:
    """``nb`` as Colab saves it after a run: nbformat 4.0, ids in metadata, outputs, widget state."""
    raw = json.loads(nbformat.writes(nb))
    raw["nbformat_minor"] = 0
    raw["metadata"]["colab"] = {"name": "01_tiny.ipynb", "provenance": [], "gpuType": "T4"}
    raw["metadata"]["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "a1b2": {"model_module": "@jupyter-widgets/controls", "model_name": "FloatSliderModel", "state": {}}
        }
    }
    for k, cell in enumerate(raw["cells"]):
        cell.pop("id", None)
        cell["metadata"] = {"id": f"colab{k:03d}"}
        if cell["cell_type"] == "code":
            cell["metadata"]["outputId"] = f"out{k:03d}"
            cell["execution_count"] = k
            cell["outputs"] = [
                json.loads(json.dumps(new_output("stream", name="stdout", text="✅ double: right on all 4 cases.\n"))),
                {
                    "output_type": "display_data",
                    "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "a1b2", "version_major": 2, "version_minor": 0}, "text/plain": "FloatSlider()"},
                    "metadata": {},
                },
            ]
    return raw


def submissions() -> dict[str, nbformat.NotebookNode | dict | str]:
    """student -> submission (a notebook, Colab's raw JSON, or text that is no notebook)."""
    student, _ = make_student(chapter())
    good = _solved(student)
    out: dict[str, nbformat.NotebookNode | dict | str] = {"alice": good}

    bob = copy.deepcopy(student)  # partly right: double wrong on negatives, cosine not done, checkers patched
    bob.cells.insert(2, new_code_cell("lrcourse.check.compare = lambda *args, **kwargs: print('✅ right')"))
    _fill(bob, 4, "def double(x):\n    return 2 * x if x > 0 else x")
    _fill(bob, 7, good.cells[6].source)
    _fill(bob, 10, good.cells[9].source)
    out["bob"] = bob

    carol = copy.deepcopy(good)  # a syntax error in exercise 2's cell
    _fill(carol, 6, "def step(w, g, lr)\n    return w - lr * g")
    out["carol"] = carol

    dave = copy.deepcopy(good)  # an exception in an unrelated cell
    dave.cells.insert(5, new_code_cell("scratch = 1 / 0"))
    out["dave"] = dave

    erin = copy.deepcopy(good)  # an endless loop in an answer and one in a scratch cell
    _fill(erin, 3, "def double(x):\n    while x < 0:\n        pass\n    return 2 * x")
    erin.cells.insert(8, new_code_cell("while True:\n    pass"))
    out["erin"] = erin

    frank = copy.deepcopy(good)  # cells deleted, reordered, and check cells edited
    _fill(frank, 6, "def step(w, g, lr):\n    return w + lr * g")  # wrong, and its check deleted
    _fill(frank, 10, 'print("✅ rate: right.")')  # an edited check cell
    del frank.cells[7]  # step's check
    del frank.cells[4]  # double's check
    frank.cells.insert(0, frank.cells.pop(7))  # the rate answer, moved above the set-up cell
    out["frank"] = frank

    grace = copy.deepcopy(good)  # renamed function
    _fill(grace, 3, "def twice(x):\n    return 2 * x")
    out["grace"] = grace

    out["heidi"] = _colab(good)  # saved by Colab, outputs and widget state included

    ivan = copy.deepcopy(good)  # calls the library's own cosine schedule
    _fill(ivan, 12, "def cosine_lr(step, total, lr_max):\n    return schedules.cosine(lr_max, total)(step)")
    out["ivan"] = ivan

    out["judy"] = "this is not a notebook {"  # a corrupt upload
    return out


def write_book(folder: Path) -> Path:
    """Write the solution chapter into ``folder/book``; returns that folder."""
    book = folder / "book"
    book.mkdir(parents=True, exist_ok=True)
    nbformat.write(chapter(), book / CHAPTER)
    return book


def write_class(folder: Path, copies: int = 1) -> Path:
    """Write the class as ``folder/submissions/<student>/01_tiny.ipynb`` (``copies`` of each); returns that folder."""
    root = folder / "submissions"
    for k in range(copies):
        for name, sub in submissions().items():
            student = name if copies == 1 else f"{name}{k:02d}"
            path = root / student / CHAPTER
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(sub, str):
                path.write_text(sub)
            elif isinstance(sub, dict):
                path.write_text(json.dumps(sub, indent=1))
            else:
                nbformat.write(sub, path)
    return root


# student -> [(exercise, points, max points)] with hidden_cases.py; see tests/test_grade.py.
EXPECTED = {
    "alice": [(1, 1.0, 1), (2, 2.0, 2), (3, 1.0, 1), (4, 1.0, 1)],
    "bob": [(1, 0.67, 1), (2, 2.0, 2), (3, 1.0, 1), (4, 0.0, 1)],  # double: 4 of 6 cases (1 of 2 hidden)
    "carol": [(1, 1.0, 1), (2, 0.0, 2), (3, 1.0, 1), (4, 1.0, 1)],
    "dave": [(1, 1.0, 1), (2, 2.0, 2), (3, 1.0, 1), (4, 1.0, 1)],
    "erin": [(1, 0.0, 1), (2, 2.0, 2), (3, 1.0, 1), (4, 1.0, 1)],
    "frank": [(1, 1.0, 1), (2, 0.5, 2), (3, 1.0, 1), (4, 1.0, 1)],  # step: right only where lr = 0 (1 of 4)
    "grace": [(1, 0.0, 1), (2, 2.0, 2), (3, 1.0, 1), (4, 1.0, 1)],
    "heidi": [(1, 1.0, 1), (2, 2.0, 2), (3, 1.0, 1), (4, 1.0, 1)],
    "ivan": [(1, 1.0, 1), (2, 2.0, 2), (3, 1.0, 1), (4, 0.0, 1)],
    "judy": [(1, 0.0, 1), (2, 0.0, 2), (3, 0.0, 1), (4, 0.0, 1)],
}
