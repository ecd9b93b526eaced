"""Precision by capability, devices, and fit's NaN guarantee on its CUDA path (run on the CPU)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import lrcourse
from lrcourse import lr_finder, runtime, train
from lrcourse.runtime import place, precision


def _fake_gpu(monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int]) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    # what torch answers on a T4: True, because bfloat16 can be emulated there (slowly)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)


@pytest.mark.parametrize(
    ("capability", "name", "scaler"),
    [((7, 5), "fp16", True), ((7, 0), "fp16", True), ((8, 0), "bf16", False), ((9, 0), "bf16", False)],
    ids=["T4", "V100", "A100", "H100"],
)
def test_precision_follows_the_compute_capability(
    monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int], name: str, scaler: bool
) -> None:
    _fake_gpu(monkeypatch, capability)
    for amp in (None, True):
        p = precision("cuda", amp)
        assert (p.device_type, p.name, p.scaler) == ("cuda", name, scaler)
    assert precision("cuda", amp=False).name == "fp32" and not precision("cuda", amp=False).scaler
    assert precision("cpu").name == "fp32"  # a GPU in the machine does not change the CPU's precision


def test_precision_on_the_cpu_and_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert precision("cpu") == runtime.Precision("cpu", None, False)
    assert precision("cpu", amp=True).name == "fp32"
    assert precision("cpu", "bf16") == runtime.Precision("cpu", torch.bfloat16, False)
    assert precision("cuda", "fp16") == runtime.Precision("cuda", torch.float16, True)
    with pytest.raises(ValueError, match="amp must be"):
        precision("cpu", "fp8")
    assert not runtime.bf16_native()


def test_fit_evaluate_and_range_test_ask_the_same_function(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, object]] = []
    real = runtime.precision

    def spy(device: torch.device | str, amp: runtime.Amp = None) -> runtime.Precision:
        asked.append((torch.device(device).type, amp))
        return real(device, amp)

    monkeypatch.setattr(train, "precision", spy)
    monkeypatch.setattr(lr_finder, "precision", spy)
    data = lrcourse.load("blobs", n_train=256, n_test=64, device="cpu")
    model = lrcourse.models.mlp(2, 3, hidden=(8,), device="cpu")
    train.fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, amp=False, progress=False)
    assert set(asked) == {("cpu", False)} and len(asked) == 3  # fit, then evaluate on train and test
    asked.clear()
    lr_finder.range_test(model, data, torch.optim.SGD(model.parameters(), lr=0.1), num_iter=10,
                         batch_size=16, progress=False, amp="fp32")
    assert asked == [("cpu", "fp32")]


def test_cudnn_autotuner_only_for_cuda_images(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    runtime.tune_for("cpu", images=True)
    runtime.tune_for("cuda", images=False)
    assert torch.backends.cudnn.benchmark is False
    runtime.tune_for("cuda", images=True)
    assert torch.backends.cudnn.benchmark is True


@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_fit_runs_the_mixed_precision_paths_on_the_cpu(amp: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The float16 + GradScaler path (a T4's) and the bfloat16 path (an A100's), forced on the CPU."""
    steps: list[int] = []
    real_step = torch.amp.GradScaler.step

    def counting_step(self, optimizer, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        steps.append(1)
        return real_step(self, optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.amp.GradScaler, "step", counting_step)
    torch.manual_seed(0)
    data = lrcourse.load("blobs", n_train=512, n_test=128, device="cpu")
    model = lrcourse.models.mlp(2, 3, hidden=(32,), device="cpu")
    hist = train.fit(model, data, torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9), epochs=3,
                     batch_size=64, amp=amp, progress=False)
    assert hist.stopped is None and hist.final("test_acc") > 0.8
    assert len(steps) == (hist.steps if amp == "fp16" else 0)
    loss, acc = train.evaluate(model, data.x_test, data.y_test, amp=amp)
    assert math.isfinite(loss) and acc > 0.8


def test_models_land_on_the_profile_device(monkeypatch: pytest.MonkeyPatch) -> None:
    where: list[object] = []
    monkeypatch.setattr(lrcourse.models, "default_device", lambda: where.append(1) or torch.device("cpu"))
    for build in (lambda: lrcourse.models.mlp(4, 2), lambda: lrcourse.models.cnn1d(),
                  lambda: lrcourse.models.resnet(width=4)):
        assert next(build().parameters()).device.type == "cpu"
    assert len(where) == 3
    data = lrcourse.load("blobs", n_train=8, n_test=8, device="cpu")
    assert next(lrcourse.models.for_data(data).parameters()).device == data.x_train.device
    assert len(where) == 3  # for_data takes the data's device, not the profile's


def test_fit_and_range_test_move_the_model_to_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chapter 9's mistake, a model on one device and data on another, cannot crash: the model follows the data."""
    moved: list[str] = []
    real = runtime.place

    def spy(model: nn.Module, device: torch.device | str, optimizer: torch.optim.Optimizer | None = None):  # noqa: ANN202
        moved.append(torch.device(device).type)
        return real(model, device, optimizer)

    monkeypatch.setattr(train, "place", spy)
    monkeypatch.setattr(lr_finder, "place", spy)
    data = lrcourse.load("blobs", n_train=256, n_test=64, device="cpu")
    model = nn.Linear(2, 3).to(torch.float64).to(torch.float32)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    lr_finder.range_test(model, data, opt, num_iter=10, batch_size=16, progress=False)
    train.fit(model, data, opt, epochs=1, progress=False)
    assert moved[0] == "cpu" and moved[1] == "cpu"  # range_test, then fit (evaluate places too)


def test_place_moves_the_optimizer_state_but_not_adams_step() -> None:
    model = nn.Linear(2, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    weight = model.weight
    place(model, "meta", opt)
    state = opt.state[weight]
    assert model.weight.device.type == "meta" and state["exp_avg"].device.type == "meta"
    assert state["step"].device.type == "cpu"


# --------------------------------------------------------------------------- fit's NaN guarantee


def _diverging_run(defer: bool, monkeypatch: pytest.MonkeyPatch, check_every: int = 7, undo: bool = True):  # noqa: ANN202
    monkeypatch.setattr(train, "_defer_checks", lambda dev: defer)
    data = lrcourse.load("blobs", n_train=256, n_test=64, device="cpu")
    torch.manual_seed(0)
    model = lrcourse.models.mlp(2, 3, hidden=(16,), device="cpu")
    opt = torch.optim.SGD(model.parameters(), lr=30.0, momentum=0.9)
    hist = train.fit(model, data, opt, epochs=5, batch_size=32, seed=0, progress=False,
                     check_every=check_every, schedule=lambda t: 30.0 * 1.5**t, undo=undo)
    return hist, [p.detach().clone() for p in model.parameters()]


def test_nan_guarantee_is_the_same_on_the_deferred_cuda_path(monkeypatch: pytest.MonkeyPatch) -> None:
    now, now_params = _diverging_run(False, monkeypatch)
    later, later_params = _diverging_run(True, monkeypatch)
    assert now.diverged and later.diverged and now.stopped == later.stopped
    j = now.steps  # the first step whose loss was not finite
    assert 1 < j and (now.loss, now.lr, now.grad_norm) == (later.loss, later.lr, later.grad_norm)
    assert all(math.isfinite(v) for v in later.loss) and f"step {j} " in later.stopped
    assert all(torch.equal(a, b) for a, b in zip(now_params, later_params))
    # the exact state: that of a run stopped after j - 1 steps, i.e. before the update of step j - 1
    monkeypatch.setattr(train, "_defer_checks", lambda dev: False)
    data = lrcourse.load("blobs", n_train=256, n_test=64, device="cpu")
    torch.manual_seed(0)
    model = lrcourse.models.mlp(2, 3, hidden=(16,), device="cpu")
    opt = torch.optim.SGD(model.parameters(), lr=30.0, momentum=0.9)
    train.fit(model, data, opt, epochs=5, batch_size=32, seed=0, progress=False, max_steps=j - 1,
              schedule=lambda t: 30.0 * 1.5**t)
    assert all(torch.equal(a, b.detach()) for a, b in zip(later_params, model.parameters()))


@pytest.mark.parametrize("defer", [False, True], ids=["cpu-path", "cuda-path"])
def test_without_undo_the_stop_and_the_records_are_the_same_and_the_weights_are_kept(
    defer: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, kept_params = _diverging_run(defer, monkeypatch)
    left, left_params = _diverging_run(defer, monkeypatch, undo=False)
    assert left.diverged and (left.loss, left.lr, left.grad_norm) == (kept.loss, kept.lr, kept.grad_norm)
    assert left.stopped.split(";")[0] == kept.stopped.split(";")[0] and "undo=False" in left.stopped
    assert not all(torch.equal(a, b) for a, b in zip(kept_params, left_params))
    if not defer:  # read every step: exactly the weights after j updates, those that gave the NaN loss
        monkeypatch.setattr(train, "_defer_checks", lambda dev: False)
        data = lrcourse.load("blobs", n_train=256, n_test=64, device="cpu")
        torch.manual_seed(0)
        model = lrcourse.models.mlp(2, 3, hidden=(16,), device="cpu")
        opt = torch.optim.SGD(model.parameters(), lr=30.0, momentum=0.9)
        train.fit(model, data, opt, epochs=5, batch_size=32, seed=0, progress=False, max_steps=left.steps,
                  schedule=lambda t: 30.0 * 1.5**t)
        assert all(torch.equal(a, b.detach()) for a, b in zip(left_params, model.parameters()))


def test_deferred_records_equal_the_per_step_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    for defer in (False, True):
        monkeypatch.setattr(train, "_defer_checks", lambda dev, d=defer: d)
        data = lrcourse.load("blobs", n_train=256, n_test=64, device="cpu")
        torch.manual_seed(0)
        model = lrcourse.models.mlp(2, 3, hidden=(16,), device="cpu")
        runs.append(train.fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
                              batch_size=32, seed=1, check_every=3, progress=False))
    a, b = runs
    assert (a.loss, a.grad_norm, a.lr, a.test_acc) == (b.loss, b.grad_norm, b.lr, b.test_acc) and a.steps == 16


def test_check_every_must_be_positive() -> None:
    data = lrcourse.load("blobs", n_train=16, n_test=16, device="cpu")
    model = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="check_every"):
        train.fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, check_every=0)


def test_a_library_model_follows_its_input_to_another_device() -> None:
    model = lrcourse.models.mlp(4, 2, hidden=(8,), device="cpu")
    out = model(torch.zeros(3, 4, device="meta"))  # "meta" stands in for a second device on a CPU machine
    assert out.device.type == "meta" and next(model.parameters()).device.type == "meta"
    plain = nn.Sequential(nn.Linear(4, 2))
    with pytest.raises(RuntimeError):
        plain(torch.zeros(3, 4, device="meta"))  # the mistake the hook prevents
