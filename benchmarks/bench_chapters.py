"""Execution time of every chapter under the ``ci`` profile (what CI pays per notebook).

Each chapter's output-free ``.ipynb`` runs top to bottom in a fresh kernel with
``LRCOURSE_PROFILE=ci`` and one intra-op thread (as ``make test`` runs them); the time
includes kernel start-up.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

BOOK = Path(__file__).resolve().parents[1] / "book"


def main() -> None:
    os.environ.update(LRCOURSE_PROFILE="ci", OMP_NUM_THREADS="1")
    print("## chapter execution time, profile ci")
    total = 0.0
    for path in sorted(BOOK.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}}).execute()
        seconds = time.perf_counter() - start
        total += seconds
        print(f"{seconds:7.1f} s  {path.name}")
    print(f"{total:7.1f} s  total")


if __name__ == "__main__":
    main()
