"""Write the checkers' stored expected values: ``lrcourse/check/expected/<module>.json``.

The reference answers of the exercises live here, outside the package students install:
``tests/references/<module>.py`` defines ``REFERENCES``, one function per checker (keyed by the
name the checker gives :func:`lrcourse.check.compare`) that returns what ``compare`` must see for
one case, and ``HIDDEN``, the course's own hidden cases (argument tuples, as the public cases).

Each checker is run in recording mode (:data:`lrcourse.check.recording`): ``compare`` hands over
its public cases instead of checking, and the reference computes their expected outputs. Run it
after changing a checker's cases or a reference::

    python tests/references/make_expected.py            # every module that has references
    python tests/references/make_expected.py basics     # one module

``tests/test_no_answers.py`` fails while the stored values differ from what the references compute.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import json
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import lrcourse.check as check  # noqa: E402
from lrcourse.grade.recorder import encode  # noqa: E402


def modules() -> list[str]:
    """The checker modules that have references here."""
    return sorted(info.name for info in pkgutil.iter_modules(check.__path__) if (HERE / f"{info.name}.py").exists())


def references(module: str) -> Any:
    """The references module ``tests/references/<module>.py`` (loaded by path)."""
    spec = importlib.util.spec_from_file_location(f"lrcourse_references_{module}", HERE / f"{module}.py")
    assert spec and spec.loader
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    return ref


class _Recorded(Exception):
    """Stops a checker once ``compare`` handed over its cases (the rest would run the student's function)."""


def _unused(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("recording mode: the checker ran the student's function outside compare")


def public_cases(module: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each checker's public cases, by the name it gives ``compare`` (the checkers run in recording mode)."""
    mod = importlib.import_module(f"lrcourse.check.{module}")
    found: dict[str, list[tuple[Any, ...]]] = {}

    def record(name: str, cases: list[Any]) -> None:
        assert name not in found, f"{module}: two compare calls named {name!r}"
        found[name] = [tuple(c) for c in cases]
        raise _Recorded

    check.recording = record
    try:
        for name in mod.__all__:
            fn = getattr(mod, name)
            params = inspect.signature(fn).parameters.values()
            required = [p for p in params if p.default is p.empty]
            try:  # a checker of a rule string gets a string that parses
                fn(*["g" if p.annotation in ("str", str) else _unused for p in required])
            except _Recorded:
                pass
    finally:
        check.recording = None
    return found


def expected(module: str) -> dict[str, list[Any]]:
    """The expected output of every stored public case of ``module``, computed by its references."""
    refs: dict[str, Callable[..., Any]] = references(module).REFERENCES
    out = {}
    for name, cases in public_cases(module).items():
        assert name in refs, f"tests/references/{module}.py: no reference for {name!r}"
        out[name] = [refs[name](*copy.deepcopy(c)) for c in cases]
    return out


def write(module: str) -> Path:
    path = Path(check.__file__).with_name("expected") / f"{module}.json"
    path.parent.mkdir(exist_ok=True)
    data = {name: [encode(v) for v in values] for name, values in sorted(expected(module).items())}
    blocks = [
        f"{json.dumps(name)}: [\n" + ",\n".join(f"  {json.dumps(v, ensure_ascii=False)}" for v in values) + "\n ]"
        for name, values in data.items()
    ]
    path.write_text("{\n " + ",\n ".join(blocks) + "\n}\n")
    return path


def main(argv: list[str]) -> None:
    for module in argv or modules():
        print("wrote", write(module).relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])
