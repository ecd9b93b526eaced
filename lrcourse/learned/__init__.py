"""Learned optimizers: update rules found by search, and an LSTM trained by gradient descent.

Two ideas of "learning to learn", both small enough to run on a laptop, in four modules:
:mod:`~lrcourse.learned.rules` (the rule language and :class:`RuleOptimizer`),
:mod:`~lrcourse.learned.problems` (batched toy problems, :func:`simulate`, :func:`score`),
:mod:`~lrcourse.learned.search` (random rules, mutation, aging evolution) and
:mod:`~lrcourse.learned.lstm` (the LSTM optimizer). Everything is re-exported here.

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

>>> import torch
>>> rule = parse("exp(sign(g)*sign(m))*g")
>>> str(rule)
'exp(sign(g)*sign(m))*g'
>>> rule(torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([4.0]))
tensor([5.4366])
"""


from .lstm import (
    LeastSquares,
    LSTMOptimizer,
    LSTMOptimizerNet,
    best_lr,
    meta_train,
    preprocess_gradient,
    run_learned,
    run_torch,
)
from .problems import LR_GRID, Problem, rosenbrocks, rotated_quadratics, score, simulate, toy_suite
from .rules import Expr, G, M, RuleError, RuleOptimizer, V, abs_, as_rule, exp, parse, sign, sqrt
from .search import SearchResult, fold, mutate, random_rule, search, unscaled

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
    "LR_GRID",
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
    "preprocess_gradient",
    "run_learned",
    "run_torch",
    "best_lr",
]
