"""Searching the rule language: random rules, mutations, simplification and aging evolution.

>>> import random
>>> rule = random_rule(random.Random(0))
>>> isinstance(mutate(rule, random.Random(1)), Expr)
True
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..profiles import profile
from ..runtime import progress as progress_bar
from .problems import Problem, score
from .rules import LEAVES, Expr, G, M, V, exp, sign

# --------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------

_LEAF_CHOICES = (G, G, M, M, V, G**2, Expr("const", value=1.0), Expr("const", value=2.0))


def fold(rule: Expr) -> Expr:
    """``rule`` with every subtree that reads none of ``g, m, v`` replaced by its value.

    Used in: no chapter.

    Factors of one are dropped too, so the search does not score ``1*g`` after ``g``.

    >>> from lrcourse.learned import parse
    >>> str(fold(parse("exp(sign(2))*g + 1*m")))
    'e*g+m'
    """
    if rule.op in LEAVES or rule.op == "const":
        return rule
    if not rule.uses:
        one = torch.ones(1, dtype=torch.float64)
        return Expr("const", value=float(rule(one, one, one)))
    args = tuple(fold(a) for a in rule.args)
    if rule.op == "mul":  # drop a factor of one
        for i in (0, 1):
            if args[i].op == "const" and args[i].value == 1.0:
                return args[1 - i]
    return Expr(rule.op, args, rule.value)


def _factors(rule: Expr) -> list[Expr]:
    if rule.op == "mul":
        return _factors(rule.args[0]) + _factors(rule.args[1])
    return [rule]


def unscaled(rule: Expr) -> Expr:
    """``rule`` without the constant factors of its outermost product (``3*g*2`` becomes ``g``).

    Used in: no chapter.

    A positive factor only rescales the learning rate, which :func:`score` tunes anyway;
    a negative one keeps its sign as a minus.

    >>> from lrcourse.learned import parse
    >>> str(unscaled(parse("3*sign(m)*g*2"))), str(unscaled(parse("-2*g")))
    ('sign(m)*g', '-g')
    """
    rule = fold(rule)
    parts = _factors(rule)
    consts = [p.value for p in parts if p.op == "const"]
    rest = [p for p in parts if p.op != "const"]
    if not consts or not rest:
        return rule
    out = rest[0]
    for p in rest[1:]:
        out = out * p
    return -out if math.prod(consts) < 0 else out


def random_rule(rng: random.Random, max_depth: int = 4) -> Expr:
    """A random rule of depth at most ``max_depth`` over ``g, m, v, g², 1, 2`` with ``sign, exp, -, +, *``.

    Used in: no chapter.

    >>> r = random_rule(random.Random(0))
    >>> r.depth <= 4 and bool(r.uses)
    True
    """
    while True:
        rule = unscaled(_grow(rng, max_depth))
        if rule.uses:
            return rule


def _grow(rng: random.Random, depth: int) -> Expr:
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(_LEAF_CHOICES)
    if rng.random() < 0.4:
        op = rng.choice(("sign", "sign", "exp", "neg"))
        inner = _grow(rng, depth - 1)
        return -inner if op == "neg" else (sign(inner) if op == "sign" else exp(inner))
    a, b = _grow(rng, depth - 1), _grow(rng, depth - 1)
    return a + b if rng.random() < 0.4 else a * b


def _in_exponent(rule: Expr, path: tuple[int, ...]) -> bool:
    node = rule
    for i in path:
        if node.op == "pow" and i == 1:
            return True
        node = node.args[i]
    return False


def mutate(rule: Expr, rng: random.Random, max_depth: int = 4) -> Expr:
    """A copy of ``rule`` with one random subtree replaced by a fresh random one (depth kept at most ``max_depth``).

    Used in: no chapter.

    >>> from lrcourse.learned import parse
    >>> rng = random.Random(1)
    >>> child = mutate(parse("sign(m)*g"), rng)
    >>> child.depth <= 4 and bool(child.uses)
    True
    """
    # an exponent stays a number: never mutate the second child of a power
    spots = [(p, e) for p, e in rule.nodes() if not _in_exponent(rule, p)]
    for _ in range(100):
        path, old = rng.choice(spots)
        room = max_depth - len(path)
        child = unscaled(rule.replace(path, _grow(rng, min(room, max(1, old.depth + 1)))))
        if child.uses and child.depth <= max_depth and child != rule:
            return child
    return random_rule(rng, max_depth)


@dataclass
class SearchResult:
    """What :func:`search` found: every rule tried with its score (lower is better), in order tried.

    Used in: no chapter.

    >>> r = SearchResult({"g": -1.0, "sign(g)": -2.0}, [-1.0, -2.0])
    >>> r.top(1)
    [('sign(g)', -2.0)]
    >>> r.rank(-1.5)
    2
    """

    scores: dict[str, float]
    best_so_far: list[float] = field(default_factory=list)

    def top(self, k: int = 10, distinct: bool = True) -> list[tuple[str, float]]:
        """The ``k`` best rules, best first.

        With ``distinct``, a rule whose score equals (to 1e-9) that of a better-placed rule is
        left out: such rules almost surely compute the same update (``g`` and ``g*sign(g^2)``).
        """
        out: list[tuple[str, float]] = []
        for rule, s in sorted(self.scores.items(), key=lambda kv: kv[1]):
            if distinct and any(abs(s - t) < 1e-9 for _, t in out):
                continue
            out.append((rule, s))
            if len(out) == k:
                break
        return out

    def rank(self, value: float) -> int:
        """Where a rule of score ``value`` would rank among the rules searched (1 = best)."""
        return 1 + sum(s < value for s in self.scores.values())


def search(
    problems: Sequence[Problem],
    budget: int = 60,
    population: int = 20,
    tournament: int = 5,
    steps: int = 100,
    max_depth: int = 4,
    seed: int = 0,
    progress: bool | None = None,
) -> SearchResult:
    """Look for update rules: ``population`` random rules, then aging evolution up to ``budget`` rules.

    Used in: chapter 13.

    Evolution repeats: sample ``tournament`` rules of the current population, mutate the
    best of them (:func:`mutate`), score the child (:func:`score`) and let it replace the
    oldest member. Rules already seen are not scored twice.

    >>> from lrcourse.learned import toy_suite
    >>> r = search(toy_suite(2, dim=3), budget=6, population=3, steps=10)
    >>> len(r.scores) == 6 and r.best_so_far[-1] == r.top(1)[0][1]
    True
    """
    if budget < 1 or population < 1 or tournament < 1:
        raise ValueError(f"budget, population and tournament must be positive, got {budget}, {population}, {tournament}.")
    rng = random.Random(seed)
    result = SearchResult({})
    alive: list[tuple[Expr, float]] = []

    def add(rule: Expr) -> tuple[Expr, float] | None:
        key = str(rule)
        if key in result.scores:
            return None
        s = score(rule, problems, steps)
        result.scores[key] = s
        best = min(s, result.best_so_far[-1]) if result.best_so_far else s
        result.best_so_far.append(best)
        return rule, s

    bar = progress_bar(budget, progress if progress is not None else profile() != "ci", desc="search", unit="rule")
    tries = 0
    while len(result.scores) < budget and tries < 50 * budget:
        tries += 1
        if len(alive) < population:
            entry = add(random_rule(rng, max_depth))
        else:
            parent = min(rng.sample(alive, min(tournament, len(alive))), key=lambda rs: rs[1])
            entry = add(mutate(parent[0], rng, max_depth))
            if entry is not None:
                alive.pop(0)
        if entry is not None:
            alive.append(entry)
            bar.update(1)
    bar.close()
    return result
