"""Exercise checkers: compare a student's answer with the expected one, say so in one line.

Each checker runs the student's function (or value) on several inputs, edge cases
included, prints one friendly line, and raises :class:`CheckFailed` (an
``AssertionError``, so autograders see it) with what was expected, what came back and a
hint when the answer is wrong.

No reference answer ships here: a checker's public cases are inputs in its code and their
expected outputs are data, ``lrcourse/check/expected/<module>.json``, computed by the
references kept in the source repository (``tests/references/<module>.py``, with
``tests/references/make_expected.py``). Grading (``lrcourse-grade``) adds the instructor's
hidden cases.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import torch

from lrcourse.grade import recorder as _grading


class CheckFailed(AssertionError):
    """A wrong answer: the message says what was expected, what came back, and a hint."""


def _close(a: Any, b: Any, tol: float) -> bool:
    if isinstance(b, torch.Tensor) or isinstance(a, torch.Tensor):
        a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol, equal_nan=True))
    if isinstance(b, float) or isinstance(a, float):
        if a is None:
            return False
        a, b = float(a), float(b)
        return (math.isinf(a) and a == b) or math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    return a == b


def _short(v: Any) -> str:
    if callable(v) and hasattr(v, "__name__"):
        return v.__name__.lstrip("_")  # a test function: its name says what it is
    if isinstance(v, torch.Tensor):
        v = v.tolist()
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


EXPECTED = Path(__file__).with_name("expected")
# Set by tests/references/make_expected.py: called as recording(name, cases) instead of checking.
recording: Callable[[str, list[Sequence[Any]]], None] | None = None


@cache
def _stored_file(module: str) -> dict[str, list[Any]]:
    path = EXPECTED / f"{module}.json"
    return json.loads(path.read_text()) if path.exists() else {}


@cache
def _owner(name: str) -> str:
    """The module whose ``expected/<module>.json`` stores checker ``name`` ('' if none does)."""
    owners = [path.stem for path in sorted(EXPECTED.glob("*.json")) if name in _stored_file(path.stem)]
    if len(owners) > 1:
        raise RuntimeError(f"lrcourse.check: checker name {name!r} is stored by {owners}; names must be unique.")
    return owners[0] if owners else ""


def stored(name: str, n: int, module: str = "") -> list[Any]:
    """The expected outputs of checker ``name``'s ``n`` public cases, from ``expected/<module>.json``.

    ``module`` defaults to the one file that stores ``name`` (checker names are unique).

    >>> len(stored("gd_step", 4))
    4
    >>> _owner("gd_step")
    'basics'
    """
    module = module or _owner(name)
    values = _stored_file(module).get(name)
    if values is None or len(values) != n:
        raise RuntimeError(
            f"lrcourse.check: no stored expected values for {name}'s {n} cases in expected/{module or '*'}.json; "
            "run tests/references/make_expected.py in the source repository."
        )
    return [_grading.decode(v) for v in values]


def compare(
    name: str,
    student: Callable[..., Any],
    reference: Callable[..., Any] | None,
    cases: Iterable[Sequence[Any]],
    *,
    hint: str,
    tol: float = 1e-6,
    module: str = "",
) -> None:
    """Run ``student(*case)`` on every case and compare with the expected output; pass or raise.

    The expected outputs come from ``reference(*case)``, or, when ``reference`` is None, from the
    values stored for checker ``name`` in ``expected/<module>.json`` (``module``: the file that
    stores ``name``, by default).

    >>> compare("double", lambda x: 2 * x, lambda x: x + x, [(1,), (2,)], hint="x + x")
    ✅ double: right on all 2 cases.
    >>> compare("best_constant_lr", lambda h: 0.1, None, [([1.0, 10.0],)] * 4, hint="balance", module="basics")
    Traceback (most recent call last):
    ...
    lrcourse.check.CheckFailed: ❌ best_constant_lr([1.0, 10.0]): expected 0.18181818181818182, got 0.1. Hint: balance
    """
    cases = list(cases)
    if recording is not None:
        return recording(name, cases) if reference is None else None
    expected_values = None if reference is not None else stored(name, len(cases), module)
    if _grading.active():  # lrcourse-grade: count every case (hidden ones too), raise nothing
        return _grading.compare(name, student, reference, cases, hint=hint, tol=tol, close=_close, short=_short,
                                expected=expected_values)
    for k, case in enumerate(cases):
        expected = reference(*case) if expected_values is None else expected_values[k]
        if student is Ellipsis or student is None:
            raise CheckFailed(f"❌ {name}: no answer yet. Hint: {hint}")
        try:
            got = student(*case)
        except NotImplementedError as err:
            said = f" ({err})" if str(err) else ""
            raise CheckFailed(f"❌ {name}: not implemented yet{said}. Hint: {hint}") from None
        if not _close(got, expected, tol):
            args = ", ".join(_short(c) for c in case)
            raise CheckFailed(
                f"❌ {name}({args}): expected {_short(expected)}, got {_short(got)}. Hint: {hint}"
            )
    print(f"✅ {name}: right on all {len(cases)} cases.")


def value(name: str, got: Any, expected: Any, *, hint: str, tol: float = 1e-6) -> None:
    """Check a single value against the reference value.

    >>> value("answer", 42, 42, hint="six times seven")
    ✅ answer: right.
    """
    if _grading.active():
        return _grading.value(name, got, expected, hint=hint, tol=tol, close=_close, short=_short)
    if got is Ellipsis or got is None:
        raise CheckFailed(f"❌ {name}: no answer yet. Hint: {hint}")
    if not _close(got, expected, tol):
        raise CheckFailed(f"❌ {name}: expected {_short(expected)}, got {_short(got)}. Hint: {hint}")
    print(f"✅ {name}: right.")


# Each chapter's checkers live in a module of their own; `lrcourse.check.<name>` finds them all.
from .basics import *  # noqa: E402,F403
from .batch_size import *  # noqa: E402,F403
from .capstone import *  # noqa: E402,F403
from .clipping import *  # noqa: E402,F403
from .critical import *  # noqa: E402,F403
from .ensembles import *  # noqa: E402,F403
from .finetune import *  # noqa: E402,F403
from .learned import *  # noqa: E402,F403
from .losses import *  # noqa: E402,F403
from .normalization import *  # noqa: E402,F403
from .optimizers import *  # noqa: E402,F403
from .range_test import *  # noqa: E402,F403
from .schedules import *  # noqa: E402,F403
from .sharpness import *  # noqa: E402,F403
