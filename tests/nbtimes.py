"""A pytest plugin: print how long each notebook took under nbval, at the end of the run."""

from __future__ import annotations

from collections import defaultdict

_times: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _times[path] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    if not _times:
        return
    terminalreporter.section("notebook execution times (profile ci)")
    for path, seconds in sorted(_times.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
    terminalreporter.write_line(f"{sum(_times.values()):7.1f} s  total")
