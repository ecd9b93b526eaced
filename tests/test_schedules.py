"""lrcourse.schedules: agreement with PyTorch's schedulers, step by step, and clear errors.

Each agreement test draws random parameters (several seeds), drives the PyTorch
scheduler the way a training loop does (read the rate, ``optimizer.step()``,
``scheduler.step()``) and compares the rate -- and the momentum, for the cyclical
policies -- with our function at every step, to 1e-9.
"""

from __future__ import annotations

import math
import random

import pytest
import torch
from torch.optim import lr_scheduler as S

from lrcourse import schedules as sch

SEEDS = range(6)
TOL = 1e-9


def drive(make, steps: int, adam: bool = False) -> tuple[list[float], list[float]]:
    """The (lr, momentum) a training loop sees at steps 0..steps-1 under the scheduler ``make(opt)``."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=1.0) if adam else torch.optim.SGD([p], lr=1.0, momentum=0.9)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(steps):
        g = opt.param_groups[0]
        lrs.append(float(g["lr"]))
        moms.append(float(g["betas"][0] if adam else g["momentum"]))
        opt.step()
        sched.step()
    return lrs, moms


def assert_agree(fn, expected: list[float], what: str = "lr") -> None:
    assert len(expected) > 0
    for t, e in enumerate(expected):
        got = fn(t)
        assert abs(got - e) <= TOL * max(1.0, abs(e)), f"{what} at step {t}: ours {got!r}, PyTorch {e!r}"


def set_lr(opt: torch.optim.Optimizer, lr: float) -> torch.optim.Optimizer:
    for g in opt.param_groups:
        g["lr"] = lr
    return opt


@pytest.mark.parametrize("seed", SEEDS)
def test_step_decay_matches_steplr(seed):
    r = random.Random(seed)
    lr0, size, gamma = r.uniform(1e-3, 1), r.randint(1, 30), r.uniform(0.05, 0.95)
    expected, _ = drive(lambda o: S.StepLR(set_lr(o, lr0), step_size=size, gamma=gamma), 300)
    assert_agree(sch.step_decay(lr0, size, gamma), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_exponential_matches_exponentiallr(seed):
    r = random.Random(seed)
    lr0, gamma = r.uniform(1e-3, 1), r.uniform(0.9, 0.999)
    expected, _ = drive(lambda o: S.ExponentialLR(set_lr(o, lr0), gamma=gamma), 400)
    assert_agree(sch.exponential(lr0, gamma), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_matches_cosineannealinglr(seed):
    r = random.Random(seed)
    lr0 = r.uniform(1e-3, 1)
    total, eta_min = r.randint(1, 300), r.choice([0.0, r.uniform(0, lr0 / 2)])
    # PyTorch computes this one recursively from the previous rate; it must still agree
    # on every step up to and including T_max.
    expected, _ = drive(lambda o: S.CosineAnnealingLR(set_lr(o, lr0), T_max=total, eta_min=eta_min), total + 1)
    f = sch.cosine(lr0, total, eta_min)
    assert_agree(f, expected)
    assert f(total + 5) == eta_min  # ours stays at the floor afterwards


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_restarts_matches_warmrestarts(seed):
    r = random.Random(seed)
    lr0, t0, mult = r.uniform(1e-3, 1), r.randint(1, 30), r.randint(1, 3)
    eta_min = r.uniform(0, lr0 / 3)
    expected, _ = drive(
        lambda o: S.CosineAnnealingWarmRestarts(set_lr(o, lr0), T_0=t0, T_mult=mult, eta_min=eta_min), 500
    )
    assert_agree(sch.cosine_restarts(lr0, t0, mult, eta_min), expected)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("adam", [False, True])
def test_cyclic_matches_cycliclr_with_momentum(seed, mode, adam):
    r = random.Random(seed)
    base = r.uniform(1e-4, 0.1)
    top = base + r.uniform(0, 1)
    up = r.randint(1, 40)
    down = r.choice([None, r.randint(1, 40)])
    gamma = r.uniform(0.99, 1.0) if mode == "exp_range" else 1.0
    m_lo = r.uniform(0.5, 0.9)
    m_hi = r.uniform(m_lo, 0.99)
    expected, moms = drive(
        lambda o: S.CyclicLR(
            o, base_lr=base, max_lr=top, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma,
            base_momentum=m_lo, max_momentum=m_hi,
        ),
        400,
        adam=adam,
    )
    assert_agree(sch.cyclic(base, top, up, down, mode=mode, gamma=gamma), expected)
    assert_agree(sch.cyclic_momentum(up, down, m_lo, m_hi, mode=mode, gamma=gamma), moms, "momentum")


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("seed", SEEDS)
def test_one_cycle_matches_onecyclelr_with_momentum(seed, anneal, three_phase):
    r = random.Random(seed)
    total = r.randint(20, 600)
    pct = r.uniform(0.1, 0.45) if three_phase else r.uniform(0.1, 0.9)
    max_lr, div, final = r.uniform(1e-3, 2), r.uniform(2, 50), r.uniform(10, 1e4)
    m_lo = r.uniform(0.5, 0.9)
    m_hi = r.uniform(m_lo, 0.99)
    expected, moms = drive(
        lambda o: S.OneCycleLR(
            o, max_lr=max_lr, total_steps=total, pct_start=pct, anneal_strategy=anneal,
            base_momentum=m_lo, max_momentum=m_hi, div_factor=div, final_div_factor=final,
            three_phase=three_phase,
        ),
        total,  # OneCycleLR refuses to go past total_steps
    )
    assert_agree(sch.one_cycle(max_lr, total, pct, div, final, anneal, three_phase), expected)
    assert_agree(sch.one_cycle_momentum(total, pct, m_lo, m_hi, anneal, three_phase), moms, "momentum")


@pytest.mark.parametrize("seed", SEEDS)
def test_warmup_alone_matches_linearlr(seed):
    r = random.Random(seed)
    lr0, w, start = r.uniform(1e-3, 1), r.randint(1, 50), r.uniform(0.01, 1.0)
    expected, _ = drive(lambda o: S.LinearLR(set_lr(o, lr0), start_factor=start, total_iters=w), w + 30)
    assert_agree(sch.warmup(sch.constant(lr0), w, start), expected)


@pytest.mark.parametrize("after", ["cosine", "exponential", "step"])
@pytest.mark.parametrize("seed", SEEDS)
def test_warmup_then_schedule_matches_sequentiallr(seed, after):
    r = random.Random(seed)
    lr0, w, start = r.uniform(1e-3, 1), r.randint(1, 50), r.uniform(0.01, 1.0)
    total, gamma, size = r.randint(10, 200), r.uniform(0.95, 0.999), r.randint(1, 30)
    ours = {
        "cosine": sch.cosine(lr0, total),
        "exponential": sch.exponential(lr0, gamma),
        "step": sch.step_decay(lr0, size, 0.5),
    }[after]

    def make(o):
        set_lr(o, lr0)
        first = S.LinearLR(o, start_factor=start, total_iters=w)
        second = {
            "cosine": lambda: S.CosineAnnealingLR(o, T_max=total),
            "exponential": lambda: S.ExponentialLR(o, gamma=gamma),
            "step": lambda: S.StepLR(o, step_size=size, gamma=0.5),
        }[after]()
        return S.SequentialLR(o, [first, second], milestones=[w])

    n = w + (total + 1 if after == "cosine" else 150)
    expected, _ = drive(make, n)
    assert_agree(sch.warmup(ours, w, start), expected)


def test_warmup_with_start_factor_zero_starts_at_zero():
    f = sch.warmup(sch.cosine(0.4, 10), 4)
    assert [f(t) for t in range(5)] == [0.0, 0.1, 0.2, 0.30000000000000004, 0.4]


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_decay_matches_linearlr(seed):
    r = random.Random(seed)
    lr0, total = r.uniform(1e-3, 1), r.randint(1, 200)
    end = r.choice([0.0, r.uniform(0, lr0)])
    expected, _ = drive(lambda o: S.LinearLR(set_lr(o, lr0), 1.0, end / lr0, total_iters=total), total + 20)
    assert_agree(sch.linear_decay(lr0, total, end), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_wsd_matches_sequentiallr(seed):
    r = random.Random(seed)
    lr0, w, d, stable = r.uniform(1e-3, 1), r.randint(1, 40), r.randint(1, 60), r.randint(0, 80)
    total = w + stable + d

    def make(o):
        set_lr(o, lr0)
        parts = [S.LinearLR(o, 1e-12, 1.0, total_iters=w), S.ConstantLR(o, factor=1.0, total_iters=0),
                 S.LinearLR(o, 1.0, 0.0, total_iters=d)]
        return S.SequentialLR(o, parts, milestones=[w, total - d])

    expected, _ = drive(make, total + 10)
    ours = sch.wsd(lr0, total, w, d)
    for t, e in enumerate(expected):  # LinearLR cannot start at exactly 0: a gap of lr0 * 1e-12 at most
        assert abs(ours(t) - e) <= 1e-9 * max(1.0, abs(e)) + lr0 * 1e-12, (t, ours(t), e)


def test_wsd_is_warmup_then_constant_then_linear_decay():
    f = sch.wsd(0.4, total_steps=100, warmup_steps=10, decay_steps=20)
    g = sch.linear_decay(0.4, 20)
    assert all(math.isclose(f(t), 0.04 * t, abs_tol=1e-15) for t in range(10))
    assert all(f(t) == 0.4 for t in range(10, 81))
    assert all(math.isclose(f(80 + t), g(t), abs_tol=1e-15) for t in range(30))


def test_time_based_is_inverse_time():
    f = sch.time_based(0.3, k=0.1)
    for t in (0, 1, 10, 1000):
        assert math.isclose(1 / f(t), (1 + 0.1 * t) / 0.3)
    assert math.isclose(f(10), f(0) / 2)  # halved when k*t = 1


def test_transformer_rises_linearly_then_decays_as_inverse_sqrt():
    d, w = 256, 50
    f = sch.transformer(d, w)
    peak = (d * w) ** -0.5
    assert math.isclose(f(w - 1), peak)
    assert math.isclose(f(9) / f(4), 2.0)  # linear in t = step + 1 during warmup
    assert math.isclose(f(4 * w - 1) / f(w - 1), 0.5)  # 1/sqrt(t) afterwards
    assert max(f(t) for t in range(10 * w)) == f(w - 1)


def test_slanted_triangular_shape():
    total, cut_frac, ratio, top = 200, 0.2, 16, 0.5
    f = sch.slanted_triangular(top, total, cut_frac, ratio)
    cut = int(total * cut_frac)
    assert math.isclose(f(0), top / ratio) and math.isclose(f(total), top / ratio)
    assert math.isclose(f(cut), top)
    assert max(f(t) for t in range(total + 1)) == f(cut)
    rise, fall = f(1) - f(0), f(cut + 1) - f(cut)
    assert math.isclose(rise * cut, -fall * (total - cut))  # two straight lines meeting at the peak


def test_gallery_is_all_valid_schedules():
    g = sch.gallery(200)
    assert len(g) == len(set(g)) >= 10
    for name, f in g.items():
        values = [f(t) for t in range(200)]
        assert all(math.isfinite(v) and v >= 0 for v in values), name


def test_schedules_drive_fit():
    from lrcourse.data import load
    from lrcourse.models import mlp
    from lrcourse.train import fit

    torch.manual_seed(0)
    data = load("blobs", n_train=256, n_test=64, device="cpu")
    model = mlp(2, 3, hidden=(8,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    total = 2 * math.ceil(256 / 32)
    lr, mom = sch.one_cycle(0.5, total), sch.one_cycle_momentum(total)
    seen = []
    hist = fit(
        model, data, opt, epochs=2, batch_size=32, schedule=lr, momentum_schedule=mom, progress=False, seed=0,
        on_epoch_end=lambda e, m, h: seen.append(opt.param_groups[0]["momentum"]),
    )
    assert hist.lr == [lr(t) for t in range(total)]
    assert seen[-1] == mom(total - 1)


BAD = [
    (sch.step_decay, (0.1, 0), "step_size"),
    (sch.step_decay, (0.1, 2.5), "step_size"),
    (sch.exponential, (0.1, 0.0), "gamma"),
    (sch.exponential, (-0.1, 0.9), "lr0"),
    (sch.time_based, (0.1, -1.0), "k"),
    (sch.cosine, (0.1, 0), "total"),
    (sch.cosine, (0.1, -5), "total"),
    (sch.cosine_restarts, (0.1, 0), "T_0"),
    (sch.cosine_restarts, (0.1, 10, 0), "T_mult"),
    (sch.cyclic, (0.5, 0.1, 10), "max_lr"),
    (sch.cyclic, (0.1, 0.5, 0), "step_size_up"),
    (sch.cyclic, (0.1, 0.5, 10, 0), "step_size_down"),
    (sch.cyclic, (0.1, 0.5, 10, None, "square"), "mode"),
    (sch.cyclic_momentum, (10, None, 0.95, 0.85), "max_momentum"),
    (sch.cyclic_momentum, (10, None, 0.8, 1.2), "max_momentum"),
    (sch.one_cycle, (0.1, 100, 0.0), "pct_start"),
    (sch.one_cycle, (0.1, 100, 1.0), "pct_start"),
    (sch.one_cycle, (0.1, 100, 1.5), "pct_start"),
    (sch.one_cycle, (0.1, 0), "total"),
    (sch.one_cycle, (0.1, 3, 0.3), "phase"),
    (sch.one_cycle, (0.1, 100, 0.6, 25.0, 1e4, "cos", True), "phase"),
    (sch.one_cycle, (0.1, 100, 0.3, 25.0, 1e4, "cosine"), "anneal"),
    (sch.one_cycle, (-1.0, 100), "max_lr"),
    (sch.one_cycle_momentum, (100, 0.3, 0.95, 0.85), "max_momentum"),
    (sch.one_cycle_momentum, (100, -0.1), "pct_start"),
    (sch.warmup, (0.1, 10), "schedule"),
    (sch.warmup, (sch.constant(0.1), 0), "warmup_steps"),
    (sch.warmup, (sch.constant(0.1), 10, 1.5), "start_factor"),
    (sch.transformer, (512, 0), "warmup"),
    (sch.linear_decay, (0.1, 0), "total"),
    (sch.linear_decay, (0.1, 10, 0.2), "end"),
    (sch.wsd, (0.1, 10, 6, 6), "exceeds"),
    (sch.wsd, (0.1, 10, 2, 0), "decay_steps"),
    (sch.slanted_triangular, (0.1, 100, 0.0), "cut_frac"),
    (sch.slanted_triangular, (0.1, 100, 0.1, 0.5), "ratio"),
    (sch.slanted_triangular, (0.1, 5, 0.1), "no rising steps"),
]


@pytest.mark.parametrize("fn, args, word", BAD, ids=[f"{f.__name__}-{w}-{i}" for i, (f, _, w) in enumerate(BAD)])
def test_bad_parameters_give_one_clear_sentence(fn, args, word):
    with pytest.raises(ValueError) as info:
        fn(*args)
    msg = str(info.value)
    assert word in msg
    assert msg.endswith(".") and "\n" not in msg and msg.count(". ") == 0


# --------------------------------------------------------------------------- combinator and the LambdaLR bridge


def test_one_cycle_is_a_combination_of_anneals() -> None:
    f = sch.one_cycle(1.0, total_steps=100, pct_start=0.25)
    g = sch.combine([24, 99], [sch.anneal("cos", 0.04, 1.0), sch.anneal("cos", 1.0, 0.04 / 1e4)])
    assert [f(t) for t in range(110)] == [g(t) for t in range(110)]


@pytest.mark.parametrize("ends", [[], [0, 5], [5, 5]])
def test_combine_refuses_empty_or_flat_phases(ends: list) -> None:
    with pytest.raises(ValueError):
        sch.combine(ends, [sch.anneal("linear", 1, 0)] * max(1, len(ends)))


def test_as_lambda_lr_follows_the_schedule_and_keeps_group_ratios() -> None:
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.3}])
    f = sch.one_cycle(0.5, total_steps=50)
    bridge = sch.as_lambda_lr(f, opt)
    for t in range(60):
        assert opt.param_groups[0]["lr"] == pytest.approx(f(t), rel=1e-12)
        assert opt.param_groups[1]["lr"] == pytest.approx(3 * f(t), rel=1e-12)
        opt.step()
        bridge.step()
