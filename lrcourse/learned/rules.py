"""The language of update rules: expressions in ``g``, ``m``, ``v``, parsed, printed and run.

A rule is a tree of :class:`Expr` nodes over the gradient ``g`` and Adam's bias-corrected running
averages ``m`` and ``v``. It is built from :data:`G`, :data:`M`, :data:`V` with ``+ - * / ^`` and
:func:`sign`, :func:`exp`, :func:`sqrt`, :func:`abs_`, or parsed from a string; calling it on
tensors evaluates it elementwise. :class:`RuleOptimizer` makes any rule a ``torch.optim.Optimizer``.

>>> rule = parse("exp(sign(g)*sign(m))*g")
>>> str(rule), rule(torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([4.0]))
('exp(sign(g)*sign(m))*g', tensor([5.4366]))
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from ..runtime import closure_loss


class RuleError(ValueError):
    """A malformed update rule; the message says what is wrong and where.

    Used in: chapter 13.
    """


# --------------------------------------------------------------------------------------
# The language: expression trees
# --------------------------------------------------------------------------------------

LEAVES = ("g", "m", "v")
UNARY = ("sign", "exp", "sqrt", "abs", "neg")
BINARY = ("add", "sub", "mul", "div", "pow")
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}
_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}


@dataclass(frozen=True)
class Expr:
    """A node of an update rule: a leaf (``g``, ``m``, ``v``), a constant, or an operation.

    Used in: no chapter.

    Build trees with Python operators on :data:`G`, :data:`M`, :data:`V`, or with
    :func:`parse`. Calling a rule evaluates it elementwise on tensors ``g, m, v``.

    >>> rule = (1 + sign(G) * sign(M)) * G          # AddSign
    >>> str(rule)
    '(1+sign(g)*sign(m))*g'
    >>> rule(torch.tensor([1.0, 1.0]), torch.tensor([1.0, -1.0]), torch.tensor([0.0, 0.0]))
    tensor([2., 0.])
    """

    op: str
    args: tuple[Expr, ...] = ()
    value: float = 0.0

    # building ---------------------------------------------------------------------
    def _bin(self, op: str, other: Expr | float, flip: bool = False) -> Expr:
        other = _lift(other)
        return Expr(op, (other, self) if flip else (self, other))

    def __add__(self, o: Expr | float) -> Expr:
        return self._bin("add", o)

    def __radd__(self, o: float) -> Expr:
        return self._bin("add", o, True)

    def __sub__(self, o: Expr | float) -> Expr:
        return self._bin("sub", o)

    def __rsub__(self, o: float) -> Expr:
        return self._bin("sub", o, True)

    def __mul__(self, o: Expr | float) -> Expr:
        return self._bin("mul", o)

    def __rmul__(self, o: float) -> Expr:
        return self._bin("mul", o, True)

    def __truediv__(self, o: Expr | float) -> Expr:
        return self._bin("div", o)

    def __rtruediv__(self, o: float) -> Expr:
        return self._bin("div", o, True)

    def __pow__(self, o: float) -> Expr:
        if not isinstance(o, (int, float)):
            raise RuleError(f"a power must be a number, as in g^2; got {o}.")
        return self._bin("pow", float(o))

    def __neg__(self) -> Expr:
        return Expr("neg", (self,))

    # reading ----------------------------------------------------------------------
    def __str__(self) -> str:
        return _show(self)

    def __repr__(self) -> str:
        return f"rule({str(self)!r})"

    @property
    def size(self) -> int:
        """Number of nodes in the tree.

        >>> parse("g*sign(m)").size
        4
        """
        return 1 + sum(a.size for a in self.args)

    @property
    def depth(self) -> int:
        """Length of the longest path from the root to a leaf (a leaf has depth 0).

        >>> parse("exp(sign(g)*sign(m))*g").depth
        4
        """
        return 0 if not self.args else 1 + max(a.depth for a in self.args)

    @property
    def uses(self) -> frozenset[str]:
        """Which of ``g``, ``m``, ``v`` the rule reads.

        >>> sorted(parse("m/sqrt(v)").uses)
        ['m', 'v']
        """
        if self.op in LEAVES:
            return frozenset({self.op})
        return frozenset().union(*(a.uses for a in self.args)) if self.args else frozenset()

    def nodes(self) -> list[tuple[tuple[int, ...], Expr]]:
        """Every subtree with its path (a tuple of child indices) from the root.

        >>> [str(e) for _, e in parse("-g").nodes()]
        ['-g', 'g']
        """
        out: list[tuple[tuple[int, ...], Expr]] = [((), self)]
        for i, a in enumerate(self.args):
            out += [((i, *p), e) for p, e in a.nodes()]
        return out

    def replace(self, path: tuple[int, ...], new: Expr) -> Expr:
        """A copy with the subtree at ``path`` replaced by ``new``.

        >>> str(parse("g*m").replace((1,), G))
        'g*g'
        """
        if not path:
            return new
        args = list(self.args)
        args[path[0]] = args[path[0]].replace(path[1:], new)
        return Expr(self.op, tuple(args), self.value)

    def __call__(self, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Evaluate elementwise: ``g`` the gradient, ``m`` and ``v`` its (bias-corrected) running averages."""
        return _eval(self, g, m, v)


def _lift(x: Expr | float) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Expr("const", value=float(x))
    raise RuleError(f"a rule can combine only rules and numbers, not {type(x).__name__}.")


G = Expr("g")
"""The gradient."""
M = Expr("m")
"""The running mean of the gradient (bias-corrected)."""
V = Expr("v")
"""The running mean of the squared gradient (bias-corrected)."""


def sign(x: Expr) -> Expr:
    """``sign(x)`` as a rule node.

    Used in: chapter 13.

    >>> str(sign(G) * sign(M))
    'sign(g)*sign(m)'
    """
    return Expr("sign", (_lift(x),))


def exp(x: Expr) -> Expr:
    """``exp(x)`` as a rule node.

    Used in: no chapter.

    >>> str(exp(sign(G)) * G)
    'exp(sign(g))*g'
    """
    return Expr("exp", (_lift(x),))


def sqrt(x: Expr) -> Expr:
    """``sqrt(x)`` as a rule node.

    Used in: no chapter.

    >>> str(M / (sqrt(V) + 1e-8))
    'm/(sqrt(v)+1e-08)'
    """
    return Expr("sqrt", (_lift(x),))


def abs_(x: Expr) -> Expr:
    """``abs(x)`` as a rule node (named with an underscore so as not to hide Python's ``abs``).

    Used in: no chapter.

    >>> str(abs_(G))
    'abs(g)'
    """
    return Expr("abs", (_lift(x),))


def _num(x: float) -> str:
    if x == math.e:
        return "e"
    return f"{x:g}"


def _show(e: Expr) -> str:
    return _fmt(e)[0]


def _fmt(e: Expr) -> tuple[str, int]:
    """The text of ``e`` and its precedence (5 for atoms), with only the brackets needed."""
    if e.op in LEAVES:
        return e.op, 5
    if e.op == "const":
        return _num(e.value), (3 if e.value < 0 else 5)
    if e.op in ("sign", "exp", "sqrt", "abs"):
        return f"{e.op}({_fmt(e.args[0])[0]})", 5
    prec = _PREC[e.op]
    if e.op == "neg":
        text, p = _fmt(e.args[0])
        return "-" + (f"({text})" if p < prec else text), prec
    (a, pa), (b, pb) = _fmt(e.args[0]), _fmt(e.args[1])
    if pa < prec or (e.op == "pow" and pa <= prec):
        a = f"({a})"
    if e.op != "pow" and (pb < prec or (pb == prec and e.op in ("sub", "div"))):
        b = f"({b})"
    return a + _SYMBOL[e.op] + b, prec


def _eval(e: Expr, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    op = e.op
    if op == "g":
        return g
    if op == "m":
        return m
    if op == "v":
        return v
    if op == "const":
        return torch.full_like(g, e.value)
    if op == "pow":
        return _eval(e.args[0], g, m, v) ** e.args[1].value
    a = _eval(e.args[0], g, m, v)
    if op == "sign":
        return torch.sign(a)
    if op == "exp":
        return torch.exp(a)
    if op == "sqrt":
        return torch.sqrt(a)
    if op == "abs":
        return torch.abs(a)
    if op == "neg":
        return -a
    b = _eval(e.args[1], g, m, v)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    raise RuleError(f"unknown operation {op!r} in a rule tree.")


# --------------------------------------------------------------------------------------
# The language: parsing strings
# --------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|[-+*/^()²]))")
_FUNCS = {"sign": sign, "exp": exp, "sqrt": sqrt, "abs": abs_}


def parse(text: str) -> Expr:
    """Parse an update rule such as ``"exp(sign(g)*sign(m))*g"`` into an :class:`Expr`.

    Used in: chapter 13.

    Names: ``g``, ``m``, ``v`` and the constant ``e``; numbers such as ``2`` or ``1e-8``;
    functions ``sign``, ``exp``, ``sqrt``, ``abs``; operators ``+ - * /`` and ``^`` (or ``**``,
    or ``²``) with a number as the exponent. A malformed rule raises :class:`RuleError`
    with one sentence saying what is wrong and where.

    >>> str(parse("(1 + sign(g) * sign(m)) * g"))
    '(1+sign(g)*sign(m))*g'
    >>> str(parse("g²"))
    'g^2'
    >>> parse("exp(g")
    Traceback (most recent call last):
    ...
    lrcourse.learned.rules.RuleError: rule 'exp(g' is missing a ')' at position 5 (the end).
    """
    if not isinstance(text, str):
        raise RuleError(f"a rule must be a string such as 'sign(m)*g', got {type(text).__name__}.")
    tokens: list[tuple[str, str, int]] = []
    pos, src = 0, text.rstrip()
    while pos < len(src):
        match = _TOKEN.match(src, pos)
        if not match:
            raise RuleError(
                f"rule {text!r} has an unexpected character {src[pos:].lstrip()[:1]!r} at position "
                f"{pos + len(src[pos:]) - len(src[pos:].lstrip())}; use g, m, v, numbers, + - * / ^ and sign/exp/sqrt/abs."
            )
        number, name, sym = match.groups()
        start = match.start(1) if number else match.start(2) if name else match.start(3)
        tokens.append(("num", number, start) if number else ("name", name, start) if name else ("sym", sym, start))
        pos = match.end()
    if not tokens:
        raise RuleError("the rule is empty; write an expression such as 'sign(m)*g'.")
    p = _Parser(text, tokens)
    expr = p.expr()
    if p.i < len(tokens):
        kind, tok, at = tokens[p.i]
        raise RuleError(f"rule {text!r} has an unexpected {tok!r} at position {at}; an operator is probably missing there.")
    if not expr.uses:
        raise RuleError(f"rule {text!r} uses none of g, m, v, so it cannot depend on the gradient.")
    return expr


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, str, int]]) -> None:
        self.text, self.tokens, self.i = text, tokens, 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail_end(self, what: str) -> RuleError:
        return RuleError(f"rule {self.text!r} is missing {what} at position {len(self.text.rstrip())} (the end).")

    def expect(self, sym: str) -> None:
        tok = self.peek()
        if tok is None:
            raise self.fail_end(f"a {sym!r}")
        if tok[1] != sym:
            raise RuleError(f"rule {self.text!r} needs a {sym!r} at position {tok[2]} but has {tok[1]!r}.")
        self.i += 1

    def expr(self) -> Expr:
        left = self.term()
        while (tok := self.peek()) and tok[1] in ("+", "-"):
            self.i += 1
            right = self.term()
            left = left + right if tok[1] == "+" else left - right
        return left

    def term(self) -> Expr:
        left = self.unary()
        while (tok := self.peek()) and tok[1] in ("*", "/"):
            self.i += 1
            right = self.unary()
            left = left * right if tok[1] == "*" else left / right
        return left

    def unary(self) -> Expr:
        tok = self.peek()
        if tok and tok[1] == "-":
            self.i += 1
            inner = self.unary()
            if inner.op == "const":
                return Expr("const", value=-inner.value)
            return -inner
        if tok and tok[1] == "+":
            self.i += 1
            return self.unary()
        return self.power()

    def power(self) -> Expr:
        base = self.atom()
        tok = self.peek()
        if tok and tok[1] == "²":
            self.i += 1
            return base**2
        if tok and tok[1] in ("^", "**"):
            self.i += 1
            sgn = 1.0
            nxt = self.peek()
            if nxt and nxt[1] == "-":
                self.i, sgn = self.i + 1, -1.0
                nxt = self.peek()
            if nxt is None:
                raise self.fail_end("an exponent after '^'")
            if nxt[0] != "num":
                raise RuleError(f"rule {self.text!r} has exponent {nxt[1]!r} at position {nxt[2]}; an exponent must be a number, as in g^2.")
            self.i += 1
            return base ** (sgn * float(nxt[1]))
        return base

    def atom(self) -> Expr:
        tok = self.peek()
        if tok is None:
            raise self.fail_end("an operand (g, m, v, a number or a function)")
        kind, text, at = tok
        self.i += 1
        if kind == "num":
            return Expr("const", value=float(text))
        if kind == "name":
            if text in LEAVES:
                return Expr(text)
            if text == "e":
                return Expr("const", value=math.e)
            if text in _FUNCS:
                self.expect("(")
                inner = self.expr()
                self.expect(")")
                return _FUNCS[text](inner)
            raise RuleError(
                f"rule {self.text!r} uses unknown name {text!r} at position {at}; "
                f"use g, m, v, e, numbers and the functions sign, exp, sqrt, abs."
            )
        if text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        raise RuleError(f"rule {self.text!r} has {text!r} at position {at} where an operand should be.")


def as_rule(rule: Expr | str) -> Expr:
    """A rule from a string (parsed) or an :class:`Expr` (returned as is).

    Used in: no chapter.

    >>> as_rule("sign(m)*g") == sign(M) * G
    True
    """
    if isinstance(rule, Expr):
        return rule
    return parse(rule)


# --------------------------------------------------------------------------------------
# Rules as torch optimizers
# --------------------------------------------------------------------------------------


def adam_moments(
    m: torch.Tensor, v: torch.Tensor, g: torch.Tensor, t: int, beta1: float, beta2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Adam's moments: update the running averages ``m``, ``v`` of ``g`` and ``g²`` in place (step ``t``
    from 1) and return their bias-corrected values ``m̂``, ``v̂``.

    Used in: no chapter.

    >>> m, v = torch.zeros(1), torch.zeros(1)
    >>> adam_moments(m, v, torch.tensor([2.0]), 1, 0.9, 0.999)
    (tensor([2.]), tensor([4.]))
    """
    m.mul_(beta1).add_(g, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    return m / (1 - beta1**t), v / (1 - beta2**t)


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that steps ``θ ← θ − lr · rule(g, m̂, v̂)``.

    Used in: chapter 13.

    ``m̂`` and ``v̂`` are Adam's bias-corrected running averages of ``g`` and ``g²``
    (rates ``betas``). ``rule`` is an :class:`Expr` or a string for :func:`parse`.

    >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> opt = RuleOptimizer([w], "sign(g)", lr=0.1)
    >>> w.grad = torch.tensor([3.0, -0.5]); opt.step()
    >>> w.data
    tensor([ 0.9000, -1.9000])
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        rule: Expr | str,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
    ) -> None:
        if not lr >= 0:
            raise ValueError(f"lr must be a non-negative number, got {lr}.")
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must lie in [0, 1), got {betas}.")
        self.rule = as_rule(rule)
        super().__init__(params, dict(lr=lr, betas=betas))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        loss = closure_loss(closure)
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["step"] += 1
                m_hat, v_hat = adam_moments(state["m"], state["v"], p.grad, state["step"], b1, b2)
                p.sub_(group["lr"] * self.rule(p.grad, m_hat, v_hat))
        return loss
