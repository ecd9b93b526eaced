"""Learned optimizers: update rules found by search, and an LSTM trained by gradient descent.

Two ideas of "learning to learn", both small enough to run on a laptop.

**A language of update rules** (after Bello et al. 2017). An update rule is an expression
in the gradient ``g`` and two running averages kept per parameter,

.. math::

    m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t, \\qquad v_t = \\beta_2 v_{t-1} + (1-\\beta_2) g_t^2,

both bias-corrected (``m̂ = m / (1 − β₁ᵗ)``, ``v̂ = v / (1 − β₂ᵗ)``) as in Adam, so that in a
rule ``m`` means ``m̂`` and ``v`` means ``v̂``. The parameter moves by ``θ ← θ − lr · rule(g, m, v)``.
Rules are written as strings (``"exp(sign(g)*sign(m))*g"`` is PowerSign, ``"m/(sqrt(v)+1e-8)"``
is Adam) or built from :data:`G`, :data:`M`, :data:`V` with ``+ - * / ^`` and
:func:`sign`, :func:`exp`, :func:`sqrt`, :func:`abs_`. :class:`RuleOptimizer` turns any rule
into a ``torch.optim.Optimizer``; :func:`search` looks for good rules by random sampling and
aging evolution, scoring each by short runs on toy problems (:func:`score`).

**A learned optimizer** (after Andrychowicz et al. 2016). A small two-layer LSTM reads each
coordinate's gradient (preprocessed to log-magnitude and sign) and writes that coordinate's
update; every coordinate shares the weights but keeps its own hidden state.
:func:`meta_train` fits the LSTM by backpropagating the summed loss through unrolled
optimization of random least-squares problems ``f(θ) = ‖Wθ − y‖²`` (:class:`LeastSquares`).

>>> rule = parse("exp(sign(g)*sign(m))*g")
>>> str(rule)
'exp(sign(g)*sign(m))*g'
>>> rule(torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([4.0]))
tensor([5.4366])
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = [
    "G",
    "M",
    "V",
    "Expr",
    "RuleError",
    "parse",
    "as_rule",
    "sign",
    "exp",
    "sqrt",
    "abs_",
    "RuleOptimizer",
    "Problem",
    "rotated_quadratics",
    "rosenbrocks",
    "toy_suite",
    "simulate",
    "score",
    "fold",
    "unscaled",
    "random_rule",
    "mutate",
    "SearchResult",
    "search",
    "LeastSquares",
    "LSTMOptimizerNet",
    "LSTMOptimizer",
    "meta_train",
    "run_learned",
    "run_torch",
    "best_lr",
]


class RuleError(ValueError):
    """A malformed update rule; the message says what is wrong and where."""


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

    >>> str(sign(G) * sign(M))
    'sign(g)*sign(m)'
    """
    return Expr("sign", (_lift(x),))


def exp(x: Expr) -> Expr:
    """``exp(x)`` as a rule node.

    >>> str(exp(sign(G)) * G)
    'exp(sign(g))*g'
    """
    return Expr("exp", (_lift(x),))


def sqrt(x: Expr) -> Expr:
    """``sqrt(x)`` as a rule node.

    >>> str(M / (sqrt(V) + 1e-8))
    'm/(sqrt(v)+1e-08)'
    """
    return Expr("sqrt", (_lift(x),))


def abs_(x: Expr) -> Expr:
    """``abs(x)`` as a rule node (named with an underscore so as not to hide Python's ``abs``).

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
    lrcourse.learned.RuleError: rule 'exp(g' is missing a ')' at position 5 (the end).
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

    >>> as_rule("sign(m)*g") == sign(M) * G
    True
    """
    if isinstance(rule, Expr):
        return rule
    return parse(rule)


# --------------------------------------------------------------------------------------
# Rules as torch optimizers
# --------------------------------------------------------------------------------------


def _moments(
    m: torch.Tensor, v: torch.Tensor, g: torch.Tensor, t: int, beta1: float, beta2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Update the running averages in place and return their bias-corrected values."""
    m.mul_(beta1).add_(g, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    return m / (1 - beta1**t), v / (1 - beta2**t)


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that steps ``θ ← θ − lr · rule(g, m̂, v̂)``.

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
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
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
                m_hat, v_hat = _moments(state["m"], state["v"], p.grad, state["step"], b1, b2)
                p.sub_(group["lr"] * self.rule(p.grad, m_hat, v_hat))
        return loss


# --------------------------------------------------------------------------------------
# Toy problems, batched: many small problems optimized at once
# --------------------------------------------------------------------------------------


@dataclass
class Problem:
    """A batch of toy problems: ``loss(x)`` of shape ``x.shape[:-1]``, ``grad(x)`` like ``x``, a start ``x0``.

    ``x`` may carry extra leading dimensions (one per learning rate, say) in front of the
    batch of problems. ``noise`` is the standard deviation of Gaussian noise added to the
    gradient (a stand-in for minibatch noise).

    >>> p = rotated_quadratics(3, dim=4, seed=0)
    >>> p.loss(p.x0).shape, p.grad(p.x0).shape
    (torch.Size([3]), torch.Size([3, 4]))
    """

    name: str
    loss: Callable[[torch.Tensor], torch.Tensor]
    grad: Callable[[torch.Tensor], torch.Tensor]
    x0: torch.Tensor
    noise: float = 0.0


def rotated_quadratics(
    n: int, dim: int = 10, max_condition: float = 1000.0, noise: float = 0.0, seed: int = 0
) -> Problem:
    """``n`` quadratics ``½ xᵀ Q diag(h) Qᵀ x`` with random rotations ``Q`` and curvatures ``h`` in ``[1/κ, 1]``.

    Each problem's condition number ``κ`` is log-uniform in ``[1, max_condition]``.

    >>> p = rotated_quadratics(2, dim=3, seed=1)
    >>> bool((p.loss(torch.zeros(2, 3)) == 0).all())
    True
    """
    gen = torch.Generator().manual_seed(seed)
    kappa = max_condition ** torch.rand(n, 1, generator=gen)
    frac = torch.linspace(0, 1, dim).expand(n, dim)
    h = kappa ** (-frac)  # from 1 down to 1/kappa
    q, _ = torch.linalg.qr(torch.randn(n, dim, dim, generator=gen))
    a = q @ torch.diag_embed(h) @ q.transpose(-1, -2)
    x0 = torch.randn(n, dim, generator=gen)

    def grad(x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("pij,...pj->...pi", a, x)

    def loss(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x * grad(x)).sum(-1)

    return Problem("noisy quadratic" if noise else "quadratic", loss, grad, x0, noise)


def rosenbrocks(n: int, seed: int = 0) -> Problem:
    """``n`` copies of Rosenbrock's valley ``(1 − x)² + 100 (y − x²)²`` from random starts near ``(−1, 1)``.

    >>> p = rosenbrocks(2)
    >>> p.loss(torch.ones(2, 2)).tolist()
    [0.0, 0.0]
    """
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.tensor([-1.0, 1.0]) + 0.5 * torch.randn(n, 2, generator=gen)

    def loss(z: torch.Tensor) -> torch.Tensor:
        x, y = z[..., 0], z[..., 1]
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2

    def grad(z: torch.Tensor) -> torch.Tensor:
        x, y = z[..., 0], z[..., 1]
        return torch.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], -1)

    return Problem("rosenbrock", loss, grad, x0)


def toy_suite(n: int = 8, dim: int = 10, seed: int = 0) -> list[Problem]:
    """The search's benchmark: quadratics, noisy quadratics and Rosenbrock, ``n`` problems each.

    >>> [p.name for p in toy_suite(2)]
    ['quadratic', 'noisy quadratic', 'rosenbrock']
    """
    return [
        rotated_quadratics(n, dim, seed=seed),
        rotated_quadratics(n, dim, noise=0.1, seed=seed + 1),
        rosenbrocks(n, seed=seed + 2),
    ]


def simulate(
    rule: Expr | str,
    problem: Problem,
    lrs: Sequence[float],
    steps: int,
    betas: tuple[float, float] = (0.9, 0.999),
    seed: int = 0,
) -> torch.Tensor:
    """Losses of ``rule`` on every problem at every learning rate: shape ``(steps + 1, len(lrs), n)``.

    The same arithmetic as :class:`RuleOptimizer`, vectorized over learning rates and
    problems (the search calls it thousands of times). A run that diverges (some
    ``|x_i| > 10⁶``, or a NaN) is stopped and records loss ``inf`` from then on.

    >>> p = rotated_quadratics(2, dim=3)
    >>> simulate("g", p, [0.1, 1.0], steps=5).shape
    torch.Size([6, 2, 2])
    """
    rule = as_rule(rule)
    b1, b2 = betas
    gen = torch.Generator().manual_seed(seed)
    lr = torch.as_tensor(list(lrs), dtype=problem.x0.dtype).view(-1, 1, 1)
    x = problem.x0.expand(len(lr), *problem.x0.shape).clone()
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    dead = torch.zeros(x.shape[:-1], dtype=torch.bool)
    inf = torch.tensor(math.inf, dtype=x.dtype)
    losses = [problem.loss(x)]
    for t in range(1, steps + 1):
        g = problem.grad(x)
        if problem.noise:
            g = g + problem.noise * torch.randn(g.shape, generator=gen)
        m_hat, v_hat = _moments(m, v, g, t, b1, b2)
        x = x - lr * rule(g, m_hat, v_hat)
        # a run that leaves the box |x| <= 1e6 (or overflows) has diverged: it stays dead, at loss inf
        dead = dead | ~(x.abs() <= 1e6).all(-1)
        x = torch.where(dead.unsqueeze(-1), torch.zeros_like(x), x)
        m.masked_fill_(dead.unsqueeze(-1), 0.0)
        v.masked_fill_(dead.unsqueeze(-1), 0.0)
        losses.append(torch.where(dead, inf, problem.loss(x)))
    out = torch.stack(losses)
    return torch.where(torch.isnan(out), inf, out)


LR_GRID = tuple(10.0 ** (k / 4) for k in range(-16, 5))  # 1e-4 ... 10, a quarter decade apart


def score(
    rule: Expr | str,
    problems: Sequence[Problem],
    steps: int = 100,
    lrs: Sequence[float] = LR_GRID,
    worst: float = 1.0,
) -> float:
    """How well ``rule`` optimizes the toy ``problems`` (lower is better).

    For each problem family: the mean over its problems of ``log10(final loss / initial loss)``,
    at the family's best learning rate from ``lrs``; a run that diverges or ends above its
    start counts as ``worst``. The score is the mean over families, so ``-2`` means
    "a hundredfold decrease, typically".

    >>> suite = toy_suite(4, dim=5)
    >>> score("g", suite, steps=50) < score("-g", suite, steps=50)
    True
    """
    totals = []
    for problem in problems:
        loss = simulate(rule, problem, lrs, steps)
        start, end = loss[0], loss[-1]
        ratio = torch.log10(end.clamp_min(1e-12) / start.clamp_min(1e-12))
        ratio = torch.where(torch.isfinite(ratio), ratio, torch.full_like(ratio, worst)).clamp(max=worst)
        totals.append(ratio.mean(-1).min().item())
    return sum(totals) / len(totals)


# --------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------

_LEAF_CHOICES = (G, G, M, M, V, G**2, Expr("const", value=1.0), Expr("const", value=2.0))


def fold(rule: Expr) -> Expr:
    """``rule`` with every subtree that reads none of ``g, m, v`` replaced by its value.

    Factors of one are dropped too, so the search does not score ``1*g`` after ``g``.

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

    A positive factor only rescales the learning rate, which :func:`score` tunes anyway;
    a negative one keeps its sign as a minus.

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
    progress: bool = False,
) -> SearchResult:
    """Look for update rules: ``population`` random rules, then aging evolution up to ``budget`` rules.

    Evolution repeats: sample ``tournament`` rules of the current population, mutate the
    best of them (:func:`mutate`), score the child (:func:`score`) and let it replace the
    oldest member. Rules already seen are not scored twice.

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

    from tqdm.auto import tqdm

    bar = tqdm(total=budget, disable=not progress, desc="search", unit="rule", leave=False)
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


# --------------------------------------------------------------------------------------
# The learned optimizer
# --------------------------------------------------------------------------------------


@dataclass
class LeastSquares:
    """A batch of random least-squares problems ``f(θ) = ‖Wθ − y‖²`` (Andrychowicz et al.'s quadratics).

    ``W`` and ``y`` are standard normal, scaled by ``scale``. :meth:`sample` draws a batch.

    >>> p = LeastSquares.sample(4, dim=3, seed=0)
    >>> p.loss(p.theta0).shape
    torch.Size([4])
    """

    w: torch.Tensor
    y: torch.Tensor
    theta0: torch.Tensor

    @classmethod
    def sample(cls, n: int, dim: int = 10, seed: int | None = None, scale: float = 1.0) -> LeastSquares:
        """``n`` problems of dimension ``dim``, reproducible from ``seed``."""
        gen = torch.Generator()
        gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**31, (1,))))
        w = scale * torch.randn(n, dim, dim, generator=gen)
        y = scale * torch.randn(n, dim, generator=gen)
        return cls(w, y, torch.randn(n, dim, generator=gen))

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        """``‖Wθ − y‖²`` per problem."""
        r = torch.einsum("pij,...pj->...pi", self.w, theta) - self.y
        return (r**2).sum(-1)

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        """``2 Wᵀ (Wθ − y)``."""
        r = torch.einsum("pij,...pj->...pi", self.w, theta) - self.y
        return 2 * torch.einsum("pij,...pi->...pj", self.w, r)

    def minimum(self) -> torch.Tensor:
        """The smallest value of each problem (0 when ``W`` is invertible, up to rounding)."""
        theta = torch.linalg.lstsq(self.w, self.y.unsqueeze(-1)).solution.squeeze(-1)
        return self.loss(theta)

    def as_problem(self) -> Problem:
        """The same problems as a :class:`Problem` (for :func:`simulate` and :func:`score`)."""
        return Problem("least squares", self.loss, self.grad, self.theta0)


def _preprocess(g: torch.Tensor, p: float) -> torch.Tensor:
    """Andrychowicz et al.'s gradient preprocessing: ``(log|g|/p, sign g)`` or ``(−1, eᵖ g)`` for tiny ``g``."""
    big = g.abs() >= math.exp(-p)
    first = torch.where(big, torch.log(g.abs().clamp_min(1e-30)) / p, torch.full_like(g, -1.0))
    second = torch.where(big, torch.sign(g), math.exp(p) * g)
    return torch.stack([first, second], -1)


class LSTMOptimizerNet(nn.Module):
    """A coordinatewise LSTM optimizer: each coordinate's gradient in, its update out.

    All coordinates share the weights and keep their own hidden state, so one small net
    optimizes a problem of any size. The update is ``out_scale · Linear(h_t)``.

    >>> net = LSTMOptimizerNet(hidden=8)
    >>> state = net.init_state(5)
    >>> update, state = net(torch.randn(5), state)
    >>> update.shape
    torch.Size([5])
    """

    def __init__(self, hidden: int = 20, layers: int = 2, preprocess: float = 10.0, out_scale: float = 0.1) -> None:
        super().__init__()
        self.hidden, self.p, self.out_scale = hidden, preprocess, out_scale
        self.cells = nn.ModuleList(nn.LSTMCell(2 if i == 0 else hidden, hidden) for i in range(layers))
        self.head = nn.Linear(hidden, 1)

    def init_state(self, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Zero hidden and cell states for ``n`` coordinates."""
        z = self.head.weight.new_zeros(n, self.hidden)
        return [(z, z) for _ in self.cells]

    def forward(
        self, grad: torch.Tensor, state: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """The update for a flat tensor of gradients, and the new state."""
        x = _preprocess(grad.reshape(-1), self.p)
        new = []
        for cell, (h, c) in zip(self.cells, state):
            h, c = cell(x, (h, c))
            new.append((h, c))
            x = h
        return self.out_scale * self.head(x).squeeze(-1).view_as(grad), new


def meta_train(
    net: LSTMOptimizerNet,
    meta_steps: int = 200,
    horizon: int = 100,
    unroll: int = 20,
    batch: int = 32,
    dim: int = 10,
    lr: float = 3e-3,
    seed: int = 0,
    progress: bool = False,
) -> list[float]:
    """Train ``net`` to optimize random :class:`LeastSquares` problems; return the meta-loss per meta-step.

    Each episode samples ``batch`` problems and runs ``horizon`` steps of
    ``θ ← θ + net(∇f(θ))``, cut into pieces of ``unroll`` steps. After each piece the
    meta-loss (the mean over the piece of ``log(f(θ_t) / f(θ_0))``, so that every decade of
    progress counts alike) is backpropagated into the
    LSTM's weights (the gradient fed to the LSTM is treated as a constant, as in the paper)
    and Adam takes one step; ``θ`` and the LSTM state are then detached and carried on.

    >>> net = LSTMOptimizerNet(hidden=4)
    >>> len(meta_train(net, meta_steps=2, horizon=4, unroll=2, batch=2, dim=3))
    2
    """
    if horizon % unroll:
        raise ValueError(f"horizon ({horizon}) must be a multiple of unroll ({unroll}).")
    torch.manual_seed(seed)
    meta_opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses: list[float] = []
    from tqdm.auto import tqdm

    bar = tqdm(total=meta_steps, disable=not progress, desc="meta-training", unit="step", leave=False)
    episode = 0
    while len(losses) < meta_steps:
        prob = LeastSquares.sample(batch, dim, seed=seed * 100_003 + episode)
        episode += 1
        theta, state = prob.theta0.clone(), net.init_state(batch * dim)
        start = prob.loss(theta).detach()
        for _ in range(horizon // unroll):
            total = 0.0
            for _ in range(unroll):
                update, state = net(prob.grad(theta).detach(), state)
                theta = theta + update
                total = total + torch.log(prob.loss(theta) / start + 1e-12).mean()
            meta_loss = total / unroll
            meta_opt.zero_grad()
            meta_loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            meta_opt.step()
            theta = theta.detach()
            state = [(h.detach(), c.detach()) for h, c in state]
            losses.append(meta_loss.item())
            bar.update(1)
            if len(losses) >= meta_steps:
                break
    bar.close()
    return losses


@torch.no_grad()
def run_learned(net: LSTMOptimizerNet, problem: LeastSquares | Problem, steps: int) -> torch.Tensor:
    """Losses of the learned optimizer on each problem: shape ``(steps + 1, n)``.

    >>> net = LSTMOptimizerNet(hidden=4)
    >>> run_learned(net, LeastSquares.sample(3, dim=2, seed=0), steps=4).shape
    torch.Size([5, 3])
    """
    theta = problem.theta0.clone() if isinstance(problem, LeastSquares) else problem.x0.clone()
    state = net.init_state(theta.numel())
    out = [problem.loss(theta)]
    for _ in range(steps):
        update, state = net(problem.grad(theta), state)
        theta = theta + update
        out.append(problem.loss(theta))
    return torch.stack(out)


def run_torch(
    make: Callable[[list[torch.Tensor], float], torch.optim.Optimizer],
    problem: LeastSquares | Problem,
    lrs: Sequence[float],
    steps: int,
) -> torch.Tensor:
    """Losses of a PyTorch optimizer at each learning rate: shape ``(steps + 1, len(lrs), n)``.

    ``make(params, lr)`` builds the optimizer. The gradients are the problem's own
    (closed form), so a whole batch of problems is one parameter tensor.

    >>> p = LeastSquares.sample(2, dim=3, seed=0)
    >>> run_torch(lambda ps, lr: torch.optim.SGD(ps, lr=lr), p, [1e-3, 1e-2], steps=3).shape
    torch.Size([4, 2, 2])
    """
    x0 = problem.theta0 if isinstance(problem, LeastSquares) else problem.x0
    runs = []
    for lr in lrs:
        x = x0.clone().requires_grad_(True)
        opt = make([x], lr)
        out = [problem.loss(x.detach())]
        for _ in range(steps):
            x.grad = problem.grad(x.detach())
            opt.step()
            out.append(problem.loss(x.detach()))
        runs.append(torch.stack(out))
    res = torch.stack(runs, 1)
    return torch.where(torch.isfinite(res), res, torch.full_like(res, math.inf))


def best_lr(losses: torch.Tensor, lrs: Sequence[float], at: int = -1) -> tuple[float, torch.Tensor]:
    """The learning rate whose mean log-loss at step ``at`` is lowest, and that run's losses ``(steps + 1, n)``.

    ``losses`` is what :func:`run_torch` returns.

    >>> l = torch.tensor([[[1.0], [1.0]], [[0.5], [0.1]]])
    >>> best_lr(l, [0.1, 1.0])[0]
    1.0
    """
    final = torch.log(losses[at].clamp_min(1e-30)).mean(-1)
    final = torch.where(torch.isfinite(final), final, torch.full_like(final, math.inf))
    i = int(final.argmin())
    return float(lrs[i]), losses[:, i]


class LSTMOptimizer(torch.optim.Optimizer):
    """A trained :class:`LSTMOptimizerNet` used as a ``torch.optim.Optimizer`` on any model.

    Every parameter tensor keeps the LSTM state of its coordinates; ``θ ← θ + net(g)``.
    ``lr`` multiplies the net's update (1 means "as trained").

    >>> net = LSTMOptimizerNet(hidden=4)
    >>> w = torch.nn.Parameter(torch.ones(3))
    >>> opt = LSTMOptimizer([w], net)
    >>> w.grad = torch.ones(3); opt.step()
    >>> w.shape
    torch.Size([3])
    """

    def __init__(self, params: Iterable[torch.Tensor], net: LSTMOptimizerNet, lr: float = 1.0) -> None:
        self.net = net
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One learned update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "lstm" not in state:
                    state["lstm"] = self.net.init_state(p.numel())
                update, state["lstm"] = self.net(p.grad.reshape(-1).float(), state["lstm"])
                p.add_(group["lr"] * update.view_as(p).to(p.dtype))
        return loss
