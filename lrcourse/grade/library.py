"""Answers that call the library instead of implementing the exercise.

An answer may use what the instructor's solution uses (``lrcourse.train.fit`` to train, say),
but not another piece of ``lrcourse`` — typically the library's own version of what the
exercise asks for — and never ``lrcourse.check``, where the references live. Names are
resolved through every import of the notebook (``from lrcourse import schedules as s`` then
``s.cosine`` is ``lrcourse.schedules.cosine``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable


def aliases(sources: Iterable[str]) -> dict[str, str]:
    """Local name -> dotted ``lrcourse`` path, from the imports of ``sources``.

    >>> aliases(["import lrcourse", "from lrcourse import schedules as s", "from lrcourse.toys import quadratic"])
    {'lrcourse': 'lrcourse', 's': 'lrcourse.schedules', 'quadratic': 'lrcourse.toys.quadratic'}
    """
    found: dict[str, str] = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "lrcourse":
                        found[a.asname or "lrcourse"] = a.name if a.asname else "lrcourse"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lrcourse":
                for a in node.names:
                    found[a.asname or a.name] = f"{node.module}.{a.name}"
    return found


def _chain(node: ast.AST) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def library_names(source: str, names: dict[str, str]) -> set[str]:
    """The ``lrcourse`` names a cell uses (longest dotted paths), through the aliases ``names``.

    >>> sorted(library_names("y = s.cosine(1.0, 10)(3) + lrcourse.toys.f(2)", {"s": "lrcourse.schedules", "lrcourse": "lrcourse"}))
    ['lrcourse.schedules.cosine', 'lrcourse.toys.f']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    local = {**names, **aliases([source])}
    used: set[str] = set()
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lrcourse":
            used.update(f"{node.module}.{a.name}" for a in node.names)
        if isinstance(node, ast.Attribute | ast.Name) and id(node) not in inner:
            chain = _chain(node)
            if isinstance(node, ast.Attribute):
                sub = node.value
                while isinstance(sub, ast.Attribute):
                    inner.add(id(sub))
                    sub = sub.value
                inner.add(id(sub))
            if chain and chain[0] in local and (len(chain) > 1 or local[chain[0]] != "lrcourse"):
                used.add(".".join([local[chain[0]], *chain[1:]]))
    return used


def foreign(student: set[str], allowed: set[str]) -> list[str]:
    """The library names of ``student`` that the solution does not use (``lrcourse.check`` never allowed).

    >>> foreign({"lrcourse.schedules.cosine", "lrcourse.train.fit"}, {"lrcourse.train.fit"})
    ['lrcourse.schedules.cosine']
    """
    out = []
    for name in sorted(student):
        if name.startswith("lrcourse.check") or not any(a == name or a.startswith(name + ".") for a in allowed):
            out.append(name)
    return out
