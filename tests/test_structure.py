"""The library's imports run one way, and no module imports another package's private names.

The order, bottom to top (a module may import only from layers below its own, or from its own
package; imports inside functions count too, imports under ``if TYPE_CHECKING:`` do not; a
dotted name such as ``grade.recorder`` places one module of a package on its own):

    0  runtime            precision, placement, progress bars, generators, LR ratios, EMA,
                          atomic save, the loss registry: imports nothing from lrcourse
    1  profiles, plots    the profile and seeds; drawing (plots draws what it is given)
    2  data               datasets as tensors on the device, index-slice batches, augmentation
    3  models, schedules, optim, scaling, toys, landscape, finetune, sequences
    4  train              History, evaluate, train_step, fit
    5  lr_finder, ensembles, sharpness, speedrun, learned
    6  widgets            ipywidgets front ends
    7  grade.recorder, grade.nbgrader, grade.instructor, grade.library   (what check and assign call)
    8  check, assign      exercise checkers and the student-notebook generator
    9  grade              lrcourse-grade's driver (restores and scores notebooks)
    10 lrcourse           the package's __init__, which re-exports

``KNOWN_PRIVATE`` lists the private names still imported across packages, for their owners to
make public; a new one fails.

The two ``.plot()`` conveniences (``History.plot``, ``RangeTestResult.plot``) import ``plots``,
which sits below them, so they need no exception.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "lrcourse"

LAYERS: list[set[str]] = [
    {"runtime"},
    {"profiles", "plots"},
    {"data"},
    {"models", "schedules", "optim", "scaling", "toys", "landscape", "finetune", "sequences"},
    {"train"},
    {"lr_finder", "ensembles", "sharpness", "speedrun", "learned"},
    {"widgets"},
    {"grade.recorder", "grade.nbgrader", "grade.instructor", "grade.library"},  # what check and assign call
    {"check", "assign"},
    {"grade"},  # lrcourse-grade's driver: restores and scores notebooks with assign and check
    {""},
]
# Known exceptions, each to be removed by the owner of the importing module (a new one fails the tests):
KNOWN_PRIVATE: set[tuple[str, str, str]] = set()


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    base = ROOT / dotted.replace(".", "/")
    return bool(dotted) and (base.with_suffix(".py").exists() or (base / "__init__.py").exists())


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:`` (not imported when the code runs)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _edges() -> list[tuple[str, str, str, int]]:
    """(importer, imported module, imported name, line) for every run-time import of lrcourse inside lrcourse."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        mod = _name(path)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        tree = ast.parse(path.read_text())
        skip = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".") if package else []
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                elif node.module == "lrcourse" or (node.module or "").startswith("lrcourse."):
                    target = node.module.removeprefix("lrcourse").lstrip(".")
                else:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}" if target else alias.name
                    # `from . import x` / `from lrcourse.grade import recorder` may name a module
                    out.append((mod, sub, "", node.lineno) if _is_module(sub) else (mod, target, alias.name, node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "lrcourse" or alias.name.startswith("lrcourse."):
                        out.append((mod, alias.name.removeprefix("lrcourse").lstrip("."), "", node.lineno))
    return out


def _layer(mod: str) -> int:
    """The layer of the longest dotted prefix of ``mod`` that LAYERS names."""
    parts = mod.split(".")
    for k in range(len(parts), 0, -1):
        prefix = ".".join(parts[:k])
        for i, layer in enumerate(LAYERS):
            if prefix in layer:
                return i
    if mod == "":
        return len(LAYERS) - 1
    raise AssertionError(f"lrcourse.{mod} is in no layer: add it to LAYERS in tests/test_structure.py.")


def test_every_module_has_a_layer() -> None:
    for path in ROOT.rglob("*.py"):
        _layer(_name(path))


def _upward(edges: list[tuple[str, str, str, int]]) -> list[str]:
    return [
        f"lrcourse.{a} (layer {_layer(a)}) imports lrcourse.{b} (layer {_layer(b)}) at line {line}"
        for a, b, _, line in edges
        if a.split(".")[0] != b.split(".")[0] and _layer(b) >= _layer(a)
    ]


def _cycle(edges: list[tuple[str, str, str, int]]) -> list[str] | None:
    """One import circle, or None. A module importing its own package (``from . import x``) is left out."""
    graph: dict[str, set[str]] = {}
    for a, b, _, _ in edges:
        if a != b and not a.startswith(b + ".") and b != "":
            graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_imports_only_go_down() -> None:
    upward = _upward(_edges())
    assert not upward, "upward or sideways imports:\n" + "\n".join(upward)


def test_no_import_circle() -> None:
    cycle = _cycle(_edges())
    assert cycle is None, "import circle: " + " -> ".join(f"lrcourse.{m}" for m in cycle or [])


def test_no_private_names_cross_a_package() -> None:
    """``from .x import _name`` only between modules of one package (``lrcourse.learned`` shares its own)."""
    leaks = [
        f"lrcourse.{a} imports {name} from lrcourse.{b} (line {line})"
        for a, b, name, line in _edges()
        if name.startswith("_") and not name.startswith("__") and a.split(".")[0] != b.split(".")[0]
        and (a, b, name) not in KNOWN_PRIVATE
    ]
    assert not leaks, "private names imported across packages:\n" + "\n".join(leaks)


def test_the_checks_can_fail() -> None:
    edges = _edges()
    assert ("lr_finder", "train") in [(a, b) for a, b, _, _ in edges]  # the parser sees the real edges
    assert _upward([("runtime", "train", "fit", 1)]) and not _upward([("train", "runtime", "place", 1)])
    assert _cycle(edges + [("runtime", "lr_finder", "range_test", 1)]) is not None
