"""Every checker of lrcourse.check.optimizers passes a right answer and fails wrong ones."""

from __future__ import annotations

import math

import pytest
import torch

from lrcourse.check import CheckFailed
from lrcourse.check import optimizers as chk


def _exit_by_search(eigenvalues, lr, offset, radius):
    """Right, in float64: log of the squared distance, sum of geometric terms; double t, then bisect."""
    terms = [(2 * math.log(abs(o)), 2 * math.log(abs(1 - lr * lam)))
             for lam, o in zip(eigenvalues, offset) if o != 0 and 1 - lr * lam != 0]
    if all(b <= 0 for _, b in terms):
        return math.inf

    def outside(t):
        top = max(a + t * b for a, b in terms)
        return top + math.log(sum(math.exp(a + t * b - top) for a, b in terms)) > 2 * math.log(radius)

    lo, hi = 0, 1
    while not outside(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if outside(mid) else (mid, hi)
    return hi


def _exit_by_running(eigenvalues, lr, offset, radius, cap):
    d = list(offset)
    for t in range(1, cap + 1):
        d = [x - lr * lam * x for lam, x in zip(eigenvalues, d)]  # a gradient step on ½ Σ λ x²
        if math.hypot(*d) > radius:
            return t
    return math.inf


def _exit_cases():
    from tests.references.make_expected import public_cases, references

    ref = references("optimizers")
    return ref.REFERENCES["gd_exit_step"], public_cases("optimizers")["gd_exit_step"] + ref.HIDDEN["gd_exit_step"]


def test_gd_exit_step(capsys):
    chk.gd_exit_step(_exit_by_search)
    assert "✅" in capsys.readouterr().out
    reference, cases = _exit_cases()
    for case in cases:  # the hidden cases too
        assert _exit_by_search(*case) == reference(*case), case


def test_gd_exit_step_cases_are_runs_of_gradient_descent():
    """Where a run is short enough, the expected step is where a run of gradient descent leaves the ball
    (and an answer math.inf is a run that stays inside for 20 000 steps)."""
    reference, cases = _exit_cases()
    for case in cases:
        want = reference(*case)
        if want == math.inf or want <= 20_000:
            assert _exit_by_running(*case, cap=20_000) == want, case
    assert sum(reference(*c) > 10**9 for c in cases) >= 2  # cases no loop finishes


def _dominant_only(eigenvalues, lr, offset, radius):  # the fastest-growing direction alone, as if the others were 0
    grow = [(abs(1 - lr * lam), abs(o)) for lam, o in zip(eigenvalues, offset) if o != 0 and abs(1 - lr * lam) > 1]
    if not grow:
        return math.inf
    q, o = max(grow)
    return math.floor(math.log(radius / o) / math.log(q)) + 1


def _negative_curvature_only(eigenvalues, lr, offset, radius):  # "a minimum holds gradient descent": no oscillation
    kept = [(lam, o) for lam, o in zip(eigenvalues, offset) if lam < 0]
    return _exit_by_search([lam for lam, _ in kept], lr, [o for _, o in kept], radius) if kept else math.inf


@pytest.mark.parametrize(
    "wrong",
    [
        _dominant_only,
        _negative_curvature_only,
        lambda e, lr, o, r: _exit_by_running(e, lr, o, r, cap=100_000),  # a loop that gives up
        lambda e, lr, o, r: _exit_by_search(e, lr, o, r) - 1,  # the last step inside
    ],
)
def test_gd_exit_step_wrong(wrong):
    with pytest.raises(CheckFailed, match="gd_exit_step"):
        chk.gd_exit_step(wrong)


def test_gd_exit_step_no_answer():
    with pytest.raises(CheckFailed, match="no answer"):
        chk.gd_exit_step(None)


def test_look_around(capsys):
    def right(loss, point, radius, n):
        angles = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
        ring = point + radius * torch.stack([angles.cos(), angles.sin()], -1)
        change = loss(ring) - loss(point)  # vectorized over the circle: fine for these losses
        return "minimum" if (change >= 0).all() else "maximum" if (change <= 0).all() else "saddle"

    chk.look_around(right)
    assert "✅" in capsys.readouterr().out

    def hessian_only(loss, point, radius, n):  # the second-order test alone cannot decide these
        return "degenerate"

    with pytest.raises(CheckFailed, match="look_around"):
        chk.look_around(hessian_only)

    def one_axis(loss, point, radius, n):  # looks along the axes only: misses the ways down between them
        steps = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
        change = torch.stack([loss(point + radius * d) for d in steps]) - loss(point)
        return "minimum" if (change >= 0).all() else "maximum" if (change <= 0).all() else "saddle"

    with pytest.raises(CheckFailed, match="hidden_saddle"):
        chk.look_around(one_axis)

    def strict(loss, point, radius, n):  # uses > instead of >=: a flat ring is not "higher"
        angles = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
        ring = point + radius * torch.stack([angles.cos(), angles.sin()], -1)
        change = loss(ring) - loss(point)
        return "minimum" if (change > 0).all() else "maximum" if (change < 0).all() else "saddle"

    with pytest.raises(CheckFailed, match="half_pipe"):
        chk.look_around(strict)
    with pytest.raises(CheckFailed, match="no answer"):
        chk.look_around(None)


def test_taylor_second_order():
    chk.taylor_second_order(lambda f, g, h, d: f + g @ d + 0.5 * d @ h @ d)
    with pytest.raises(CheckFailed, match="Taylor"):
        chk.taylor_second_order(lambda f, g, h, d: f + g @ d + d @ h @ d)


def _flip_exact(a, b, k, beta):
    """Where m's sign flips, from the unrolled average (the book's kind of solution); float: the step, unrounded."""
    if beta == 0.0:
        return 0.5  # no memory: the first step after the switch
    return math.log(b / (a * (1 - beta**k) + b)) / math.log(beta)


def _powersign_run(a, b, k, beta):
    """The first step after the switch at e times SGD's step, by running lrcourse.optim.PowerSign."""
    from lrcourse.optim import PowerSign

    w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = PowerSign([w], lr=1.0, beta=beta)
    for _ in range(k):
        w.grad = torch.full_like(w, a)
        opt.step()
    for n in range(1, 100_000):
        before = w.item()
        w.grad = torch.full_like(w, -b)
        opt.step()
        if math.isclose(w.item() - before, math.e * b, rel_tol=1e-6):
            return n
    return math.inf


def test_powersign_flip_step(capsys):
    chk.powersign_flip_step(lambda a, b, k, beta: math.floor(_flip_exact(a, b, k, beta)) + 1)
    assert "✅" in capsys.readouterr().out
    chk.powersign_flip_step(_powersign_run)  # running the library's optimizer is right too
    wrong = {
        "m had reached a before the switch": lambda a, b, k, beta: (
            1 if beta == 0 else math.floor(math.log(b / (a + b)) / math.log(beta)) + 1),
        "the 1 - beta approximation of log(beta)": lambda a, b, k, beta: (
            1 if beta == 0 else math.floor(math.log((a * (1 - beta**k) + b) / b) / (1 - beta)) + 1),
        "signs compared before m is updated": lambda a, b, k, beta: math.floor(_flip_exact(a, b, k, beta)) + 2,
        "counts the shrunk steps": lambda a, b, k, beta: math.floor(_flip_exact(a, b, k, beta)),
    }
    for name, fn in wrong.items():
        with pytest.raises(CheckFailed, match="powersign_flip_step"):
            chk.powersign_flip_step(fn)
        assert name
    with pytest.raises(CheckFailed, match="no answer"):
        chk.powersign_flip_step(None)


def test_powersign_flip_cases_are_runs_of_powersign_and_no_ties():
    """The reference is what lrcourse.optim.PowerSign does, and no case sits on a tie (m exactly 0),
    where rounding would decide between a closed form and a run."""
    from tests.references.make_expected import public_cases, references

    ref = references("optimizers")
    cases = public_cases("optimizers")["powersign_flip_step"] + ref.HIDDEN["powersign_flip_step"]
    for case in cases:
        expected = ref.REFERENCES["powersign_flip_step"](*case)
        if case[2] <= 10_000:
            assert _powersign_run(*case) == expected, case
        x = _flip_exact(*case)
        assert min(x - math.floor(x), math.ceil(x) - x) > 1e-6 or x == 0, case
        assert math.floor(x) + 1 == expected, case


def test_uncorrected_adam_ratio():
    chk.uncorrected_adam_ratio(lambda t, b1, b2: (1 - b1**t) / math.sqrt(1 - b2**t))
    with pytest.raises(CheckFailed, match="uncorrected_adam_ratio"):  # the first step only, for every t
        chk.uncorrected_adam_ratio(lambda t, b1, b2: (1 - b1) / math.sqrt(1 - b2))
    with pytest.raises(CheckFailed, match="uncorrected_adam_ratio"):  # upside down: "too small"
        chk.uncorrected_adam_ratio(lambda t, b1, b2: math.sqrt(1 - b2**t) / (1 - b1**t))


def _right_half_life(lrs, wd):
    size = 1.0
    for t, lr in enumerate(lrs, start=1):
        size *= 1 - lr * wd
        if size <= 0.5:
            return t
    return math.inf


def test_decay_half_life(capsys):
    chk.decay_half_life(_right_half_life)
    assert "✅" in capsys.readouterr().out
    wrong = {
        "the paper's form, no learning rate": lambda lrs, wd: _right_half_life([1.0] * len(lrs), wd),
        "the closed form at the first rate": lambda lrs, wd: (
            math.inf if lrs[0] * wd == 0 else math.ceil(math.log(2) / -math.log(1 - lrs[0] * wd))),
        "counts from 0": lambda lrs, wd: _right_half_life(lrs, wd) - 1,
        "never says never": lambda lrs, wd: _right_half_life(lrs + [lrs[-1]] * 100_000, wd),
    }
    for name, fn in wrong.items():
        with pytest.raises(CheckFailed, match="decay_half_life"):
            chk.decay_half_life(fn)
        assert name
    with pytest.raises(CheckFailed, match="no answer"):
        chk.decay_half_life(None)


def test_decay_half_life_reference_is_torch_adamw():
    """The reference counts what torch.optim.AdamW does to a weight that gets a zero gradient."""
    from tests.references.optimizers import _half_life

    for lrs, wd in [([0.01] * 400, 0.3), ([0.01 * (1 - t / 600) for t in range(600)], 0.3), ([0.05] * 30, 0.2)]:
        w = torch.nn.Parameter(torch.full((3,), -2.0, dtype=torch.float64))
        opt = torch.optim.AdamW([w], lr=lrs[0], weight_decay=wd)
        ran = math.inf
        for t, lr in enumerate(lrs, start=1):
            opt.param_groups[0]["lr"] = lr
            w.grad = torch.zeros_like(w)
            opt.step()
            if bool((w.detach().abs() <= 1.0).all()):
                ran = t
                break
        assert ran == _half_life(lrs, wd), (ran, _half_life(lrs, wd))


def test_adadelta_first_step():
    chk.adadelta_first_step(lambda g, rho, eps: -(eps**0.5) * g / ((1 - rho) * g**2 + eps).sqrt())
    with pytest.raises(CheckFailed, match="adadelta_first_step"):  # the sign-only approximation
        chk.adadelta_first_step(lambda g, rho, eps: -((eps / (1 - rho)) ** 0.5) * g.sign())
    with pytest.raises(CheckFailed, match="adadelta_first_step"):  # forgot the minus
        chk.adadelta_first_step(lambda g, rho, eps: (eps**0.5) * g / ((1 - rho) * g**2 + eps).sqrt())
    with pytest.raises(CheckFailed, match="adadelta_first_step"):  # eps under the gradient too: RMSProp with lr 1
        chk.adadelta_first_step(lambda g, rho, eps: -g / ((1 - rho) * g**2 + eps).sqrt())


def test_the_references_agree_with_runs() -> None:
    """The closed forms in tests/references agree with the update itself and with torch.optim.Adadelta."""
    from tests.references.optimizers import _adadelta_first, _uncorrected_ratio

    for t, b1, b2 in [(1, 0.9, 0.999), (10, 0.9, 0.999), (1000, 0.9, 0.999), (3, 0.9, 0.9), (50, 0.5, 0.99)]:
        m = v = 0.0
        for _ in range(t):
            m, v = b1 * m + (1 - b1) * 0.7, b2 * v + (1 - b2) * 0.49
        assert abs(m / v**0.5 - _uncorrected_ratio(t, b1, b2)) < 1e-9
    for g, rho, eps in [(torch.tensor([1.0, -2.0, 50.0], dtype=torch.float64), 0.9, 1e-6),
                        (torch.tensor([0.5, -0.5], dtype=torch.float64), 0.95, 1e-4)]:
        w = torch.nn.Parameter(torch.zeros_like(g))
        opt = torch.optim.Adadelta([w], lr=1.0, rho=rho, eps=eps)
        w.grad = g.clone()
        opt.step()
        assert torch.allclose(w.detach(), _adadelta_first(g, rho, eps), rtol=1e-9, atol=1e-15)
