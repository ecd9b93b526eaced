"""The range test: schedules, smoothing, stopping, exact restoration, param groups, bad input."""

from __future__ import annotations

import math
import warnings

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from torch import nn

from lrcourse import lr_finder as lf
from lrcourse.data import load
from lrcourse.models import mlp
from lrcourse.train import evaluate, fit


@pytest.fixture(scope="module")
def blobs():
    return load("blobs", n_train=2048, n_test=256, device="cpu", seed=1)


def _quiet_range_test(*args, **kwargs):
    kwargs.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return lf.range_test(*args, **kwargs)


# --------------------------------------------------------------------------- pure pieces


@pytest.mark.parametrize("start,end,n", [(1e-7, 10.0, 100), (1e-3, 1.0, 10), (0.5, 2.0, 37)])
def test_exp_schedule_hits_both_ends_with_a_constant_ratio(start, end, n):
    lrs = lf.lr_schedule_exp(start, end, n)
    q = lf.growth_factor(start, end, n)
    assert len(lrs) == n
    assert lrs[0] == pytest.approx(start, rel=1e-12) and lrs[-1] == pytest.approx(end, rel=1e-9)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert all(r == pytest.approx(q, rel=1e-9) for r in ratios)
    assert math.log(q) == pytest.approx((math.log(end) - math.log(start)) / (n - 1))


def test_linear_schedule_has_constant_differences():
    lrs = lf.lr_schedule_linear(0.01, 1.0, 12)
    diffs = [b - a for a, b in zip(lrs, lrs[1:])]
    assert lrs[0] == 0.01 and lrs[-1] == pytest.approx(1.0)
    assert all(d == pytest.approx(0.99 / 11) for d in diffs)


def test_smoothing_is_the_bias_corrected_ema():
    values = [3.0, 1.0, 4.0, 1.0, 5.0]
    got = lf.smooth_losses(values, beta=0.8)
    avg, want = 0.0, []
    for i, v in enumerate(values, start=1):
        avg = 0.8 * avg + 0.2 * v
        want.append(avg / (1 - 0.8**i))
    assert got == pytest.approx(want)
    assert got[0] == 3.0  # bias correction: the first value is not shrunk towards 0
    assert lf.smooth_losses(values, beta=0.0) == values


def test_divergence_rule():
    assert lf.diverged(4.01, 1.0, 4.0) and not lf.diverged(4.0, 1.0, 4.0)
    assert lf.diverged(float("inf"), 1.0) and lf.diverged(float("nan"), 1.0)
    assert not lf.diverged(2.5, 1.0, 3.0) and lf.diverged(2.5, 1.0, 2.0)


# --------------------------------------------------------------------------- the test itself


def test_restores_model_buffers_optimizer_and_rng_bitwise(blobs):
    torch.manual_seed(0)
    model = mlp(2, 3, hidden=(16, 16), norm="batch")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    fit(model, blobs, opt, epochs=1, max_steps=5, seed=0, progress=False)  # Adam state, BN stats
    model.eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    opt_state = opt.state_dict()
    exp_avg = {k: {n: t.clone() if torch.is_tensor(t) else t for n, t in s.items()} for k, s in opt_state["state"].items()}
    torch.manual_seed(123)
    rng = torch.get_rng_state()

    r = _quiet_range_test(model, blobs, opt, start_lr=1e-5, end_lr=100, num_iter=60, batch_size=32, seed=0)

    assert len(r.lrs) > 10  # it really trained (and then undid it)
    assert torch.equal(torch.get_rng_state(), rng)
    assert not model.training  # mode restored
    after = model.state_dict()
    assert after.keys() == state.keys()
    for k in state:
        assert torch.equal(after[k], state[k]), k  # running_mean/var and num_batches_tracked too
    new_opt = opt.state_dict()
    assert new_opt["param_groups"] == opt_state["param_groups"]
    for k, s in exp_avg.items():
        for name, t in s.items():
            got = new_opt["state"][k][name]
            assert torch.equal(got, t) if torch.is_tensor(t) else got == t
    assert all(p.grad is None for p in model.parameters())


def test_restores_a_fresh_optimizer_to_empty_state(blobs):
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    _quiet_range_test(model, blobs, opt, start_lr=1e-4, end_lr=1, num_iter=20, batch_size=64, seed=0)
    assert len(opt.state) == 0 and opt.param_groups[0]["lr"] == 0.1


def test_a_following_fit_is_unaffected_by_the_range_test(blobs):
    def run(with_test: bool) -> list[float]:
        torch.manual_seed(3)
        model = mlp(2, 3, hidden=(8,))
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        if with_test:
            _quiet_range_test(model, blobs, opt, start_lr=1e-4, end_lr=10, num_iter=30, batch_size=64)
        return fit(model, blobs, opt, epochs=1, max_steps=10, seed=0, progress=False).loss

    assert run(True) == run(False)


def test_stops_early_on_divergence(blobs):
    torch.manual_seed(0)
    model = mlp(2, 3, hidden=(16,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = _quiet_range_test(model, blobs, opt, start_lr=1e-3, end_lr=1e4, num_iter=100, batch_size=64, seed=0)
    assert len(r.lrs) < 100
    assert "exceeded 4x the best" in r.stopped or "the loss became" in r.stopped
    last, best = r.smoothed[-1], min(r.smoothed[:-1])
    assert not math.isfinite(last) or last > 4 * best
    assert all(s <= 4 * min(r.smoothed[: i + 1]) for i, s in enumerate(r.smoothed[:-1]))


def test_stops_on_nan_and_restores(blobs):
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        loss = nn.functional.cross_entropy(out, y)
        return loss * float("nan") if calls["n"] == 15 else loss

    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    before = [p.clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = _quiet_range_test(model, blobs, opt, loss_fn, start_lr=1e-4, end_lr=1, num_iter=50, batch_size=64, seed=0)
    assert len(r.losses) == 15 and math.isnan(r.losses[-1])
    assert "the loss became nan" in r.stopped
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_records_the_planned_lrs_and_the_smoothed_loss(blobs, mode):
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = _quiet_range_test(
        model, blobs, opt, start_lr=1e-4, end_lr=1e-1, num_iter=25, step_mode=mode, batch_size=64, seed=0
    )
    plan = lf.lr_schedule_exp(1e-4, 1e-1, 25) if mode == "exp" else lf.lr_schedule_linear(1e-4, 1e-1, 25)
    assert r.lrs == plan[: len(r.lrs)] and len(r.lrs) == 25
    assert r.smoothed == pytest.approx(lf.smooth_losses(r.losses, 0.98))
    assert r.stopped is None


def test_param_groups_keep_their_ratio(blobs):
    model = mlp(2, 3, hidden=(8,))
    opt = torch.optim.SGD(
        [{"params": model[1].parameters(), "lr": 0.01}, {"params": model[2].parameters(), "lr": 0.1}],
        lr=0.5,
    )
    seen = []

    def loss_fn(out, y):
        seen.append([g["lr"] for g in opt.param_groups])
        return nn.functional.cross_entropy(out, y)

    r = _quiet_range_test(model, blobs, opt, loss_fn, start_lr=1e-4, end_lr=1e-1, num_iter=20, batch_size=64)
    assert len(seen) == 20
    for (a, b), lr in zip(seen, r.lrs):
        assert a == lr and b == pytest.approx(10 * lr)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1]


def test_accumulation_averages_micro_batches(blobs):
    def run(bs: int, acc: int) -> list[float]:
        torch.manual_seed(0)
        model = nn.Linear(2, 3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        r = _quiet_range_test(
            model, blobs, opt, start_lr=1e-3, end_lr=1, num_iter=12, batch_size=bs, accumulation_steps=acc, seed=4
        )
        return r.losses

    one, two = run(64, 1), run(32, 2)  # same examples per step, same permutation
    assert one == pytest.approx(two, rel=1e-5)
    assert one != run(32, 1)


def test_val_data_records_the_validation_loss(blobs):
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    before = evaluate(model, blobs.x_test, blobs.y_test)[0]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = _quiet_range_test(model, blobs, opt, start_lr=1e-9, end_lr=1e-8, num_iter=10, batch_size=64, val_data=blobs)
    assert r.losses[0] == pytest.approx(before, rel=1e-5)  # a tiny step barely moves it
    r2 = _quiet_range_test(
        model, blobs, opt, start_lr=1e-9, end_lr=1e-8, num_iter=10, batch_size=64,
        val_data=(blobs.x_test, blobs.y_test),
    )
    assert r2.losses == pytest.approx(r.losses, rel=1e-5)


def test_cycles_short_data_and_says_so():
    d = load("blobs", n_train=100, n_test=20, device="cpu")
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(UserWarning, match="cycles through the data"):
        r = lf.range_test(model, d, opt, start_lr=1e-4, end_lr=1e-2, num_iter=20, batch_size=50, progress=False)
    assert len(r.lrs) == 20 and r.cycles == 10 and r.notes


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(start_lr=1.0, end_lr=0.1), "must be below end_lr"),
        (dict(start_lr=1e-3, end_lr=1e-3), "must be below end_lr"),
        (dict(start_lr=0.0), "must be positive"),
        (dict(start_lr=-1e-3), "must be positive"),
        (dict(end_lr=-1.0), "must be positive"),
        (dict(num_iter=9), "num_iter must be at least 10"),
        (dict(step_mode="log"), "step_mode must be"),
        (dict(beta=1.0), "beta .the smoothing factor. must be in"),
        (dict(diverge=1.0), "diverge must be above 1"),
        (dict(accumulation_steps=0), "accumulation_steps"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_bad_input_is_one_clear_sentence(blobs, kwargs, match):
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=match):
        lf.range_test(model, blobs, opt, progress=False, **kwargs)


def test_bad_data_and_zero_base_lr(blobs):
    model = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="lrcourse.data.Data"):
        lf.range_test(model, (blobs.x_train, blobs.y_train), torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="positive lr"):
        lf.range_test(model, blobs, torch.optim.SGD(model.parameters(), lr=0.0))


def test_the_model_follows_the_data_to_its_device(blobs):
    # as in fit: the model moves to the data's device (tests/test_runtime.py checks the call)
    model = nn.Linear(2, 3)
    lf.range_test(model, blobs, torch.optim.SGD(model.parameters(), lr=0.1), num_iter=10, progress=False)
    assert model.weight.device == blobs.x_train.device


def test_repr_is_short():
    assert repr(_synthetic()) == "RangeTestResult(60 steps, lr 1e-05 to 10; ran all its steps)"


# --------------------------------------------------------------------------- suggestions


def _synthetic(n: int = 60, edge: float = 0.3) -> lf.RangeTestResult:
    # falls like a tanh centred at lr = 1e-2 (steepest there), blows up past `edge`
    lrs = lf.lr_schedule_exp(1e-5, 10.0, n)
    loss = [2.0 - math.tanh(2 + math.log10(lr)) if lr < edge else 2.0 + 10 * (lr - edge) for lr in lrs]
    return lf.RangeTestResult(lrs, loss, loss)


def test_suggestions_on_a_known_curve():
    r = _synthetic()
    steep = r.suggest("steepest")
    assert 10 ** -2.2 < steep.lr < 10 ** -1.8 and "steepest" in steep.reason
    best_lr = r.lrs[r.best_index]
    assert r.suggest("min10").lr == pytest.approx(best_lr / 10)
    valley = r.suggest("valley")
    assert 1e-3 < valley.lr < best_lr and "valley" in valley.reason
    assert r.suggest() == valley  # valley is the default
    assert set(r.suggestions()) == {"valley", "steepest", "min10"}


def test_steepest_ignores_the_noise_of_the_first_steps():
    # a fresh network's first batches differ by chance: a drop between batch 0 and batch 1 is
    # the steepest slope of the whole curve, yet it says nothing about the learning rate
    r = _synthetic()
    losses = list(r.losses)
    losses[0] += 0.5  # slope ≈ -2.1 per unit of ln lr at step 0, against -1/ln 10 ≈ -0.43 at the tanh's centre
    noisy = lf.RangeTestResult(r.lrs, losses, losses)
    assert 10 ** -2.2 < noisy.suggest("steepest").lr < 10 ** -1.8


def test_valley_ignores_the_flat_start():
    r = _synthetic()
    a, b = lf._longest_descent(__import__("numpy").array(r.smoothed[: r.best_index + 1]), tol=0.01)
    assert r.lrs[a] > 1e-4  # the plateau at tiny LRs is not part of the descent
    assert b == r.best_index


def test_a_loss_that_never_decreases_is_refused():
    lrs = lf.lr_schedule_exp(1e-4, 1.0, 30)
    rising = [1.0 + 0.1 * i for i in range(30)]
    r = lf.RangeTestResult(lrs, rising, rising)
    for method in lf.METHODS:
        with pytest.raises(ValueError, match="No suggestion"):
            r.suggest(method)
    assert r.suggestions() == {}
    short = lf.RangeTestResult(lrs[:3], rising[:3], rising[:3], "stopped at step 2")
    with pytest.raises(ValueError, match="Only 3 steps"):
        short.suggest()
    with pytest.raises(ValueError, match="Unknown method"):
        _synthetic().suggest("fastest")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_real_flat_run_is_refused(blobs, seed):
    torch.manual_seed(seed)
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    r = _quiet_range_test(model, blobs, opt, start_lr=1e-9, end_lr=1e-8, num_iter=50, batch_size=32, seed=seed)
    with pytest.raises(ValueError, match="No suggestion"):
        r.suggest()


# --------------------------------------------------------------------------- refusal: fall against noise


def _noisy_curve(fall: float, noise: float, seed: int, n: int = 100, diverge_at: float | None = 0.5):
    """A curve that falls by ``fall`` (a tanh step centred at lr = 1e-2) under Gaussian batch noise
    ``noise``, then, past ``diverge_at``, blows up as a range test that stops would record."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lrs = lf.lr_schedule_exp(1e-5, 10.0, n)
    raw = []
    for lr in lrs:
        clean = 1.0 - fall * (1 + math.tanh(2 * (2 + math.log10(lr)))) / 2
        if diverge_at is not None and lr > diverge_at:
            clean += 20 * (lr - diverge_at)
        raw.append(clean + noise * rng.standard_normal())
    smoothed = lf.smooth_losses(raw)
    stop = lf.stop_index(smoothed)
    end = len(raw) if stop is None else stop + 1
    stopped = None if stop is None else f"stopped at step {stop}"
    return lf.RangeTestResult(lrs[:end], raw[:end], smoothed[:end], stopped)


@pytest.mark.parametrize("seed", range(10))
def test_the_noise_is_measured_where_the_curve_descends(seed):
    r = _noisy_curve(fall=0.5, noise=0.05, seed=seed)
    assert 0.035 < r.noise() < 0.065  # the tanh's slope and the blow-up are not counted as noise


@pytest.mark.parametrize("seed", range(10))
def test_a_fall_far_above_the_noise_is_answered(seed):
    r = _noisy_curve(fall=0.5, noise=0.05, seed=seed)  # falls by 10 batch noises
    for method in lf.METHODS:
        assert 1e-4 < r.suggest(method).lr < 0.5


@pytest.mark.parametrize("seed", range(10))
def test_a_fall_smaller_than_the_noise_is_refused(seed):
    r = _noisy_curve(fall=0.02, noise=0.1, seed=seed)  # falls by a fifth of one batch's noise
    with pytest.raises(ValueError, match="No suggestion") as err:
        r.suggest()
    assert "noise" in str(err.value)


def test_a_fall_below_the_old_threefold_noise_bar_is_answered():
    # a clear fall (2.5 batch noises) from a noisy start: the rule used to ask for three
    r = _noisy_curve(fall=0.25, noise=0.1, seed=0, n=300)
    assert r.suggest().lr > 1e-4


def test_the_refusal_names_a_knob_with_numbers_from_the_run():
    sparse = _noisy_curve(fall=0.0, noise=0.05, seed=3)  # 100 steps over 6 decades
    with pytest.raises(ValueError, match=r"16 steps per decade.*Give it more: num_iter=\d+"):
        sparse.suggest()
    stopped = _noisy_curve(fall=0.0, noise=0.05, seed=3, n=300)
    with pytest.raises(ValueError, match=r"Zoom in: start_lr=.*num_iter=|start lower, e.g. start_lr="):
        stopped.suggest()
    flat = _noisy_curve(fall=0.0, noise=0.05, seed=3, n=300, diverge_at=None)
    with pytest.raises(ValueError, match="never diverged up to lr=10: raise end_lr"):
        flat.suggest()


def _checkerboard():
    from lrcourse.data import Data

    g = torch.Generator().manual_seed(7)
    x = 2 * torch.rand(2048, 2, generator=g) - 1
    y = ((torch.sin(4 * x[:, 0]) * torch.sin(4 * x[:, 1])) > 0).float().unsqueeze(1)
    return Data("checker", x, y, x[:256], y[:256], 1)


def test_following_the_refusal_leads_to_advice():
    # Adam on a checkerboard: at 100 steps from 1e-7 to 10 the useful decade gets a dozen steps
    import re

    data, refused = _checkerboard(), 0
    bce = nn.functional.binary_cross_entropy_with_logits
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 64), nn.LayerNorm(64), nn.ReLU(), nn.Linear(64, 64), nn.LayerNorm(64),
                              nn.ReLU(), nn.Linear(64, 1))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        r = _quiet_range_test(model, data, opt, bce, num_iter=100, batch_size=64, seed=seed)
        try:
            r.suggest()
            continue
        except ValueError as err:
            refused += 1
            said = str(err)
        knobs = dict(re.findall(r"(start_lr|end_lr|num_iter)=([0-9.e+-]*[0-9])", said))
        kwargs = {k: int(v) if k == "num_iter" else float(v) for k, v in knobs.items()}
        assert kwargs, said
        again = _quiet_range_test(model, data, opt, bce, batch_size=64, seed=seed, **{"num_iter": 100, **kwargs})
        assert 1e-4 < again.suggest().lr < 0.1
    assert refused >= 1  # the case the advice is for did occur


def test_the_default_length_is_tied_to_the_span():
    assert lf.default_num_iter(1e-7, 10.0) == 320
    assert lf.default_num_iter(1e-4, 1e-2) == 100


def test_repeats_report_the_spread_of_the_advice(blobs):
    torch.manual_seed(0)
    model = mlp(2, 3, hidden=(16,))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    r = _quiet_range_test(model, blobs, opt, start_lr=1e-4, end_lr=10, num_iter=60, batch_size=32, seed=5, repeats=3)
    assert len(r.repeats) == 3 and r.repeats[0] is r
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    one = _quiet_range_test(model, blobs, opt, start_lr=1e-4, end_lr=10, num_iter=60, batch_size=32, seed=6)
    assert one.losses == r.repeats[1].losses  # repeat j is the test with seed + j
    spread = r.spread("valley")
    assert len(spread.lrs) == 3 and spread.refused == 0
    assert min(spread.lrs) <= spread.median <= max(spread.lrs)
    assert spread.decades == pytest.approx(math.log10(max(spread.lrs) / min(spread.lrs)))
    with pytest.raises(ValueError, match="repeats"):
        _quiet_range_test(model, blobs, opt, repeats=0)


def test_plot_marks_the_suggestions():
    fig = _synthetic().plot()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("valley") for lab in labels) and any(lab.startswith("min10") for lab in labels)


def test_range_test_takes_a_dataloader(blobs):
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(blobs.x_train, blobs.y_train), batch_size=32, shuffle=True)
    model = nn.Linear(2, 3)
    before = [p.detach().clone() for p in model.parameters()]
    r = lf.range_test(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), start_lr=1e-4, end_lr=10,
                      num_iter=3 * len(loader), progress=False)
    assert len(r.lrs) > 10 and all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_a_readers_rule_plugs_in(blobs):
    def slide(result, d):  # a rule of one's own: the rate where the smoothed loss is 90% of the way down
        target = d.smoothed[0] - 0.9 * (d.smoothed[0] - d.smoothed[d.best])
        k = int(next(i for i, v in enumerate(d.smoothed) if v <= target))
        return lf.Suggestion(float(d.lrs[k]), "90% of the fall")

    lrs = lf.lr_schedule_exp(1e-4, 1.0, 60)
    loss = [2.0 - math.tanh(3 + math.log10(lr)) for lr in lrs]
    r = lf.RangeTestResult(lrs, loss, loss)
    assert 1e-4 < r.suggest(slide).lr < 1.0
    lf.RULES["slide"] = slide
    try:
        assert r.suggest("slide") == r.suggest(slide)
    finally:
        del lf.RULES["slide"]
    with pytest.raises(ValueError, match="Unknown method"):
        r.suggest("slide")
