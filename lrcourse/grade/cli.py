"""``lrcourse-grade``: grade a class's notebooks, write grades.csv and one feedback file per student.

Usage::

    lrcourse-grade submissions/ --out graded/                       # submissions/<student>/NN_slug.ipynb
    lrcourse-grade inbox/ --layout "{student}_{chapter}*.ipynb"     # inbox/alice_01_lr_basics.ipynb, ...
    lrcourse-grade inbox/ --roster roster.csv                       # columns: student, chapter, path
    lrcourse-grade submissions/ --instructor release/instructor/    # hidden cases and points from lrcourse-assign

Each submission runs in a kernel of its own under the ``ci`` profile (``--jobs`` at once,
``--timeout`` seconds per notebook, ``--cell-timeout`` per cell), with the instructor's check
cells restored from the solution chapter (``--book``). An exercise earns its points times the
fraction of its cases passed, the hidden ones (``--hidden``) included.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrcourse.assign import chapters
from lrcourse.grade import instructor, recorder
from lrcourse.grade.report import feedback, rows
from lrcourse.grade.score import prepare, score


class GradeError(ValueError):
    """A request ``lrcourse-grade`` cannot carry out (no submissions, a bad layout, ...)."""


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one chapter."""

    student: str
    chapter: int
    path: Path


def layout_regex(layout: str) -> re.Pattern[str]:
    """The pattern of a ``--layout``: ``{student}``, ``{chapter}`` (its number) and ``*`` (any text in a name).

    >>> layout_regex("{student}/{chapter}_*.ipynb").fullmatch("alice/01_lr_basics.ipynb").groupdict()
    {'student': 'alice', 'chapter': '01'}
    """
    if "{student}" not in layout or "{chapter}" not in layout:
        raise GradeError(f"the layout {layout!r} must name both {{student}} and {{chapter}}.")
    out = ""
    for part in re.split(r"(\{student\}|\{chapter\}|\*)", layout):
        if part == "{student}":
            out += r"(?P<student>[^/]+?)"
        elif part == "{chapter}":
            out += r"(?P<chapter>\d+)"
        elif part == "*":
            out += r"[^/]*"
        else:
            out += re.escape(part)
    return re.compile(out)


def find(folder: Path, layout: str | None = None, roster: Path | None = None) -> list[Submission]:
    """The submissions in ``folder``, by ``layout`` or by a roster CSV (student, chapter, path)."""
    if roster is not None:
        with open(roster, newline="") as f:
            return [
                Submission(r["student"].strip(), int(r["chapter"]), folder / r["path"].strip())
                for r in csv.DictReader(f)
            ]
    pattern = layout_regex(layout or "{student}/{chapter}_*.ipynb")
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder).as_posix()
        m = pattern.fullmatch(rel)
        if m and ".ipynb_checkpoints" not in rel:
            found.append(Submission(m["student"], int(m["chapter"]), path))
    return found


def parse_points(specs: Sequence[str], points_csv: Path | None) -> dict[str, float]:
    """Point overrides: ``CH.EX=P`` or ``LABEL=P`` from the command line, and a points CSV.

    >>> parse_points(["1.2=3", "ex-01-rate=0.5"], None)
    {'1.2': 3.0, 'ex-01-rate': 0.5}
    """
    out: dict[str, float] = {}
    if points_csv is not None and points_csv.exists():
        with open(points_csv, newline="") as f:
            for r in csv.DictReader(f):
                out[f"{int(r['chapter'])}.{int(r['exercise'])}"] = float(r["points"])
    for spec in specs:
        key, _, value = spec.partition("=")
        if not value:
            raise GradeError(f"--points {spec!r}: write CHAPTER.EXERCISE=POINTS (1.2=3) or LABEL=POINTS.")
        out[key.strip()] = float(value)
    return out


def _kill(pidfile: Path) -> None:
    try:
        os.killpg(int(pidfile.read_text()), signal.SIGKILL)  # the kernel leads a session of its own
    except (OSError, ValueError):
        pass


# Submissions are prepared and scored in threads, and both parse Python (``ast``). CPython 3.11
# keeps one AST-conversion recursion counter for all threads (cpython gh-106905), so two threads
# parsing at once can fail with "SystemError: AST constructor recursion depth mismatch" (fixed
# in later releases); it struck one submission of the test class on a busy machine. The parsing
# is quick, so it takes turns; the kernels still run side by side.
_PARSING = threading.Lock()


def run_one(sub: Submission, solution: Path, opts: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Grade one submission (its cells run in a runner process); a runner that fails or hangs gives a result too."""
    with _PARSING:
        plan, result = prepare(sub.path, solution)
    if plan is None:
        return result
    fd, name = tempfile.mkstemp(dir=tmp, suffix=".job.json")
    os.close(fd)
    stem = Path(name)
    job = {
        "sources": [step.source for step in plan.steps],
        "timeout": opts["timeout"],
        "cell_timeout": opts["cell_timeout"],
        "setup_timeout": max(opts["cell_timeout"], 300.0),
        "cwd": str(solution.parent),
        "env": {
            "LRCOURSE_PROFILE": "ci",
            "MPLBACKEND": "Agg",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
            **({recorder.HIDDEN: opts["hidden"]} if opts["hidden"] else {}),
        },
        "result": f"{stem}.result",
        "pidfile": f"{stem}.pid",
        "log": f"{stem}.log",
    }
    stem.write_text(json.dumps(job))
    env = {k: v for k, v in os.environ.items() if k not in (recorder.LOG, recorder.HIDDEN)}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("runner.py")), str(stem)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=opts["timeout"] + 120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        _kill(Path(job["pidfile"]))
        result["notes"].append(f"grading stopped after {opts['timeout'] + 120:g} s: the kernel hung and was killed.")
        return result
    if proc.returncode != 0 or not Path(job["result"]).exists():
        last = (err or "").strip().splitlines()[-1:] or ["no message"]
        result["notes"].append(f"running this notebook failed: {last[0][:200]}")
        return result
    with _PARSING:
        return score(plan, result, json.loads(Path(job["result"]).read_text()), opts["timeout"])


def grade(
    submissions: Sequence[Submission],
    book: Path,
    out: Path,
    *,
    timeout: float = 600,
    cell_timeout: float = 120,
    jobs: int | None = None,
    hidden: Path | None = None,
    points: dict[str, float] | None = None,
    echo: bool = True,
) -> list[dict[str, Any]]:
    """Grade ``submissions`` against the chapters of ``book``; write grades.csv and feedback/ to ``out``."""
    found = chapters(book)
    opts = {"timeout": timeout, "cell_timeout": cell_timeout, "hidden": str(hidden.resolve()) if hidden else None}
    jobs = jobs or len(os.sched_getaffinity(0))
    out.mkdir(parents=True, exist_ok=True)
    results: list[tuple[Submission, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = []
        for sub in submissions:
            if sub.chapter not in found:
                results.append((sub, {"exercises": [], "notes": [f"there is no chapter {sub.chapter} in {book}."]}))
                continue
            futures.append((sub, pool.submit(run_one, sub, found[sub.chapter], opts, Path(tmp))))
        for sub, future in futures:
            try:
                result = future.result()
            except Exception as err:  # never let one submission stop the others
                result = {"exercises": None, "notes": [f"grading this notebook failed: {type(err).__name__}: {err}"]}
            results.append((sub, result))
            if echo:
                print(_summary(sub, result, points or {}, found), flush=True)
    table = rows(results, points or {}, found)
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "chapter", "exercise", "points", "max_points"])
        writer.writerows([r["student"], r["chapter"], r["exercise"], f"{r['points']:.2f}", f"{r['max_points']:g}"] for r in table)
    (out / "feedback").mkdir(exist_ok=True)
    for student, text in feedback(results, points or {}, found).items():
        (out / "feedback" / f"{_safe(student)}.md").write_text(text)
    return table


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", name) or "student"


def _summary(sub: Submission, result: dict[str, Any], points: dict[str, float], found: dict[int, Path]) -> str:
    got = rows([(sub, result)], points, found)
    total, best = sum(r["points"] for r in got), sum(r["max_points"] for r in got)
    return f"{sub.student}: chapter {sub.chapter}: {total:.2f} / {best:g} points, {len(result['notes'])} problem(s)"


def hidden_file(folder: Path) -> Path | None:
    """The hidden cases of an instructor's folder: ``hidden_cases.json``, computed again from
    ``hidden_cases.py`` (and the course's hidden cases) when that is newer and the references are here.

    >>> hidden_file(Path("/nonexistent-folder")) is None
    True
    """
    py, js = folder / "hidden_cases.py", folder / "hidden_cases.json"
    stale = py.exists() and (not js.exists() or py.stat().st_mtime > js.stat().st_mtime)
    if stale and (instructor.references_folder() is not None or not js.exists()):
        course = list(instructor.load_references(instructor.references_folder())[1]) if instructor.references_folder() else []
        js, notes = instructor.hidden_json(py, js, course=course)
        for note in notes:
            print(f"lrcourse-grade: {note}", file=sys.stderr)
    return js if js.exists() else None


def _default_book() -> Path:
    here = Path("book")
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "book"


def main(argv: Sequence[str] | None = None) -> int:
    """The ``lrcourse-grade`` command; returns the exit status (2 on bad arguments).

    >>> main(["/nonexistent-folder"])
    2
    """
    parser = argparse.ArgumentParser(prog="lrcourse-grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="folder of the submitted notebooks")
    parser.add_argument("--layout", default=None, help='where each notebook is, e.g. "{student}/{chapter}_*.ipynb" (default)')
    parser.add_argument("--roster", type=Path, default=None, help="CSV with columns student, chapter, path (instead of --layout)")
    parser.add_argument("--book", type=Path, default=None, help="folder of the solution chapters (default: ./book)")
    parser.add_argument("--out", type=Path, default=Path("graded"), help="where grades.csv and feedback/ go (default: graded)")
    parser.add_argument("--instructor", type=Path, default=None, help="lrcourse-assign's instructor folder (hidden_cases.py, points.csv)")
    parser.add_argument("--hidden", type=Path, default=None, help="the hidden cases (a Python file defining CASES)")
    parser.add_argument("--points", nargs="+", default=[], metavar="CH.EX=P", help="points of an exercise (or LABEL=P)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per notebook (default 600)")
    parser.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell (default 120)")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: the available cores)")
    args = parser.parse_args(argv)
    try:
        if not args.submissions.is_dir():
            raise GradeError(f"{args.submissions} is not a folder of submissions.")
        hidden, points_csv = args.hidden, None
        if hidden is not None and not hidden.exists():
            raise GradeError(f"the hidden cases file {hidden} does not exist.")
        if args.instructor is not None:
            points_csv = args.instructor / "points.csv"
            if hidden is None:
                hidden = hidden_file(args.instructor)
        elif hidden is not None and hidden.suffix != ".json":  # expected values from the references, now
            hidden, notes = instructor.hidden_json(hidden, Path(tempfile.mkdtemp()) / "hidden_cases.json")
            for note in notes:
                print(f"lrcourse-grade: {note}", file=sys.stderr)
        subs = find(args.submissions, args.layout, args.roster)
        if not subs:
            raise GradeError(f"no submissions in {args.submissions} match the layout; state it with --layout or --roster.")
        book = args.book or _default_book()
        table = grade(subs, book, args.out, timeout=args.timeout, cell_timeout=args.cell_timeout, jobs=args.jobs,
                      hidden=hidden, points=parse_points(args.points, points_csv))
    except (GradeError, OSError, KeyError, ValueError) as err:
        print(f"lrcourse-grade: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out / 'grades.csv'} ({len(table)} rows) and {args.out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
