from __future__ import annotations

import pytest
import torch

import lrcourse
from lrcourse.profiles import ProfileError, choose, profile, seed_everything


def test_choose_layers_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRCOURSE_PROFILE", "cpu")
    cfg = choose(ci=dict(epochs=3, n=1), cpu=dict(epochs=10), gpu=dict(epochs=30), lr=0.1)
    assert (cfg.epochs, cfg.n, cfg.lr, cfg.profile) == (10, 1, 0.1, "cpu")
    monkeypatch.setenv("LRCOURSE_PROFILE", "gpu")
    assert choose(ci=dict(epochs=3), gpu=dict(epochs=30)).epochs == 30
    monkeypatch.setenv("LRCOURSE_PROFILE", "ci")
    assert choose(ci=dict(epochs=3), gpu=dict(epochs=30)).epochs == 3


def test_unknown_profile_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRCOURSE_PROFILE", "tpu")
    with pytest.raises(ProfileError) as err:
        profile()
    message = str(err.value)
    assert "\n" not in message and "ci, cpu, gpu" in message and "'tpu'" in message


def test_default_profile_follows_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LRCOURSE_PROFILE", raising=False)
    assert profile() == ("gpu" if torch.cuda.is_available() else "cpu")


def test_missing_config_key_says_what_exists() -> None:
    with pytest.raises(AttributeError, match="epochs"):
        lrcourse.profiles.Config(epochs=1).lr  # noqa: B018


def test_seed_everything_gives_bitwise_repeatable_training() -> None:
    data = lrcourse.load("spirals", n_train=256, n_test=64, device="cpu")

    def run() -> list[torch.Tensor]:
        seed_everything(3)
        model = lrcourse.models.mlp(2, 2, hidden=(16,))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        lrcourse.fit(model, data, opt, epochs=2, batch_size=32, seed=3, progress=False)
        return [p.detach().clone() for p in model.parameters()]

    first, second = run(), run()
    assert all(torch.equal(a, b) for a, b in zip(first, second))


def test_seed_offset_shifts_every_seed_key_and_refuses_a_non_integer(monkeypatch) -> None:
    monkeypatch.setenv("LRCOURSE_PROFILE", "ci")
    monkeypatch.setenv("LRCOURSE_SEED_OFFSET", "7")
    cfg = choose(seed=1, seeds=[0, 2], ci=dict(smith_seeds=[3]), lr_seedless=0.1)
    assert (cfg.seed, cfg.seeds, cfg.smith_seeds, cfg.lr_seedless) == (8, [7, 9], [10], 0.1)
    monkeypatch.setenv("LRCOURSE_SEED_OFFSET", "ten")
    with pytest.raises(ProfileError, match="not an integer"):
        choose(seed=0)


def test_smoke_layer_shrinks_the_gpu_settings_and_cannot_be_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    layers = dict(ci=dict(epochs=3), gpu=dict(epochs=30, dataset="cifar10"), smoke=dict(epochs=1))
    monkeypatch.setenv("LRCOURSE_PROFILE", "gpu")
    monkeypatch.delenv("LRCOURSE_SMOKE", raising=False)
    assert (choose(**layers).epochs, choose(**layers).dataset) == (30, "cifar10")
    monkeypatch.setenv("LRCOURSE_SMOKE", "1")
    assert (choose(**layers).epochs, choose(**layers).dataset) == (1, "cifar10")
    assert choose(ci=dict(epochs=3)).epochs == 3  # no gpu layer: nothing to shrink
    with pytest.raises(ProfileError, match="no smoke=dict") as err:
        choose(ci=dict(epochs=3), gpu=dict(epochs=30))
    assert "\n" not in str(err.value)
    monkeypatch.setenv("LRCOURSE_PROFILE", "ci")
    with pytest.raises(ProfileError, match="LRCOURSE_PROFILE=gpu"):
        choose(**layers)
    monkeypatch.setenv("LRCOURSE_SMOKE", "0")
    assert choose(**layers).epochs == 3


def test_colab_without_a_gpu_says_how_to_switch_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys
    import types

    from lrcourse.profiles import colab_note

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("LRCOURSE_PROFILE", raising=False)
    colab_note()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Change runtime type" in out and "cpu profile" in out
    assert profile() == "cpu"  # and the chapter goes on there
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    colab_note()
    assert capsys.readouterr().out == ""
