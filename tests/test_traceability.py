"""Traceability, d2l-style: every public name of lrcourse is used somewhere, and says where.

A public name is one in a module's ``__all__`` (or, in a module without one, a top-level
``def``, ``class`` or assignment without a leading underscore) of the library proper: every
module directly under ``lrcourse/`` and the ``learned`` package, not ``check``, ``grade`` or
``assign``. It is *used* when a chapter (``book/NN_*.md``), a checker (``lrcourse/check``, and
the references in ``tests/references``) or a benchmark (``benchmarks/``) names it through
lrcourse: ``lrcourse.name``, ``lrcourse.module.name``, ``alias.name`` after
``from lrcourse import module as alias`` (``from .. import module`` in a checker), or
``from lrcourse.module import name``. A re-export counts for the function it re-exports
(``train.mse_onehot`` is ``runtime.mse_onehot``).

The tests fail

* on a public name that nothing uses and that is not in ``ENGINE_INTERNAL`` (the names the
  library's own machinery needs, or a reader's tool kept on purpose, each with a comment);
* on a public function or class whose docstring lacks the line ``Used in: chapter 3.`` /
  ``Used in: chapters 3, 5, 12.`` / ``Used in: no chapter.`` (optionally followed by more words),
  or whose chapters are not exactly the chapters that use it.

A text scan, no import: under a second. After a chapter starts (or stops) using a name, rewrite
the lines with ``python tests/test_traceability.py --write``.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lrcourse"
SKIP = {"check", "grade", "assign", "__init__"}

# Public names that no chapter, checker or benchmark calls, and why they stay. Keep the comment
# true; a name that gets used elsewhere may stay listed (the list is an allowance, not a claim).
ENGINE_INTERNAL: dict[str, str] = {
    # runtime: the pieces fit, evaluate and range_test share (tests/test_structure.py keeps it at the bottom)
    "runtime.Amp": "type of fit's and range_test's amp argument",
    "runtime.Precision": "what runtime.precision returns",
    "runtime.bf16_native": "runtime.precision's rule",
    "runtime.precision": "fit, evaluate and range_test ask it for the precision",
    "runtime.place": "fit and range_test move the model where the data is",
    "runtime.tune_for": "fit turns on cuDNN's autotuner for images",
    "runtime.channels_last": "fit and evaluate lay images out for fast convolutions",
    "runtime.LOSSES": "the loss registry behind fit(loss=...)",
    "runtime.get_loss": "fit, evaluate and range_test resolve loss names with it",
    "runtime.progress": "every progress bar of the library",
    "runtime.generator": "fit's and range_test's batch-order generators",
    "runtime.lr_ratios": "fit and range_test keep param groups' ratios",
    "runtime.set_lr": "fit and range_test set the rates",
    "runtime.EMA": "smooth_losses and range_test's stopping rule",
    "runtime.eval_mode": "evaluate, ensembles and landscape",
    "runtime.closure_loss": "the step() of every optimizer in optim, scaling and learned",
    "runtime.atomic_save": "data's downloads and ensembles.Snapshots",
    "runtime.check_positive": "argument checks of schedules and scaling",
    "runtime.check_count": "argument checks of schedules, scaling and data",
    "runtime.Schedule": "type of a schedule",
    "runtime.LossFn": "type of a loss function",
    # train: the loop's parts, public so that range_test shares them and readers can read them
    "train.Batch": "type of an (x, y) batch",
    "train.BatchSource": "fit's and range_test's batches from Data or any iterable",
    "train.EpochCallback": "type of fit's on_epoch_end",
    "train.train_step": "the one training step of fit and range_test",
    "train.grad_norm": "the gradient norm fit records",
    # lr_finder: the suggestion rules behind RangeTestResult.suggest, pluggable by name
    "lr_finder.Rule": "type of a suggestion rule",
    "lr_finder.Descent": "what a suggestion rule reads",
    "lr_finder.valley": "a rule in RULES (suggest('valley'))",
    "lr_finder.steepest": "a rule in RULES (suggest('steepest'))",
    "lr_finder.min10": "a rule in RULES (suggest('min10'))",
    "lr_finder.Spread": "what RangeTestResult.spread returns",
    "lr_finder.preserved": "range_test puts model, optimizer and RNG back with it",
    "lr_finder.diverged": "range_test's stopping rule",
    "lr_finder.growth_factor": "range_test's exponential plan",
    "lr_finder.default_num_iter": "range_test's default length",
    "lr_finder.lr_schedule_linear": "range_test(step_mode='linear')",
    # schedules: fastai-style building blocks (one_cycle is written with them) and the LambdaLR bridge
    "schedules.Anneal": "one phase of combine (one_cycle's phases)",
    "schedules.anneal": "one phase of combine (one_cycle's phases)",
    "schedules.combine": "one_cycle and one_cycle_momentum are written with it",
    "schedules.as_lambda_lr": "any schedule as torch's LambdaLR, for readers' own loops",
    # readers' tools beside the ones the chapters call (tested in tests/)
    "landscape.hvp": "a Hessian-vector product of a model; top_hessian_eigenvalues uses the same operator",
    "landscape.random_direction": "Li et al.'s filter-normalized directions for loss_surface and loss_along_line",
    "landscape.loss_along_line": "the 1-D cut of loss_surface",
    "finetune.trainable_groups": "which layers freeze/unfreeze_top left trainable (the doctests read it)",
    "data.batches": "index-slice batches, what fit uses for Data",
    "data.DATASETS": "the loaders by name, behind load",
    "profiles.colab_note": "printed on import on Colab without a GPU",
    "models.for_data": "a default model for a Data's shape",
    "plots.history_figure": "History.plot",
    "plots.range_test_figure": "RangeTestResult.plot",
    "plots.style": "each chapter's setup cell calls lrcourse.plots.style()",
    "lr_finder.RULES": "the suggestion rules by name, behind RangeTestResult.suggest",
    "lr_finder.Suggestion": "what RangeTestResult.suggest returns",
    "lr_finder.stop_index": "range_test's stopping rule replayed on a recorded curve",
    "data.augment": "fit(augment=True)",
    "finetune.discriminative_lrs": "the rates of discriminative_groups",
    "finetune.freeze": "unfreeze_top and GradualUnfreeze are written with it",
    "models.Residual": "the block of models.resnet",
    "models.resnet": "the image model of the gpu profile's chapters (models.for_data)",
    "models.pretrained_resnet18": "chapter 12's recipe on a torchvision ResNet-18 of the reader's own",
    "optim.DECAYS": "PowerSign's and AddSign's decay names",
    "optim.sign_decay": "PowerSign's and AddSign's decays",
    "profiles.Config": "what choose returns",
    "profiles.PROFILES": "the profile names choose accepts",
    "profiles.ProfileError": "a bad profile's error",
    "profiles.colab_without_gpu": "profiles.colab_note's test",
    "profiles.seed_offset": "LRCOURSE_SEED_OFFSET, applied by choose to every seed",
    "profiles.smoke_run": "LRCOURSE_SMOKE, read by choose",
    "scaling.Plan": "what scaling.plan returns",
    "scaling.effective_batch_size": "scaling.plan's batch",
    "scaling.trust_ratio": "LARS's and LAMB's trust ratio",
    "sequences.adding_problem": "the data of sequences.adding",
    "sharpness.GDRun": "what full_batch_gd returns",
    "sharpness.square_loss": "full_batch_gd's default loss",
    # learned: the rule language and the search's parts, behind learned.parse, learned.search and learned.score
    **{
        f"learned.{name}": "the rule language, the toy problems and the search behind learned.search"
        for name in ("BINARY", "UNARY", "LEAVES", "Expr", "V", "abs_", "exp", "sqrt", "as_rule", "fold", "mutate",
                     "random_rule", "unscaled", "SearchResult", "Problem", "LR_GRID", "simulate", "rosenbrocks",
                     "adam_moments")
    },
    # speedrun: the parts of airbench's recipe that speedrun.train puts together (each tested)
    **{
        f"speedrun.{name}": "a part of speedrun.train (airbench's recipe)"
        for name in ("Conv", "Lookahead", "Result", "Scale", "ShiftBatchNorm", "WIDTHS", "conv_group", "flip", "net",
                     "param_groups", "translate", "triangle", "tta_logits", "whiten_")
    },
}


def _module_files() -> dict[str, list[Path]]:
    """Library module name -> its files (the learned package's submodules count as ``learned``)."""
    out: dict[str, list[Path]] = {}
    for path in sorted(PKG.glob("*.py")):
        if path.stem not in SKIP:
            out[path.stem] = [path]
    out["learned"] = sorted(p for p in (PKG / "learned").glob("*.py") if p.stem != "__init__")
    return out


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def _all(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return [e.value for e in node.value.elts]  # type: ignore[attr-defined]
    return None


def _defined(tree: ast.Module) -> dict[str, ast.AST]:
    """Top-level definitions (def, class, assignment) by name."""
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = node
    return out


def _imported(tree: ast.Module, here: str) -> dict[str, str]:
    """Names imported from another library module at the top level: name -> "module.name" (its home)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level >= 1 and node.module:
            mod = node.module.split(".")[0]
            if node.level == 2 or here != "learned":
                for a in node.names:
                    out[a.asname or a.name] = f"{mod}.{a.name}"
    return out


@cache
def definitions() -> dict[str, tuple[Path, ast.AST | None]]:
    """"module.name" of every public name at its definition site -> (file, node)."""
    out: dict[str, tuple[Path, ast.AST | None]] = {}
    for mod, paths in _module_files().items():
        for path in paths:
            tree = _tree(path)
            defined = _defined(tree)
            names = _all(tree)
            if names is None:
                names = [n for n, node in defined.items() if not n.startswith("_") and n != "__all__"]
            for n in names:
                if n in defined:
                    out[f"{mod}.{n}"] = (path, defined[n])
    return out


@cache
def aliases() -> dict[str, str]:
    """"module.name" as a chapter may spell it -> "module.name" of its definition (re-exports resolved)."""
    homes = set(definitions())
    out = {key: key for key in homes}
    for mod, paths in [*_module_files().items(), ("", [PKG / "__init__.py"])]:
        for path in paths:
            tree = _tree(path)
            here = "learned" if path.parent.name == "learned" else mod
            for name, src in _imported(tree, here).items():
                src = src if src in homes else f"learned.{src.split('.', 1)[1]}" if here == "learned" else src
                if src in homes:
                    out[f"{mod}.{name}" if mod else name] = src
    # lrcourse's own re-exports: lrcourse.fit is train.fit
    init = _tree(PKG / "__init__.py")
    for node in init.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for a in node.names:
                key = f"{node.module}.{a.name}"
                if key in out:
                    out[a.asname or a.name] = out[key]
    return out


MODULES = set(_module_files())
_FROM_PKG = re.compile(r"from (?:lrcourse|\.\.?)\s+import\s+(\([^)]*\)|[^\n]+)")
_FROM_MOD = re.compile(r"from (?:lrcourse\.|\.\.?)([\w.]+)\s+import\s+(\([^)]*\)|[^\n]+)")
_ATTR = re.compile(r"\blrcourse\.(\w+)(?:\.(\w+))?(?:\.(\w+))?")


def _names(clause: str) -> list[tuple[str, str]]:
    """``a, b as c`` -> [(a, a), (b, c)] (name, local alias)."""
    out = []
    for part in clause.strip("()").replace("\n", " ").split(","):
        part = part.split("#")[0].strip()
        if not part or part == "*":
            continue
        name, _, alias = part.partition(" as ")
        out.append((name.strip(), (alias or name).strip()))
    return out


def used_in(text: str) -> set[str]:
    """The definitions ("module.name") a chapter, checker or benchmark names."""
    spell = aliases()
    found: set[str] = set()

    def add(key: str) -> None:
        if key in spell:
            found.add(spell[key])

    local: dict[str, str] = {}  # alias -> module
    for m in _FROM_PKG.finditer(text):
        for name, alias in _names(m.group(1)):
            if name in MODULES:
                local[alias] = name
            else:
                add(name)
    for m in _FROM_MOD.finditer(text):
        mod = m.group(1).split(".")[0]
        if mod in MODULES:
            for name, _ in _names(m.group(2)):
                add(f"{mod}.{name}")
    for m in _ATTR.finditer(text):
        a, b, c = m.groups()
        add(a)
        if b:
            add(f"{a}.{b}")
            if a == "learned" and c is None:
                add(f"learned.{b}")
            if c:
                add(f"{a}.{c}")  # lrcourse.learned.rules.parse
    for alias, mod in local.items():
        for m in re.finditer(rf"(?<![\w.]){re.escape(alias)}\.(\w+)(?:\.(\w+))?", text):
            add(f"{mod}.{m.group(1)}")
            if m.group(2):
                add(f"{mod}.{m.group(2)}")
    return found


def _chapter(path: Path) -> int:
    return int(path.name[:2])


@cache
def usage() -> tuple[dict[str, set[int]], set[str]]:
    """(definition -> the chapters that use it, definitions used by a checker or benchmark)."""
    chapters: dict[str, set[int]] = {}
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.md")):
        for key in used_in(path.read_text()):
            chapters.setdefault(key, set()).add(_chapter(path))
    other: set[str] = set()
    for pattern in ("lrcourse/check/**/*.py", "tests/references/**/*.py", "benchmarks/**/*.py"):
        for path in sorted(ROOT.glob(pattern)):
            other |= used_in(path.read_text())
    return chapters, other


def expected_line(key: str) -> str:
    chapters = sorted(usage()[0].get(key, ()))
    if not chapters:
        return "Used in: no chapter."
    if len(chapters) == 1:
        return f"Used in: chapter {chapters[0]}."
    return f"Used in: chapters {', '.join(map(str, chapters))}."


_USED = re.compile(r"^\s*Used in: (?:no chapter|chapters? ([\d, ]+))\.", re.M)


def documented(node: ast.AST) -> str | None:
    doc = ast.get_docstring(node)  # type: ignore[arg-type]
    if doc is None:
        return None
    m = _USED.search(doc)
    return None if m is None else m.group(0).strip()


def _documentable() -> list[str]:
    return sorted(k for k, (_, node) in definitions().items() if isinstance(node, (ast.FunctionDef, ast.ClassDef)))


def test_every_public_name_is_used_or_listed() -> None:
    chapters, other = usage()
    unused = sorted(k for k in definitions() if k not in chapters and k not in other and k not in ENGINE_INTERNAL)
    assert not unused, (
        f"public names that no chapter, checker or benchmark uses: {unused}. Use them, delete them, "
        "make them private, or list them in ENGINE_INTERNAL with the reason."
    )


def test_engine_internal_lists_only_public_names() -> None:
    stale = sorted(set(ENGINE_INTERNAL) - set(definitions()))
    assert not stale, f"ENGINE_INTERNAL names that are not public names of lrcourse: {stale}"


@pytest.mark.parametrize("key", _documentable())
def test_docstring_says_where_it_is_used(key: str) -> None:
    _, node = definitions()[key]
    want = expected_line(key)
    got = documented(node)  # type: ignore[arg-type]
    assert got == want, (
        f"{key}: the docstring says {got!r}, the chapters say {want!r}; "
        "run `python tests/test_traceability.py --write`."
    )


def test_the_scan_sees_known_uses() -> None:
    chapters, other = usage()
    assert 3 in chapters["lr_finder.range_test"] and 1 in chapters["train.fit"]
    assert 10 in chapters["runtime.mse_onehot"]  # through `from lrcourse.train import mse_onehot`
    assert 5 in chapters["schedules.cosine_restarts"]  # through `from lrcourse import schedules as sch`
    assert "schedules.cosine_restarts" in other  # a checker's `from .. import schedules as sch`


# --------------------------------------------------------------------------- rewriting the lines


def write() -> int:
    """Rewrite (or add) the ``Used in`` line of every public function and class; return how many changed."""
    changed = 0
    by_file: dict[Path, list[tuple[ast.AST, str]]] = {}
    for key in _documentable():
        path, node = definitions()[key]
        if documented(node) != expected_line(key):  # type: ignore[arg-type]
            by_file.setdefault(path, []).append((node, expected_line(key)))  # type: ignore[arg-type]
    for path, items in by_file.items():
        lines = path.read_text().split("\n")
        for node, line in sorted(items, key=lambda t: -t[0].body[0].lineno):  # type: ignore[attr-defined]
            doc = node.body[0]  # type: ignore[attr-defined]
            first, last = doc.lineno - 1, doc.end_lineno - 1
            indent = " " * (node.col_offset + 4)  # type: ignore[attr-defined]
            old = [i for i in range(first, last + 1) if _USED.match(lines[i])]
            if old:
                lines[old[0]] = indent + line + _USED.sub("", lines[old[0]], count=1).rstrip()
                changed += 1
                continue
            if first == last:  # """One line."""
                text = lines[first]
                q = '"""' if '"""' in text else "'''"
                head = text[: text.rindex(q)]
                lines[first : first + 1] = [head, "", indent + line, indent + q]
            else:
                # after the summary paragraph: before the first blank line, or before the closing quotes
                blank = next((i for i in range(first + 1, last) if not lines[i].strip()), None)
                if blank is None:
                    lines[last:last] = ["", indent + line] if lines[last].strip().startswith(('"""', "'''")) else []
                    if not lines[last].strip().startswith(('"""', "'''")):  # closing quotes after text
                        text = lines[last]
                        q = '"""' if '"""' in text else "'''"
                        cut = text.rindex(q)
                        lines[last : last + 1] = [text[:cut].rstrip(), "", indent + line, indent + q]
                else:
                    lines[blank:blank] = ["", indent + line]
            changed += 1
        path.write_text("\n".join(lines))
    return changed


if __name__ == "__main__":
    if "--write" in sys.argv:
        for fn in (definitions, aliases, usage, _tree):
            fn.cache_clear()
        print(f"{write()} docstring(s) rewritten")
    else:
        chapters, other = usage()
        for key in sorted(definitions()):
            status = "ENGINE_INTERNAL" if key in ENGINE_INTERNAL else "checker/benchmark" if key in other else ""
            print(f"{key:45s} {expected_line(key):40s} {status}")
