"""The training loop: schedules, param groups, clipping, NaN handling, History."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import lrcourse
from lrcourse.train import History, evaluate, fit, get_loss, mse_onehot


@pytest.fixture
def data() -> lrcourse.Data:
    return lrcourse.load("blobs", n_train=256, n_test=128, device="cpu")


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return lrcourse.models.mlp(2, 3, hidden=(16,))


def test_fit_learns_and_records(data: lrcourse.Data) -> None:
    model = _model()
    hist = fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=5, batch_size=32, progress=False)
    assert hist.steps == 5 * 8 == len(hist.lr) == len(hist.grad_norm)
    assert hist.epoch == [1, 2, 3, 4, 5] and len(hist.test_acc) == 5
    assert hist.final("test_acc") > 0.8 and hist.train_loss[-1] < hist.train_loss[0]
    assert hist.epochs_to(0.8) <= 5 and hist.epochs_to(1.01) is None and hist.best("test_loss") > 0


def test_schedule_sets_lr_every_step_and_keeps_group_ratios(data: lrcourse.Data) -> None:
    model = _model()
    body, head = list(model.children())[:-1], list(model.children())[-1]
    opt = torch.optim.SGD(
        [{"params": nn.Sequential(*body).parameters(), "lr": 0.01}, {"params": head.parameters(), "lr": 0.04}]
    )
    hist = fit(model, data, opt, epochs=1, batch_size=64, schedule=lambda t: 0.1 / (t + 1), progress=False)
    assert hist.lr == pytest.approx([0.1 / (t + 1) for t in range(4)])
    assert opt.param_groups[1]["lr"] == pytest.approx(4 * opt.param_groups[0]["lr"])


def test_fit_accepts_a_pytorch_scheduler(data: lrcourse.Data) -> None:
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    hist = fit(model, data, opt, epochs=1, batch_size=64, schedule=sched, progress=False)
    assert hist.lr == [1.0, 1.0, 0.5, 0.5]


def test_momentum_schedule_sets_sgd_momentum_and_adam_beta1(data: lrcourse.Data) -> None:
    model = _model()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fit(model, data, sgd, epochs=1, batch_size=64, momentum_schedule=lambda t: 0.8 + 0.01 * t, progress=False)
    assert sgd.param_groups[0]["momentum"] == pytest.approx(0.83)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    fit(model, data, adam, epochs=1, batch_size=64, momentum_schedule=lambda t: 0.85, progress=False)
    assert adam.param_groups[0]["betas"] == (0.85, 0.999)


def test_clipping_records_the_norm_before_clipping(data: lrcourse.Data) -> None:
    a, b = _model(), _model()
    ha = fit(a, data, torch.optim.SGD(a.parameters(), lr=0.1), epochs=1, batch_size=256, seed=1, progress=False)
    hb = fit(
        b, data, torch.optim.SGD(b.parameters(), lr=0.1), epochs=1, batch_size=256, seed=1,
        clip_grad_norm=1e-3, progress=False,
    )
    assert ha.grad_norm == pytest.approx(hb.grad_norm) and hb.grad_norm[0] > 1e-3
    moved = [(p0 - p1).norm() for p0, p1 in zip(_model().parameters(), b.parameters())]
    assert torch.stack(moved).norm() <= 0.1 * 1e-3 * 1.0001  # one step of at most lr * max_norm
    with pytest.raises(ValueError, match="clip_grad_norm"):
        fit(a, data, torch.optim.SGD(a.parameters(), lr=0.1), epochs=1, clip_grad_norm=0.0)


LEAN = dict(eval_train=False, eval_test=False, measure_norm=False)


@pytest.mark.parametrize("options", [{}, LEAN, dict(LEAN, undo=False)], ids=["default", "lean", "no-undo"])
def test_nan_loss_stops_cleanly_and_keeps_the_weights_before_the_bad_step(
    data: lrcourse.Data, capsys: pytest.CaptureFixture[str], options: dict
) -> None:
    """The divergence guarantee, with fit's defaults and with its records off; with ``undo=False``, the same
    stop and History, and the weights that gave the non-finite loss."""
    model = _model()
    before: list[list[torch.Tensor]] = []
    after: list[list[torch.Tensor]] = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):  # type: ignore[no-untyped-def]
            before.append([p.detach().clone() for p in model.parameters()])
            out = super().step(closure)
            after.append([p.detach().clone() for p in model.parameters()])
            return out

    hist = fit(model, data, Spy(model.parameters(), lr=1e4), epochs=3, batch_size=32, progress=False, **options)
    assert hist.diverged and "loss became" in hist.stopped and "smaller learning rate" in hist.stopped
    assert hist.stopped in capsys.readouterr().out
    assert len(hist.loss) == len(hist.lr) == len(before)
    assert all(math.isfinite(v) for v in hist.loss)  # only finite losses are recorded
    assert hist.grad_norm == [] if options else len(hist.grad_norm) == len(hist.loss)
    if options.get("undo", True):
        # the weights are those from before the last step taken, which is the one that broke the loss
        assert all(torch.equal(p, s) for p, s in zip(model.parameters(), before[-1]))
        assert all(torch.isfinite(p).all() for p in model.parameters())
    else:  # the last step taken stays: the weights that gave the non-finite loss
        assert "undo=False" in hist.stopped
        assert all(torch.allclose(p, s, rtol=0, atol=0, equal_nan=True) for p, s in zip(model.parameters(), after[-1]))
        assert not all(torch.equal(p, s) for p, s in zip(model.parameters(), before[-1]))


def test_bad_inputs(data: lrcourse.Data) -> None:
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, data, opt, epochs=0)
    with pytest.raises(ValueError, match="Unknown loss"):
        get_loss("hinge")


def test_mse_loss_and_evaluate() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([0, 0])
    p = logits.softmax(-1)
    expected = ((p - torch.tensor([[1.0, 0.0], [1.0, 0.0]])) ** 2).sum() / 2
    assert mse_onehot(logits, y).item() == pytest.approx(expected.item())
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    loss, acc = evaluate(model, logits, y)
    assert acc == 0.5 and loss == pytest.approx(nn.functional.cross_entropy(logits, y).item())


def test_history_plot_draws_three_panels(data: lrcourse.Data) -> None:
    model = _model()
    hist = fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, progress=False)
    assert len(hist.plot().axes) == 3
    assert math.isnan(History(1).final())


# --------------------------------------------------------------------------- any iterable of batches, one step


def test_fit_takes_a_dataloader_and_a_list_of_batches(data: lrcourse.Data) -> None:
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(data.x_train, data.y_train), batch_size=32, shuffle=True)
    model = _model()
    seen = []
    hist = fit(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, progress=False,
               on_epoch_end=[lambda e, m, h: seen.append(e), lambda e, m, h: seen.append(-e)])
    assert hist.steps == 3 * len(loader) and hist.steps_per_epoch == len(loader) and seen == [1, -1, 2, -2, 3, -3]
    assert math.isnan(hist.final("test_acc"))  # no test split: evaluate in a callback
    assert evaluate(model, data.x_test, data.y_test)[1] > 0.8
    batches = [(data.x_train[i : i + 64], data.y_train[i : i + 64]) for i in range(0, 256, 64)]
    model = _model()
    hist = fit(model, iter(batches), torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=False)
    assert hist.steps == 4 and hist.steps_per_epoch == 4


def test_fit_on_a_list_equals_fit_on_data_in_the_same_order(data: lrcourse.Data) -> None:
    order = torch.randperm(256, generator=torch.Generator().manual_seed(0))
    batches = [(data.x_train[order[i : i + 32]], data.y_train[order[i : i + 32]]) for i in range(0, 256, 32)]
    a, b = _model(), _model()
    ha = fit(a, data, torch.optim.SGD(a.parameters(), lr=0.1), epochs=1, batch_size=32, seed=0, progress=False)
    hb = fit(b, batches, torch.optim.SGD(b.parameters(), lr=0.1), epochs=1, seed=0, progress=False)
    assert ha.loss == hb.loss and all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(batch_size=0), "batch_size must be at least 1"),
        (dict(schedule=lambda t: -0.1), "lr=-0.1 at step 0"),
        (dict(schedule=lambda t: math.nan), "lr=nan at step 0"),
    ],
)
def test_bad_inputs_say_what_to_change(data: lrcourse.Data, kwargs: dict, message: str) -> None:
    model = _model()
    with pytest.raises(ValueError, match=message):
        fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=False, **kwargs)


@pytest.mark.parametrize("bad", [(torch.zeros(4, 2), torch.zeros(4)), "blobs", 3])
def test_anything_but_data_or_batches_is_one_sentence(bad: object) -> None:
    model = _model()
    with pytest.raises(ValueError, match="iterable of \\(x, y\\) batches"):
        fit(model, bad, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=False)  # type: ignore[arg-type]


def test_the_progress_bar_closes_when_a_callback_raises(data: lrcourse.Data, monkeypatch: pytest.MonkeyPatch) -> None:
    import lrcourse.train as train

    bars = []
    real = train.progress_bar
    monkeypatch.setattr(train, "progress_bar", lambda *a, **k: bars.append(real(*a, **k)) or bars[-1])

    def boom(epoch: int, model: nn.Module, hist: History) -> None:
        raise RuntimeError("boom")

    model = _model()
    with pytest.raises(RuntimeError, match="boom"):
        fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2, progress=True, on_epoch_end=boom)
    assert bars and bars[0].disable  # tqdm marks a closed bar disabled
    assert bars[0].n == 2


def test_train_step_is_the_step_fit_takes(data: lrcourse.Data) -> None:
    from lrcourse.train import train_step

    a, b = _model(), _model()
    oa, ob = torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9), torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9)
    hist = fit(a, data, oa, epochs=1, batch_size=64, seed=3, progress=False, clip_grad_norm=0.5)
    gen = torch.Generator().manual_seed(3)
    norms = []
    for idx in lrcourse.data.batches(256, 64, generator=gen):
        loss, norm = train_step(b, ob, (data.x_train[idx], data.y_train[idx]), clip_grad_norm=0.5)
        norms.append(norm.item())
    assert hist.grad_norm == norms and all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    # accumulation: two halves average to the whole batch's gradient
    c, d = _model(), _model()
    oc, od = torch.optim.SGD(c.parameters(), lr=0.1), torch.optim.SGD(d.parameters(), lr=0.1)
    x, y = data.x_train[:64], data.y_train[:64]
    whole, _ = train_step(c, oc, (x, y))
    halves, _ = train_step(d, od, [(x[:32], y[:32]), (x[32:], y[32:])])
    assert torch.allclose(whole, halves, atol=1e-6)
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(c.parameters(), d.parameters()))


# --------------------------------------------------------------------------- what fit records beyond training is optional


def test_each_evaluation_and_the_norm_can_be_left_out(data: lrcourse.Data) -> None:
    def run(**kwargs: bool) -> History:
        model = _model()
        return fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, batch_size=64, seed=0,
                   progress=False, **kwargs)

    full = run()
    no_test = run(eval_test=False)
    assert no_test.train_loss == full.train_loss and no_test.train_acc == full.train_acc
    assert all(math.isnan(v) for v in no_test.test_loss + no_test.test_acc) and len(no_test.test_acc) == 3
    lean = run(eval_train=False, eval_test=False, measure_norm=False)
    assert lean.epoch == [1, 2, 3] and lean.steps_per_epoch == 4 and lean.steps == 12
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):  # one NaN per epoch, as for a DataLoader
        values = getattr(lean, key)
        assert len(values) == 3 and all(math.isnan(v) for v in values), key
    assert math.isnan(lean.final()) and math.isnan(lean.best()) and lean.epochs_to(0.5) is None
    assert lean.grad_norm == [] and len(full.grad_norm) == 12
    assert lean.loss == full.loss and lean.lr == full.lr  # the records it keeps are the same


def test_lean_fit_trains_the_same_weights_as_default_fit(data: lrcourse.Data) -> None:
    """Evaluation, the norm and the undo copy draw no random numbers and touch no buffer: same weights, same RNG
    state after."""

    def run(seed: int | None, **kwargs: object) -> tuple[nn.Module, History, torch.Tensor]:
        torch.manual_seed(7)
        model = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        hist = fit(model, data, opt, epochs=3, batch_size=32, seed=seed, progress=False, **kwargs)
        return model, hist, torch.get_rng_state()

    for seed in (0, None):  # seed=None draws the order's seed from the global RNG
        ma, ha, ra = run(seed)
        for kwargs in (dict(eval_train=False, eval_test=False, measure_norm=False), dict(LEAN, undo=False),
                       dict(eval_test=False), dict(measure_norm=False, clip_grad_norm=0.5)):
            mb, hb, rb = run(seed, **kwargs)
            if "clip_grad_norm" in kwargs:
                ma, ha, ra = run(seed, clip_grad_norm=0.5)
            assert all(torch.equal(a, b) for a, b in zip(ma.state_dict().values(), mb.state_dict().values())), kwargs
            assert ha.loss == hb.loss and ha.lr == hb.lr and torch.equal(ra, rb), kwargs
            assert hb.grad_norm == ([] if kwargs.get("measure_norm") is False else ha.grad_norm), kwargs
