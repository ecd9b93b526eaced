"""Tests of lrcourse.learned: the rule language, rules as optimizers, the search, the LSTM optimizer."""

from __future__ import annotations

import math
import random

import pytest
import torch

from lrcourse import learned
from lrcourse.learned import G, M, RuleError, V, exp, parse, sign, sqrt

POWERSIGN = "exp(sign(g)*sign(m))*g"
ADDSIGN = "(1+sign(g)*sign(m))*g"


def _trajectory(make, steps: int = 25, seed: int = 0) -> list[torch.Tensor]:
    """Parameters of a small MLP-like pair of tensors after each step on a fixed noisy quadratic."""
    gen = torch.Generator().manual_seed(seed)
    w1 = torch.nn.Parameter(torch.randn(4, 3, generator=gen))
    w2 = torch.nn.Parameter(torch.randn(5, generator=gen))
    opt = make([w1, w2])
    out = []
    for _ in range(steps):
        loss = (w1**2 * torch.arange(1.0, 4.0)).sum() + ((w2 - 1) ** 2).sum() + (w1.sum() * w2.sum()).sin()
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(torch.cat([w1.detach().flatten(), w2.detach()]).clone())
    return out


# --- the language -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [POWERSIGN, ADDSIGN, "m/(sqrt(v)+1e-08)", "g-(m-v)", "-(g+m)*2", "g^2*sign(m)", "g^-0.5", "e*abs(g)"],
)
def test_parse_and_print_round_trip(text: str) -> None:
    rule = parse(text)
    assert parse(str(rule)) == rule


def test_tree_building_equals_parsing() -> None:
    assert exp(sign(G) * sign(M)) * G == parse(POWERSIGN)
    assert (1 + sign(G) * sign(M)) * G == parse(ADDSIGN)
    assert M / (sqrt(V) + 1e-8) == parse("m / (sqrt(v) + 1e-8)")
    assert parse("g²") == G**2 == parse("g**2")


def test_precedence_and_evaluation() -> None:
    g, m, v = torch.tensor([2.0, -3.0]), torch.tensor([1.0, 1.0]), torch.tensor([4.0, 9.0])
    assert torch.equal(parse("g - m - v")(g, m, v), g - m - v)
    assert torch.equal(parse("g - (m - v)")(g, m, v), g - (m - v))
    assert torch.equal(parse("-g^2")(g, m, v), -(g**2))
    assert torch.equal(parse("g / m * v")(g, m, v), g / m * v)
    assert torch.allclose(parse(POWERSIGN)(g, m, v), torch.tensor([2 * math.e, -3 / math.e]))


@pytest.mark.parametrize(
    "text, words",
    [
        ("exp(g", "missing a ')'"),
        ("g +", "missing an operand"),
        ("q * g", "unknown name 'q'"),
        ("g m", "unexpected 'm'"),
        ("2 * 3", "uses none of g, m, v"),
        ("", "empty"),
        ("g $ m", "unexpected character '$'"),
        ("g ^ m", "exponent must be a number"),
        ("sign g", "needs a '('"),
    ],
)
def test_malformed_rules_give_one_clear_sentence(text: str, words: str) -> None:
    with pytest.raises(RuleError) as info:
        parse(text)
    message = str(info.value)
    assert words in message
    assert "\n" not in message and message.endswith(".")


def test_rule_must_be_a_string() -> None:
    with pytest.raises(RuleError, match="must be a string"):
        parse(3.0)  # type: ignore[arg-type]


def test_fold_and_unscaled() -> None:
    assert str(learned.fold(parse("exp(sign(2)) * g"))) == "e*g"
    assert learned.unscaled(parse("3*g*2")) == G
    assert learned.unscaled(parse("-0.5*sign(m)*g")) == -(sign(M) * G)


def test_mutate_keeps_exponents_numeric_and_depth_bounded() -> None:
    rng = random.Random(0)
    rule = parse("g^2*sign(m)")
    for _ in range(200):
        rule = learned.mutate(rule, rng, max_depth=4)
        assert rule.depth <= 4 and rule.uses
        for _, node in rule.nodes():
            if node.op == "pow":
                assert node.args[1].op == "const"


# --- rules as optimizers --------------------------------------------------------------------


def test_powersign_rule_matches_optim_powersign_step_for_step() -> None:
    from lrcourse.optim import PowerSign

    ours = _trajectory(lambda ps: learned.RuleOptimizer(ps, POWERSIGN, lr=0.01, betas=(0.9, 0.999)))
    theirs = _trajectory(lambda ps: PowerSign(ps, lr=0.01, beta=0.9))
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert torch.allclose(a, b, atol=1e-6), f"step {step}"
    assert not torch.allclose(ours[-1], ours[0])  # it moved


def test_addsign_rule_matches_optim_addsign() -> None:
    from lrcourse.optim import AddSign

    ours = _trajectory(lambda ps: learned.RuleOptimizer(ps, ADDSIGN, lr=0.01))
    theirs = _trajectory(lambda ps: AddSign(ps, lr=0.01, beta=0.9))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours, theirs))


def test_adam_rule_matches_torch_adam() -> None:
    ours = _trajectory(lambda ps: learned.RuleOptimizer(ps, "m/(sqrt(v)+1e-8)", lr=0.01))
    theirs = _trajectory(lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-8))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours, theirs))


def test_g_rule_is_sgd_and_a_wrong_rule_is_not() -> None:
    sgd = _trajectory(lambda ps: torch.optim.SGD(ps, lr=0.01))
    ours = _trajectory(lambda ps: learned.RuleOptimizer(ps, "g", lr=0.01))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ours, sgd))
    other = _trajectory(lambda ps: learned.RuleOptimizer(ps, "sign(g)", lr=0.01))
    assert not torch.allclose(other[-1], sgd[-1], atol=1e-4)


def test_simulate_matches_rule_optimizer() -> None:
    problem = learned.rotated_quadratics(3, dim=4, seed=2)
    lrs = [0.05, 0.5]
    batched = learned.simulate(POWERSIGN, problem, lrs, steps=10)
    for j, lr in enumerate(lrs):
        x = torch.nn.Parameter(problem.x0.clone())
        opt = learned.RuleOptimizer([x], POWERSIGN, lr=lr)
        for t in range(10):
            x.grad = problem.grad(x.detach())
            opt.step()
            assert torch.allclose(problem.loss(x.detach()), batched[t + 1, j], rtol=1e-5, atol=1e-6)


def test_rule_optimizer_rejects_bad_settings() -> None:
    w = torch.nn.Parameter(torch.ones(1))
    with pytest.raises(ValueError, match="lr must be"):
        learned.RuleOptimizer([w], "g", lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        learned.RuleOptimizer([w], "g", betas=(1.0, 0.9))
    with pytest.raises(RuleError):
        learned.RuleOptimizer([w], "sign(g")


# --- scoring and search ------------------------------------------------------------------------


def test_score_ranks_descent_above_ascent_and_divergence_is_finite() -> None:
    suite = learned.toy_suite(4, dim=5)
    good, bad = learned.score("g", suite, steps=40), learned.score("-g", suite, steps=40)
    assert good < -1.0 and bad > 0  # ascent makes no progress at any learning rate
    diverged = learned.simulate("-g", suite[0], [10.0], steps=40)
    assert torch.isinf(diverged[-1]).all()  # a diverged run is recorded as inf ...
    assert learned.score("-g", suite, steps=40, lrs=[10.0]) == pytest.approx(1.0)  # ... and scored as the worst


def test_search_is_reproducible_and_tracks_the_best() -> None:
    suite = learned.toy_suite(3, dim=4)
    a = learned.search(suite, budget=12, population=5, steps=30, seed=3)
    b = learned.search(suite, budget=12, population=5, steps=30, seed=3)
    assert a.scores == b.scores and len(a.scores) == 12
    assert a.best_so_far == sorted(a.best_so_far, reverse=True)  # never gets worse
    assert a.best_so_far[-1] == min(a.scores.values()) == a.top(1)[0][1]
    tops = [s for _, s in a.top(5)]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    with pytest.raises(ValueError, match="budget"):
        learned.search(suite, budget=0)


# --- the LSTM optimizer ----------------------------------------------------------------------------


def test_least_squares_gradient_is_autograd_gradient() -> None:
    p = learned.LeastSquares.sample(3, dim=4, seed=0)
    theta = torch.randn(3, 4, requires_grad=True)
    p.loss(theta).sum().backward()
    assert torch.allclose(theta.grad, p.grad(theta.detach()), atol=1e-4)
    assert bool((p.minimum() < 1e-6 * p.loss(p.x0)).all())


def test_rosenbrock_gradient_is_autograd_gradient() -> None:
    p = learned.rosenbrocks(4, seed=1)
    z = p.x0.clone().requires_grad_(True)
    p.loss(z).sum().backward()
    assert torch.allclose(z.grad, p.grad(p.x0), rtol=1e-5)


def test_preprocess_branches() -> None:
    out = learned.preprocess_gradient(torch.tensor([math.e, -1e-9, 0.0]), 10.0)
    assert torch.allclose(out[0], torch.tensor([0.1, 1.0]))
    assert torch.allclose(out[1], torch.tensor([-1.0, -1e-9 * math.exp(10)]))
    assert torch.equal(out[2], torch.tensor([-1.0, 0.0]))


def test_meta_training_lowers_the_meta_loss_and_beats_an_untrained_net() -> None:
    torch.manual_seed(0)
    net = learned.LSTMOptimizerNet(hidden=10)
    test = learned.LeastSquares.sample(16, dim=5, seed=123)
    before = learned.run_learned(net, test, 20)[-1].log().mean()
    losses = learned.meta_train(net, meta_steps=40, horizon=20, unroll=10, batch=8, dim=5, lr=1e-2, seed=0)
    after = learned.run_learned(net, test, 20)[-1].log().mean()
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5
    assert after < before - 1.0
    with pytest.raises(ValueError, match="multiple of unroll"):
        learned.meta_train(net, horizon=25, unroll=10)


def test_lstm_optimizer_matches_run_learned_and_trains_a_model() -> None:
    torch.manual_seed(0)
    net = learned.LSTMOptimizerNet(hidden=6)
    p = learned.LeastSquares.sample(2, dim=3, seed=4)
    x = torch.nn.Parameter(p.x0.clone())
    opt = learned.LSTMOptimizer([x], net)
    for _ in range(5):
        x.grad = p.grad(x.detach())
        opt.step()
    assert torch.allclose(p.loss(x.detach()), learned.run_learned(net, p, 5)[-1], atol=1e-5)


def test_run_torch_and_best_lr() -> None:
    p = learned.LeastSquares.sample(4, dim=3, seed=0)
    lrs = [1e-4, 1e-2, 10.0]
    losses = learned.run_torch(lambda ps, lr: torch.optim.SGD(ps, lr=lr), p, lrs, steps=20)
    assert losses.shape == (21, 3, 4)
    assert torch.isinf(losses[-1, 2]).all()  # lr = 10 diverges, recorded as inf
    lr, best = learned.best_lr(losses, lrs)
    assert lr == 1e-2 and torch.equal(best, losses[:, 1])
