"""Fingerprints of ``fit`` and ``range_test`` on small fixed configs, for tests/test_golden.py.

Every float is written as ``float.hex`` and every tensor as a SHA-256 of its bytes, so the
comparison is bit for bit. Regenerate the fixture only on purpose, when a change is *meant*
to move the numbers: ``python -m tests.golden > tests/golden.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import warnings

import torch
from torch import nn

import lrcourse
from lrcourse import schedules
from lrcourse.data import Data


def _f(v: float) -> str:
    return float(v).hex()


def _hash(tensors) -> str:  # noqa: ANN001
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:24]


def _state(model: nn.Module) -> str:
    return _hash(model.state_dict().values())


def _rng() -> str:
    return _hash([torch.get_rng_state()])


def _mlp(seed: int, d_in: int = 2, k: int = 3, bn: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(d_in, 16)]
    if bn:
        layers.append(nn.BatchNorm1d(16))
    layers += [nn.ReLU(), nn.Linear(16, k)]
    return nn.Sequential(*layers)


def _images() -> Data:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(96, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (96,), generator=g)
    return Data("img", x[:64], y[:64], x[64:], y[64:], 3)


def _cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 3))


def _hist(h: lrcourse.History, model: nn.Module, extra: list | None = None) -> dict:
    keys = ("lr", "loss", "grad_norm", "train_loss", "train_acc", "test_loss", "test_acc")
    out = {k: [_f(v) for v in getattr(h, k)] for k in keys}
    out.update(epoch=h.epoch, stopped=h.stopped, steps_per_epoch=h.steps_per_epoch, state=_state(model), rng=_rng())
    if extra is not None:
        out["callback"] = extra
    return out


def fit_cases() -> dict[str, dict]:
    blobs = lrcourse.load("blobs", n_train=192, n_test=64, device="cpu")
    cases: dict[str, dict] = {}
    for seed in (0, 1):
        m = _mlp(seed)
        h = lrcourse.fit(m, blobs, torch.optim.SGD(m.parameters(), lr=0.1), 2, batch_size=32, seed=seed,
                         progress=False, amp=False)
        cases[f"constant_s{seed}"] = _hist(h, m)

        m = _mlp(seed, bn=True)
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        h = lrcourse.fit(m, blobs, opt, 3, batch_size=48, seed=seed, progress=False, amp=False,
                         schedule=schedules.one_cycle(0.5, 12), momentum_schedule=schedules.one_cycle_momentum(12))
        cases[f"onecycle_momentum_s{seed}"] = _hist(h, m)

        m = _mlp(seed)
        opt = torch.optim.Adam(m.parameters(), lr=0.01)
        seen: list = []
        h = lrcourse.fit(m, blobs, opt, 3, batch_size=40, seed=seed, progress=False, amp=False,
                         schedule=schedules.cosine(0.05, 15), clip_grad_norm=0.5, loss="mse",
                         momentum_schedule=lambda t: 0.9 - 0.01 * t,
                         on_epoch_end=lambda e, mod, hh, seen=seen: seen.append([e, hh.steps, _state(mod)]))
        cases[f"adam_clip_mse_callback_s{seed}"] = _hist(h, m, seen)

        m = _mlp(seed)
        body, head = m[0], m[2]
        opt = torch.optim.SGD([{"params": body.parameters(), "lr": 0.02}, {"params": head.parameters(), "lr": 0.08}],
                              momentum=0.5)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        h = lrcourse.fit(m, blobs, opt, 2, batch_size=32, seed=seed, progress=False, amp=False, schedule=sched,
                         max_steps=9, eval_train=False)
        cases[f"groups_lrscheduler_maxsteps_s{seed}"] = _hist(h, m)

        m = _mlp(seed)
        opt = torch.optim.SGD([{"params": m[0].parameters(), "lr": 0.1}, {"params": m[2].parameters(), "lr": 0.3}])
        h = lrcourse.fit(m, blobs, opt, 2, batch_size=32, seed=seed, progress=False, amp=False,
                         schedule=lambda t: 0.1 * (t + 1))
        cases[f"groups_function_s{seed}"] = _hist(h, m)

        m = _mlp(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = lrcourse.fit(m, blobs, torch.optim.SGD(m.parameters(), lr=1e3), 3, batch_size=32, seed=seed,
                             progress=False, amp=False, schedule=lambda t: 10.0 ** t)
        cases[f"diverge_s{seed}"] = _hist(h, m)

        m = _cnn(seed)
        h = lrcourse.fit(m, _images(), torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), 2, batch_size=16,
                         seed=seed, progress=False, amp=False, augment=True)
        cases[f"images_augment_s{seed}"] = _hist(h, m)

    torch.manual_seed(123)  # seed=None draws the batch-order seed from the global generator
    m = _mlp(3)
    torch.manual_seed(7)
    h = lrcourse.fit(m, blobs, torch.optim.SGD(m.parameters(), lr=0.1), 1, batch_size=64, progress=False, amp=False)
    cases["seed_none"] = _hist(h, m)
    return cases


def _result(r: lrcourse.RangeTestResult, model: nn.Module) -> dict:
    sugg = {}
    for method in lrcourse.lr_finder.METHODS:
        try:
            s = r.suggest(method)
            sugg[method] = [_f(s.lr), s.reason]
        except ValueError as e:
            sugg[method] = str(e)
    out = dict(lrs=[_f(v) for v in r.lrs], losses=[_f(v) for v in r.losses], smoothed=[_f(v) for v in r.smoothed],
               stopped=r.stopped, num_iter=r.num_iter, cycles=_f(r.cycles), notes=r.notes,
               suggest=sugg, state=_state(model), rng=_rng())
    if r.repeats:
        out["repeats"] = [[_f(v) for v in run.losses] for run in r.repeats]
    return out


def range_cases() -> dict[str, dict]:
    data = lrcourse.load("blobs", n_train=1024, n_test=128, device="cpu")
    cases: dict[str, dict] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (0, 1):
            m = _mlp(seed)
            r = lrcourse.range_test(m, data, torch.optim.SGD(m.parameters(), lr=0.1), start_lr=1e-4, end_lr=10,
                                    num_iter=60, batch_size=32, seed=seed, progress=False, amp=False)
            cases[f"exp_s{seed}"] = _result(r, m)

            m = _mlp(seed, bn=True)
            opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
            r = lrcourse.range_test(m, data, opt, "mse", start_lr=1e-3, end_lr=3, num_iter=40, step_mode="linear",
                                    accumulation_steps=2, batch_size=64, seed=seed, progress=False, amp=False,
                                    beta=0.9, diverge=3.0)
            cases[f"linear_accum_mse_s{seed}"] = _result(r, m)

            m = _mlp(seed)
            opt = torch.optim.Adam([{"params": m[0].parameters(), "lr": 0.01},
                                    {"params": m[2].parameters(), "lr": 0.03}])
            r = lrcourse.range_test(m, data, opt, start_lr=1e-5, end_lr=1.0, num_iter=50, batch_size=128,
                                    seed=seed, progress=False, amp=False, val_data=data)
            cases[f"adam_groups_val_s{seed}"] = _result(r, m)

            m = _mlp(seed)
            r = lrcourse.range_test(m, data, torch.optim.SGD(m.parameters(), lr=0.1), start_lr=1e-4, end_lr=10,
                                    num_iter=30, batch_size=16, seed=seed, progress=False, amp=False, repeats=3)
            cases[f"repeats_s{seed}"] = _result(r, m)

            m = _mlp(seed)
            opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
            r = lrcourse.range_test(m, data, opt, start_lr=1e-2, end_lr=1e5, num_iter=40, batch_size=32,
                                    seed=seed, progress=False, amp=False)
            cases[f"diverge_s{seed}"] = _result(r, m)

        torch.manual_seed(11)
        m = _mlp(4)
        torch.manual_seed(12)
        r = lrcourse.range_test(m, data.subset(200), torch.optim.SGD(m.parameters(), lr=0.1), start_lr=1e-4,
                                end_lr=10, num_iter=50, batch_size=32, progress=False, amp=False)
        cases["seed_none_cycles"] = _result(r, m)
    return cases


def machine() -> dict:
    """What decides the rounding: the torch build and the CPU kernels it dispatches to."""
    return {"torch": torch.__version__, "cpu": torch.backends.cpu.get_cpu_capability()}


def snapshot() -> dict:
    return {"fit": fit_cases(), "range_test": range_cases(), "machine": machine()}


if __name__ == "__main__":
    with contextlib.redirect_stdout(io.StringIO()):  # fit prints a line when it stops on a NaN
        snap = snapshot()
    print(json.dumps(snap, indent=0, sort_keys=True))

