"""Grading mode of the checkers: count every case, record it, raise nothing.

``lrcourse-grade`` runs each submission in a kernel whose environment names a log file,
``LRCOURSE_GRADING=<path>``. There :func:`lrcourse.check.compare` and
:func:`lrcourse.check.value` hand their work to this module: every case runs (the public
ones and the instructor's hidden ones, ``LRCOURSE_HIDDEN_CASES=<file>``), a wrong or
crashing case counts as one failed case instead of stopping the check, and one JSON line per
call goes to the log: ``{"check", "passed", "total", "hidden_passed", "hidden_total",
"messages"}``. Without ``LRCOURSE_GRADING`` none of this runs, so a self-study reader sees
exactly the checkers' usual lines and :class:`~lrcourse.check.CheckFailed`.

The hidden-cases file is Python, kept by the instructor (never in what students receive)::

    import torch
    CASES = {
        "gd_step": [(torch.tensor([3.0]), torch.tensor([1.0]), 0.25)],   # arguments: expected from the reference
        "double": [{"args": (21,), "expected": 42}],                     # or arguments and expected value
    }
"""

from __future__ import annotations

import copy
import json
import os
import runpy
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

LOG = "LRCOURSE_GRADING"
HIDDEN = "LRCOURSE_HIDDEN_CASES"
_MISSING = object()


def active() -> bool:
    """Whether the checkers run in grading mode (``LRCOURSE_GRADING`` names a log file).

    >>> import os; os.environ.pop(LOG, None) and None; active()
    False
    """
    return bool(os.environ.get(LOG))


@cache
def _hidden_file(path: str) -> dict[str, list[Any]]:
    return dict(runpy.run_path(path).get("CASES", {}))


def hidden_cases(name: str) -> list[tuple[tuple[Any, ...], Any]]:
    """The hidden cases of checker ``name`` as ``(args, expected or _MISSING)`` pairs.

    >>> os.environ.pop(HIDDEN, None) and None; hidden_cases("gd_step")
    []
    """
    path = os.environ.get(HIDDEN)
    if not path:
        return []
    out = []
    for case in _hidden_file(path).get(name, []):
        if isinstance(case, dict):
            out.append((tuple(case["args"]), case.get("expected", _MISSING)))
        else:
            out.append((tuple(case), _MISSING))
    return out


def _write(record: dict[str, Any]) -> None:
    with open(os.environ[LOG], "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def compare(
    name: str,
    student: Any,
    reference: Callable[..., Any],
    cases: Sequence[Sequence[Any]],
    *,
    hint: str,
    tol: float,
    close: Callable[[Any, Any, float], bool],
    short: Callable[[Any], str],
) -> None:
    """Grading-mode :func:`lrcourse.check.compare`: run every public and hidden case, log the count."""
    hidden = hidden_cases(name)
    everything = [(tuple(c), _MISSING, False) for c in cases] + [(a, e, True) for a, e in hidden]
    passed = {False: 0, True: 0}
    total = {False: 0, True: 0}
    messages: list[str] = []
    stop: str | None = None
    if student is Ellipsis or student is None:
        stop = f"❌ {name}: no answer yet. Hint: {hint}"
    for k, (case, expected, is_hidden) in enumerate(everything):
        if expected is _MISSING:
            try:
                expected = reference(*copy.deepcopy(case))
            except Exception as err:  # a bad hidden case is the instructor's, not the student's
                messages.append(f"⚠ {name}: case {k + 1} left out, the reference failed on it ({err!r}).")
                continue
        total[is_hidden] += 1
        if stop is not None:
            continue
        where = "a hidden case" if is_hidden else f"{name}({', '.join(short(c) for c in case)})"
        try:
            got = student(*copy.deepcopy(case))
        except NotImplementedError as err:
            said = f" ({err})" if str(err) else ""
            stop = f"❌ {name}: not implemented yet{said}. Hint: {hint}"
            continue
        except AssertionError as err:  # CheckFailed raised by a checker's wrapper around the student's function
            messages.append(str(err))
            continue
        except Exception as err:
            messages.append(f"❌ {where} raised {type(err).__name__}: {err}. Hint: {hint}")
            continue
        try:
            ok = bool(close(got, expected, tol))
        except Exception:
            ok = False
        if ok:
            passed[is_hidden] += 1
        elif is_hidden:
            messages.append(f"❌ {name}: wrong on a hidden case. Hint: {hint}")
        else:
            messages.append(f"❌ {where}: expected {short(expected)}, got {short(got)}. Hint: {hint}")
    if stop is not None:
        messages.insert(0, stop)
    n, right = total[False] + total[True], passed[False] + passed[True]
    _write(
        {
            "check": name,
            "passed": passed[False],
            "total": total[False],
            "hidden_passed": passed[True],
            "hidden_total": total[True],
            "messages": messages[:3],
        }
    )
    print(f"{'✅' if right == n else '❌'} {name}: right on {right} of {n} cases (grading).")


def value(name: str, got: Any, expected: Any, *, hint: str, tol: float, close: Callable[[Any, Any, float], bool],
          short: Callable[[Any], str]) -> None:
    """Grading-mode :func:`lrcourse.check.value`: one case, logged."""
    if got is Ellipsis or got is None:
        ok, message = False, f"❌ {name}: no answer yet. Hint: {hint}"
    else:
        try:
            ok = close(got, expected, tol)
        except Exception as err:
            ok, message = False, f"❌ {name}: could not compare {short(got)} ({type(err).__name__}: {err}). Hint: {hint}"
        else:
            message = f"❌ {name}: expected {short(expected)}, got {short(got)}. Hint: {hint}"
    _write({"check": name, "passed": int(ok), "total": 1, "hidden_passed": 0, "hidden_total": 0,
            "messages": [] if ok else [message]})
    print(f"{'✅' if ok else '❌'} {name}: {'right' if ok else 'wrong'} (grading).")
