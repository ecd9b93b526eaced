"""pytest plugin for the chapters under nbval: per-notebook times, and the book's execution cache.

nbval executes every chapter once. The book build (myst-nb with ``execute_notebooks: cache``)
would execute them all again; instead, once every cell of a notebook has passed, this plugin
stores the outputs nbval collected in the book's jupyter-cache (``_build/.jupyter_cache``),
keyed by the hash of the notebook's code. ``make book`` after ``make test`` then renders the
chapters without executing them a second time. A chapter whose code changed since has another
hash, and the book executes it afresh.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest

CACHE = Path(__file__).resolve().parents[1] / "_build" / ".jupyter_cache"

_seconds: dict[str, float] = defaultdict(float)
_outputs: dict[int, list] = {}  # id(cell) -> the outputs nbval collected for it
_failed: set[str] = set()
_files: dict[str, object] = {}  # notebook path -> nbval's IPyNbFile


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    report = yield
    path = str(getattr(item, "fspath", ""))
    if path.endswith(".ipynb") and hasattr(item, "cell"):
        _files[path] = item.parent
        if report.failed:
            _failed.add(path)
        if call.when == "call" and getattr(item, "test_outputs", None) is not None:
            _outputs[id(item.cell)] = list(item.test_outputs)
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration


def _cache_executed(path: str, nbfile: object) -> bool:
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = nbfile.nb  # type: ignore[attr-defined]
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if id(cell) not in _outputs:
            return False  # a cell did not run (deselected, skipped): leave the book to execute it
        count += 1
        cell.outputs = _outputs[id(cell)]
        cell.execution_count = count
    source = str(Path(path).with_suffix(".md"))
    bundle = CacheBundleIn(nb, source, data={"execution_seconds": _seconds.get(path, 0.0), "by": "nbval"})
    get_cache(str(CACHE)).cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    return True


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _files:
        return
    started = time.perf_counter()
    cached = [p for p, f in _files.items() if p not in _failed and _cache_executed(p, f)]
    session.config._lrcourse_cached = (len(cached), time.perf_counter() - started)  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _seconds:
        return
    terminalreporter.section("notebook execution times (profile ci)")
    for path, seconds in sorted(_seconds.items()):
        mark = " FAILED" if any(path.endswith(Path(f).name) for f in _failed) else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{mark}")
    terminalreporter.write_line(f"{sum(_seconds.values()):7.1f} s  total")
    cached = getattr(terminalreporter.config, "_lrcourse_cached", None)
    if cached:
        terminalreporter.write_line(f"{cached[0]} executed notebooks stored in {CACHE} for `make book`")
