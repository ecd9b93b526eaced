"""Grading mode of the checkers: count every case, record it, raise nothing.

``lrcourse-grade`` runs each submission in a kernel whose environment names a log file,
``LRCOURSE_GRADING=<path>``. There :func:`lrcourse.check.compare` and
:func:`lrcourse.check.value` hand their work to this module: every case runs (the public
ones and the instructor's hidden ones, ``LRCOURSE_HIDDEN_CASES=<file>``), a wrong or
crashing case counts as one failed case instead of stopping the check, and one JSON line per
call goes to the log: ``{"check", "passed", "total", "hidden_passed", "hidden_total",
"messages"}``. Without ``LRCOURSE_GRADING`` none of this runs, so a self-study reader sees
exactly the checkers' usual lines and :class:`~lrcourse.check.CheckFailed`.

The hidden cases are kept by the instructor (never in what students receive): a JSON file
written by ``lrcourse-assign --instructor`` or ``lrcourse-grade`` (:func:`encode` of
``{name: [{"args": [...], "expected": value}, ...]}``, the expected values computed by the
references of the source checkout, ``tests/references``), or a Python file::

    import torch
    CASES = {
        "gd_step": [(torch.tensor([3.0]), torch.tensor([1.0]), 0.25)],   # arguments: expected from the reference
        "double": [{"args": (21,), "expected": 42}],                     # or arguments and expected value
    }

:func:`encode` and :func:`decode` also store the expected values of the checkers' public
cases (``lrcourse/check/expected/<module>.json``): tensors with their dtype and every value
exactly (a float's ``repr`` round-trips).
"""

from __future__ import annotations

import copy
import json
import os
import runpy
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import torch

LOG = "LRCOURSE_GRADING"
HIDDEN = "LRCOURSE_HIDDEN_CASES"
_MISSING = object()


def active() -> bool:
    """Whether the checkers run in grading mode (``LRCOURSE_GRADING`` names a log file).

    >>> import os; os.environ.pop(LOG, None) and None; active()
    False
    """
    return bool(os.environ.get(LOG))


def encode(v: Any) -> Any:
    """A JSON-ready form of ``v`` (numbers, strings, lists, tuples, dicts, tensors), exact.

    >>> encode((torch.tensor([0.1, 2.0], dtype=torch.float64), [1, "a"], None))
    {'tuple': [{'tensor': 'float64', 'shape': [2], 'values': [0.1, 2.0]}, [1, 'a'], None]}
    >>> x = torch.randn(3, 2); torch.equal(decode(json.loads(json.dumps(encode(x)))), x)
    True
    """
    if isinstance(v, torch.Tensor):
        t = v.detach().cpu()
        return {"tensor": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "values": t.reshape(-1).tolist()}
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, tuple):
        return {"tuple": [encode(x) for x in v]}
    if isinstance(v, list):
        return [encode(x) for x in v]
    if isinstance(v, dict):
        return {"dict": [[encode(k), encode(x)] for k, x in v.items()]}
    if hasattr(v, "item") and hasattr(v, "dtype"):  # a NumPy scalar
        return v.item()
    raise TypeError(f"cannot store a {type(v).__name__} as a case or an expected value")


def decode(v: Any) -> Any:
    """The value :func:`encode` stored.

    >>> decode({"tuple": [1.5, {"dict": [["k", [True]]]}]})
    (1.5, {'k': [True]})
    """
    if isinstance(v, list):
        return [decode(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "tensor" in v:
        dtype = getattr(torch, v["tensor"])
        return torch.tensor(v["values"], dtype=dtype).reshape(v["shape"])
    if "tuple" in v:
        return tuple(decode(x) for x in v["tuple"])
    return {decode(k): decode(x) for k, x in v["dict"]}


def read_cases(path: str | Path) -> dict[str, list[Any]]:
    """The cases of a hidden-cases file: JSON (``{name: [{"args": ..., "expected": ...}]}``, each value as
    :func:`encode` wrote it), or Python defining ``CASES``.

    >>> import tempfile; f = Path(tempfile.mkdtemp()) / "h.json"
    >>> _ = f.write_text(json.dumps({"double": [{"args": {"tuple": [2]}, "expected": 4}]})); read_cases(f)
    {'double': [{'args': (2,), 'expected': 4}]}
    """
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        return {name: [{k: decode(v) for k, v in case.items()} for case in cases] for name, cases in data.items()}
    return dict(runpy.run_path(str(path)).get("CASES", {}))


@cache
def _hidden_file(path: str) -> dict[str, list[Any]]:
    return read_cases(path)


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
    reference: Callable[..., Any] | None,
    cases: Sequence[Sequence[Any]],
    *,
    hint: str,
    tol: float,
    close: Callable[[Any, Any, float], bool],
    short: Callable[[Any], str],
    expected: Sequence[Any] | None = None,
) -> None:
    """Grading-mode :func:`lrcourse.check.compare`: run every public and hidden case, log the count.

    ``expected``: the public cases' stored answers (then ``reference`` is None, and a hidden case
    needs its own expected value, which ``lrcourse-assign --instructor`` computes).
    """
    hidden = hidden_cases(name)
    public = [_MISSING] * len(cases) if expected is None else list(expected)
    everything = [(tuple(c), e, False) for c, e in zip(cases, public, strict=True)] + [(a, e, True) for a, e in hidden]
    passed = {False: 0, True: 0}
    total = {False: 0, True: 0}
    messages: list[str] = []
    stop: str | None = None
    if student is Ellipsis or student is None:
        stop = f"❌ {name}: no answer yet. Hint: {hint}"
    for k, (case, expected, is_hidden) in enumerate(everything):
        if expected is _MISSING:
            if reference is None:
                messages.append(f"⚠ {name}: hidden case {k + 1 - len(cases)} left out, it has no expected value "
                                "(lrcourse-assign --instructor computes them from a source checkout).")
                continue
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
