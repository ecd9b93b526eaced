"""A fast CIFAR-10 recipe in the style of the public speedruns, written to be read.

This module follows the ingredients of airbench94 (Jordan 2024), itself the heir of
Page's "How to train your ResNet" (2018), and rewrites them in a few small functions:

* the network (:func:`net`): a frozen 2×2 *whitening* convolution computed from the
  training images (:func:`whiten_`), then three conv–pool–BatchNorm–GELU groups of
  widths 64/256/256, max-pooled to a 256-vector, a bias-free linear head, and logits
  scaled by 1/9. Convolutions start as identities (Dirac init), BatchNorm has no scale
  (only a shift) and a fast running average;
* the data (:func:`translate`, :func:`flip`): random translations by up to 2 pixels
  (reflect padding) and *alternating* flips (half the images flipped in epoch 1, then
  every image flips between epochs), on whole batches on the device;
* the optimizer (:func:`param_groups`): Nesterov SGD with momentum 0.85, a learning rate
  and a weight decay written per 1024 examples and *decoupled* (changing the momentum or
  the rate does not change the decay), BatchNorm shifts at a 64× larger rate, decayed
  like everything else;
* the schedule (:func:`triangle`): linear from 0.2 up to 1 at 23% of the steps, then down
  to 0.07, about ten epochs of batch 1024, with label smoothing 0.2 and a lookahead
  average of the weights every 5 steps (:class:`Lookahead`), which weighs the past more and more towards the end;
* the evaluation (:func:`tta_logits`): test-time augmentation, the logits averaged over
  the mirror image and two one-pixel shifts.

:func:`train` runs it all with no host synchronization inside the training loop (losses
stay on the device until the end of an epoch), ``cudnn.benchmark`` on, channels-last
memory and float16 autocast on every CUDA GPU, as the record (see :func:`train` for why
no ``GradScaler``). On a CPU the same code runs in float32, at any size: the tests train
it on a few format-true CIFAR-10 files.

Every default of :func:`train` is airbench94's published setting (``legacy/airbench94.py``,
94.01% mean over 1000 runs); ``tests/test_speedrun.py`` lists them side by side.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .data import Data
from .runtime import channels_last, precision, tune_for

WIDTHS = (64, 256, 256)

# --------------------------------------------------------------------------- the network


class ShiftBatchNorm(nn.BatchNorm2d):
    """BatchNorm with no scale (γ fixed at 1), a learned shift, and a fast running average.

    Used in: no chapter.

    ``momentum`` is the weight of the *old* running statistics (0.6 in airbench), the
    convention of most papers; PyTorch's own ``momentum`` argument is its complement.

    >>> bn = ShiftBatchNorm(4)
    >>> bn.weight.requires_grad, bn.bias.requires_grad, round(bn.momentum, 2)
    (False, True, 0.4)
    """

    def __init__(self, channels: int, momentum: float = 0.6, eps: float = 1e-12) -> None:
        super().__init__(channels, eps=eps, momentum=1 - momentum)
        self.weight.requires_grad_(False)


class Conv(nn.Conv2d):
    """A bias-free 3×3 convolution (``same`` padding) whose first filters start as the identity.

    Used in: no chapter.

    >>> c = Conv(2, 4)
    >>> x = torch.randn(1, 2, 5, 5)
    >>> torch.equal(c(x)[:, :2], x)
    True
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, kernel_size=3, padding="same", bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        w = self.weight.data
        nn.init.dirac_(w[: w.size(1)])


def conv_group(c_in: int, c_out: int, bn_momentum: float = 0.6) -> nn.Sequential:
    """conv → max-pool 2 → BatchNorm → GELU → conv → BatchNorm → GELU.

    Used in: no chapter.

    >>> conv_group(3, 8)(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 8, 4, 4])
    """
    return nn.Sequential(
        Conv(c_in, c_out), nn.MaxPool2d(2), ShiftBatchNorm(c_out, bn_momentum), nn.GELU(),
        Conv(c_out, c_out), ShiftBatchNorm(c_out, bn_momentum), nn.GELU(),
    )


class Scale(nn.Module):
    """Multiply by a constant (the logit scale).

    Used in: no chapter.

    >>> Scale(0.5)(torch.ones(2)).tolist()
    [0.5, 0.5]
    """

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def net(
    widths: Sequence[int] = WIDTHS,
    num_classes: int = 10,
    *,
    whiten_kernel: int = 2,
    bn_momentum: float = 0.6,
    logit_scale: float = 1 / 9,
) -> nn.Sequential:
    """The airbench94-style network; ``net()[0]`` is the whitening layer (see :func:`whiten_`).

    Used in: no chapter.

    >>> m = net(widths=(8, 16, 16))
    >>> m(torch.zeros(2, 3, 32, 32)).shape, m[0].weight.requires_grad
    (torch.Size([2, 10]), False)
    """
    w0 = 2 * 3 * whiten_kernel**2  # every whitened direction, with both signs (GELU keeps half of each)
    a, b, c = widths
    m = nn.Sequential(
        nn.Conv2d(3, w0, kernel_size=whiten_kernel, padding=0, bias=True),
        nn.GELU(),
        conv_group(w0, a, bn_momentum),
        conv_group(a, b, bn_momentum),
        conv_group(b, c, bn_momentum),
        nn.MaxPool2d(3),
        nn.Flatten(),
        nn.Linear(c, num_classes, bias=False),
        Scale(logit_scale),
    )
    m[0].weight.requires_grad_(False)
    nn.init.zeros_(m[0].bias)
    return m


@torch.no_grad()
def whiten_(conv: nn.Conv2d, images: torch.Tensor, eps: float = 5e-4) -> None:
    """Set a frozen first convolution to whiten the image patches it sees (ZCA by eigenvectors).

    Used in: no chapter.

    The patches of ``images`` (kernel-sized, stride 1) have a covariance ``Σ = V Λ Vᵀ``;
    the filters become ``±vᵢ / √(λᵢ + eps)``, so that the layer's outputs are uncorrelated
    with unit variance before the GELU.

    >>> conv = nn.Conv2d(3, 24, 2, bias=False)
    >>> whiten_(conv, torch.randn(16, 3, 8, 8))
    >>> out = conv(torch.randn(64, 3, 8, 8))[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    >>> bool((out.std(0) - 1).abs().max() < 0.2)
    True
    """
    c, (h, w) = images.shape[1], conv.weight.shape[2:]
    patches = images.float().unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c * h * w)
    cov = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)
    filters = (eigenvectors.T / torch.sqrt(eigenvalues + eps).view(-1, 1)).reshape(-1, c, h, w).flip(0)
    conv.weight.copy_(torch.cat([filters, -filters]).to(conv.weight.dtype))


# --------------------------------------------------------------------------- the data


def translate(x: torch.Tensor, pad: int = 2, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image of a batch by up to ``pad`` pixels each way (reflect padding), on its device.

    Used in: no chapter.

    >>> x = torch.arange(16.0).view(1, 1, 4, 4)
    >>> translate(x, pad=0).equal(x), translate(x, pad=1).shape
    (True, torch.Size([1, 1, 4, 4]))
    """
    if pad == 0:
        return x
    n, c, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (pad,) * 4, mode="reflect")
    shift = torch.randint(0, 2 * pad + 1, (2, n), device=dev, generator=generator)
    rows = (shift[0].view(n, 1) + torch.arange(h, device=dev)).view(n, 1, h, 1)
    cols = (shift[1].view(n, 1) + torch.arange(w, device=dev)).view(n, 1, 1, w)
    return padded[torch.arange(n, device=dev).view(n, 1, 1, 1), torch.arange(c, device=dev).view(1, c, 1, 1), rows, cols]


def flip(x: torch.Tensor, mask: torch.Tensor, epoch: int) -> torch.Tensor:
    """Alternating flip: image ``i`` is mirrored when ``mask[i]`` differs from ``epoch`` being odd.

    Used in: no chapter.

    Over two epochs every image is seen both ways, which random flips only promise on
    average (Jordan 2024).

    >>> x = torch.arange(4.0).view(2, 1, 1, 2)
    >>> m = torch.tensor([True, False])
    >>> flip(x, m, 0).flatten().tolist(), flip(x, m, 1).flatten().tolist()
    ([1.0, 0.0, 2.0, 3.0], [0.0, 1.0, 3.0, 2.0])
    """
    mirrored = mask ^ bool(epoch % 2)
    return torch.where(mirrored.view(-1, 1, 1, 1), x.flip(-1), x)


@torch.no_grad()
def tta_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Test-time augmentation: logits averaged over the mirror image and two one-pixel shifts.

    Used in: no chapter.

    Half the weight goes to the image and its mirror, half to the mirror pair of the image
    shifted one pixel up-left and one down-right.

    >>> m = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    >>> tta_logits(m, torch.zeros(3, 3, 4, 4)).shape
    torch.Size([3, 2])
    """
    h, w = x.shape[-2:]

    def mirror(v: torch.Tensor) -> torch.Tensor:
        return 0.5 * model(v).float() + 0.5 * model(v.flip(-1)).float()

    out = []
    for xb in x.split(batch_size):
        padded = F.pad(xb, (1,) * 4, mode="reflect")
        shifted = 0.5 * mirror(padded[..., :h, :w]) + 0.5 * mirror(padded[..., 2 : h + 2, 2 : w + 2])
        out.append(0.5 * mirror(xb) + 0.5 * shifted)
    return torch.cat(out)


def synthetic_cifar10(n_train: int = 64, n_test: int = 32, seed: int = 0, device: str | torch.device = "cpu") -> Data:
    """Random CIFAR-shaped data (3×32×32, 10 classes, standardized) to run the recipe's code path anywhere.

    Used in: chapter 15.

    Each class is a fixed random colour pattern plus noise, so a few steps can learn something;
    nothing measured on it says anything about CIFAR-10.

    >>> d = synthetic_cifar10(20, 10)
    >>> d.x_train.shape, d.num_classes, d.is_image
    (torch.Size([20, 3, 32, 32]), 10, True)
    """
    g = torch.Generator().manual_seed(seed)
    patterns = torch.randn(10, 3, 8, 8, generator=g).repeat_interleave(4, 2).repeat_interleave(4, 3)
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    x = patterns[y] + 1.5 * torch.randn(n_train + n_test, 3, 32, 32, generator=g)
    x = (x - x.mean()) / x.std()
    d = Data("synthetic_cifar10", x[:n_train], y[:n_train], x[n_train:], y[n_train:], 10)
    return d.to(device)


# --------------------------------------------------------------------------- the optimizer


def param_groups(
    model: nn.Module,
    lr: float = 11.5,
    weight_decay: float = 0.0153,
    momentum: float = 0.85,
    batch_size: int = 1024,
    bias_scaler: float = 64.0,
) -> list[dict]:
    """SGD param groups from decoupled hyperparameters (per 1024 examples, as airbench writes them).

    Used in: no chapter.

    With Nesterov momentum μ and constant gradients a step is ``1 + 1/(1 − μ)`` times the
    gradient, so the rate given to PyTorch is ``lr / (1024 · (1 + 1/(1 − μ)))`` (the loss is
    *summed* over the batch). Weight decay is applied as ``lr_group · wd_group · w``; giving
    each group ``wd_group = wd_sgd / lr_group`` makes the decay the same for every group and
    independent of its rate. The BatchNorm shifts (the only 1-D trainable parameters) get a
    rate ``bias_scaler`` times larger, and are decayed like the weights. Frozen parameters
    are left out.

    >>> groups = param_groups(net(widths=(8, 8, 8)))
    >>> [len(g["params"]) for g in groups], round(groups[0]["lr"] / groups[1]["lr"])
    ([6, 8], 64)
    >>> math.isclose(groups[0]["lr"] * groups[0]["weight_decay"], groups[1]["lr"] * groups[1]["weight_decay"])
    True
    """
    kilostep = 1024 * (1 + 1 / (1 - momentum))
    lr_sgd = lr / kilostep
    wd_sgd = weight_decay * batch_size / kilostep
    shifts = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() == 1 and not _is_whitening(n)]
    ids = {id(p) for p in shifts}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    lr_shift = lr_sgd * bias_scaler
    return [
        {"params": shifts, "lr": lr_shift, "weight_decay": wd_sgd / lr_shift},
        {"params": rest, "lr": lr_sgd, "weight_decay": wd_sgd / lr_sgd},
    ]


def _is_whitening(name: str) -> bool:
    return name.startswith("0.")


def triangle(total: int, start: float = 0.2, peak: float = 0.23, end: float = 0.07) -> Callable[[int], float]:
    """The learning-rate factor: linear from ``start`` to 1 at ``peak·total`` steps, then to ``end``.

    Used in: no chapter.

    >>> f = triangle(100)
    >>> round(f(0), 3), round(f(23), 3), round(f(100), 3)
    (0.2, 1.0, 0.07)
    """
    top = max(1, int(peak * total))

    def f(step: int) -> float:
        if step < top:
            return start + (1 - start) * step / top
        return 1 + (end - 1) * min(step - top, total - top) / max(1, total - top)

    return f


class Lookahead:
    """An exponential average of the weights that is copied back into the model (lookahead).

    Used in: no chapter.

    ``update(model, decay)`` moves the average towards the model's weights by ``1 − decay`` and
    writes it back, so that training continues from the averaged point.

    >>> m = nn.Linear(1, 1, bias=False)
    >>> la = Lookahead(m)
    >>> with torch.no_grad():
    ...     _ = m.weight.fill_(1.0)
    >>> _ = la.ema[0].zero_()
    >>> la.update(m, 0.75); round(m.weight.item(), 2)
    0.25
    """

    def __init__(self, model: nn.Module) -> None:
        self.live = [t for t in model.state_dict().values() if t.is_floating_point()]
        self.ema = [t.detach().clone() for t in self.live]

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float) -> None:
        torch._foreach_lerp_(self.ema, self.live, 1 - decay)
        torch._foreach_copy_(self.live, self.ema)


# --------------------------------------------------------------------------- training


@dataclass
class Result:
    """What :func:`train` measured: test accuracy without and with TTA, training seconds, losses.

    Used in: no chapter.

    >>> Result(0.9, 0.91, 3.0, 100).diverged
    False
    """

    accuracy: float
    tta_accuracy: float
    seconds: float
    steps: int
    epoch_loss: list[float] = field(default_factory=list)
    device: str = "cpu"
    precision: str = "float32"

    @property
    def diverged(self) -> bool:
        """True when an epoch's training loss was NaN or infinite (the accuracies are then scored as chance)."""
        return any(not math.isfinite(v) for v in self.epoch_loss)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def train(
    data: Data,
    *,
    epochs: float = 9.9,
    batch_size: int = 1024,
    lr: float = 11.5,
    momentum: float = 0.85,
    weight_decay: float = 0.0153,
    bias_scaler: float = 64.0,
    label_smoothing: float = 0.2,
    widths: Sequence[int] = WIDTHS,
    translate_pad: int = 2,
    whiten_bias_epochs: int = 3,
    lookahead: bool = True,
    tta: bool = True,
    seed: int = 0,
    schedule: Callable[[int], float] | None = None,
) -> Result:
    """Train :func:`net` on image ``data`` with the recipe above; return a :class:`Result`.

    Used in: chapter 15.

    ``schedule(step)`` is the factor on the rates (default :func:`triangle` over the run).
    The timer covers the whitening and the training loop (with one synchronization per
    epoch), not the evaluation. On CUDA the first run also pays for ``cudnn.benchmark``'s
    autotuning (airbench times a warm-up run first).

    Precision: on CUDA, float16 autocast with no ``GradScaler``, on every GPU. That is what
    the record does: airbench94 (and hlb-CIFAR10) cast the whole network to float16, weights
    included, with BatchNorm in float32, on an A100 as well, and scale no loss, because the
    loss is *summed* over the 1024 examples of a batch, which multiplies every gradient by
    1024 compared with a mean and keeps them clear of float16's underflow. Autocast keeps
    float32 master weights, so this is, if anything, safer than the record; a ``GradScaler``
    would read a flag back to the host every step. (The rest of the book follows
    :func:`lrcourse.runtime.precision`: bfloat16 from compute capability 8.0, float16 with a
    ``GradScaler`` below; bfloat16 was never part of the measured record.)

    >>> r = train(synthetic_cifar10(64, 32), epochs=2, batch_size=16, widths=(8, 8, 8))
    >>> r.steps, 0.0 <= r.tta_accuracy <= 1.0, r.diverged
    (8, True, False)
    """
    if not data.is_image:
        raise ValueError(f"the speedrun trains on images (N, C, H, W); {data.name} has shape {data.input_shape}.")
    dev = data.x_train.device
    # float16 on every CUDA GPU, as the record trains (see the docstring: the summed loss is its loss
    # scale, so the GradScaler that precision(..., "fp16") asks for is left out); float32 on a CPU
    dtype = precision(dev, amp="fp16" if dev.type == "cuda" else None).dtype
    tune_for(dev, images=True)
    gen = torch.Generator(device=dev).manual_seed(seed)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):  # the caller's RNG is left alone
        torch.manual_seed(seed)
        model = net(widths, data.num_classes).to(dev)
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)  # the layout fast convolutions want
    x_train, y_train = data.x_train, data.y_train
    n = len(x_train)
    per_epoch = max(1, n // batch_size)  # the last partial batch is dropped
    total = math.ceil(per_epoch * epochs)
    factor = schedule or triangle(total)
    groups = param_groups(model, lr, weight_decay, momentum, batch_size, bias_scaler)
    base = [g["lr"] for g in groups]
    opt = torch.optim.SGD(groups, momentum=momentum, nesterov=True)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing, reduction="sum")
    autocast = torch.autocast(dev.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
    flip_mask = torch.rand(n, device=dev, generator=gen) < 0.5
    epoch_loss: list[torch.Tensor] = []

    _sync(dev)
    started = time.perf_counter()
    whiten_(model[0], x_train[:5000])
    # airbench's lookahead: from the first step, every 5 steps, with a decay that grows like (step/total)³
    # (close to 0 early, when the average just follows the model), copied back once more at the very end
    averaged = Lookahead(model) if lookahead else None
    step = 0
    for epoch in range(math.ceil(epochs)):
        model[0].bias.requires_grad_(epoch < whiten_bias_epochs)
        model.train()
        running = torch.zeros((), device=dev)
        order = torch.randperm(n, device=dev, generator=gen)
        first = step
        for i in range(per_epoch):
            if step >= total:
                break
            idx = order[i * batch_size : (i + 1) * batch_size]
            xb = channels_last(translate(flip(x_train[idx], flip_mask[idx], epoch), translate_pad, gen))
            f = factor(step)
            for g, b in zip(opt.param_groups, base):
                g["lr"] = b * f
            with autocast:
                out = model(xb)
            loss = loss_fn(out.float(), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.detach()  # stays on the device: no synchronization per step
            step += 1
            if averaged is not None and step % 5 == 0:  # average weakly early, strongly at the end
                averaged.update(model, 0.95**5 * (step / total) ** 3)
        epoch_loss.append(running / (max(1, step - first) * batch_size))
    if averaged is not None:
        averaged.update(model, 1.0)  # the model ends at the average
    _sync(dev)
    seconds = time.perf_counter() - started

    losses = [v.item() for v in epoch_loss]
    model.eval()
    with torch.no_grad(), autocast:
        x_test = channels_last(data.x_test)
        plain = torch.cat([model(xb).float() for xb in x_test.split(2000)])
        logits = tta_logits(model, x_test) if tta else plain
    chance = 1 / data.num_classes
    if any(not math.isfinite(v) for v in losses):
        acc = tta_acc = chance
    else:
        acc = (plain.argmax(1) == data.y_test).float().mean().item()
        tta_acc = (logits.argmax(1) == data.y_test).float().mean().item()
    return Result(acc, tta_acc, seconds, step, losses, str(dev), str(dtype or torch.float32).replace("torch.", ""))
