"""Time to grade 30 submissions of one chapter with ``lrcourse-grade``.

By default the 30 are three copies of the hostile class of ``tests/grading`` (a tiny
chapter: the time is kernel start-up, imports and the grader's own work, plus the 4 s cell
limit that stops each endless loop of the class, twice per copy); ``--chapter N``
grades 30 copies of the real chapter N's solution notebook instead (then each costs a
full ``ci`` run of the chapter). The baseline, measured in the same run, is one kernel
executing one such notebook start to finish with nbclient, times 30: the ratio says what
running several at once and the grading around them give or cost.

    python benchmarks/bench_grade.py              # the hostile class, 30 submissions
    python benchmarks/bench_grade.py --chapter 1  # 30 copies of chapter 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lrcourse.assign import chapters  # noqa: E402
from lrcourse.grade import cli  # noqa: E402
from tests.grading import hostile_class  # noqa: E402

N = 30


def _one_kernel(path: Path, cwd: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", type=int, default=None, help="grade 30 copies of this real chapter")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: the available cores)")
    args = parser.parse_args(argv or [])
    os.environ.update(LRCOURSE_PROFILE="ci", OMP_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    jobs = args.jobs or len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.chapter is None:
            book = hostile_class.write_book(tmp_path)
            subs = hostile_class.write_class(tmp_path, copies=N // len(hostile_class.submissions()))
            what = "the hostile class (tiny chapter), 3 copies"
            sample, hidden, limit = subs / "alice00" / hostile_class.CHAPTER, hostile_class.HIDDEN, 4.0
        else:
            book = ROOT / "book"
            source = chapters(book)[args.chapter]
            subs = tmp_path / "submissions"
            for k in range(N):
                (subs / f"student{k:02d}").mkdir(parents=True)
                shutil.copyfile(source, subs / f"student{k:02d}" / source.name)
            what = f"chapter {args.chapter} ({source.name}), solution notebooks"
            sample, hidden, limit = source, None, 300.0
        found = cli.find(subs)
        assert len(found) == N, len(found)
        one = _one_kernel(sample, book)
        start = time.perf_counter()
        cli.grade(found, book, tmp_path / "graded", jobs=jobs, hidden=hidden, cell_timeout=limit, timeout=600, echo=False)
        seconds = time.perf_counter() - start
    print(f"## lrcourse-grade: {N} submissions of {what}, {jobs} at once")
    print(f"{seconds:7.1f} s  to grade all {N} ({seconds / N:.2f} s a submission)")
    print(f"{one:7.1f} s  one notebook run once by nbclient (baseline); x{N} = {one * N:.1f} s")
    print(f"{seconds / (one * N):7.2f}    grading time / ({N} x baseline)")


if __name__ == "__main__":
    main(sys.argv[1:])
